"""Run one of Keyholder's actions directly, off the service bus."""

from __future__ import annotations

import inspect
from typing import Any

from homeassistant.core import Context, HomeAssistant, ServiceCall

from ..const import DOMAIN


async def async_run_action(
    hass: HomeAssistant, service: str, data: dict[str, Any], context: Context
) -> dict[str, Any] | None:
    """
    Run one of Keyholder's actions directly, not through the service bus.

    Home Assistant fires every action call it routes as a ``call_service``
    event carrying the call's data (kept by the recorder) and logs refused data
    at debug level, so the panel's passcodes must not take that road. The
    action's own schema, admin check and handler run as for any call.
    """
    action = hass.services.async_services_for_domain(DOMAIN)[service]
    processed = action.schema(data) if action.schema is not None else data
    call = ServiceCall(hass, DOMAIN, service, processed, context, return_response=True)
    result = action.job.target(call)
    if inspect.isawaitable(result):
        result = await result
    return dict(result) if isinstance(result, dict) else None
