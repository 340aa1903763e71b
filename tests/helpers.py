"""Small helpers shared by the tests."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import async_fire_time_changed

from custom_components.keyholder.const import DOMAIN


async def issue(hass: HomeAssistant, **data: Any) -> dict[str, Any]:
    """Call keyholder.issue_key (for the plumber on the front door by default)."""
    result = await hass.services.async_call(
        DOMAIN,
        "issue_key",
        {"keyholder": "Plumber", "locks": ["Front door"], **data},
        blocking=True,
        return_response=True,
    )
    assert isinstance(result, dict)
    return result


async def move_to(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, when: datetime
) -> None:
    """Travel to ``when`` and let every timer due by then fire."""
    freezer.move_to(when)
    async_fire_time_changed(hass, when)
    await hass.async_block_till_done()
