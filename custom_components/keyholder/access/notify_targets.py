"""Notify entities a guest's code may go to: never one that would spread it."""

from __future__ import annotations

from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er

# Notify platforms that would spread a code: a group sends it on through the
# notify.send_message action (recorded with its data), a persistent notification
# shows it to every user.
UNSAFE_NOTIFY_PLATFORMS = frozenset({"group", "persistent_notification"})


def unsafe_notify(hass: HomeAssistant, entity_id: str) -> bool:
    """Return True when codes must not go to the notify entity ``entity_id``."""
    entry = er.async_get(hass).async_get(entity_id)
    return entry is not None and entry.platform in UNSAFE_NOTIFY_PLATFORMS


def notify_entity(hass: HomeAssistant, entity_id: str) -> Any:
    """Return the notify entity object of ``entity_id`` (None if not loaded)."""
    from homeassistant.components.notify.const import (  # noqa: PLC0415
        DATA_COMPONENT,
    )

    component = hass.data.get(DATA_COMPONENT)
    entity = component.get_entity(entity_id) if component else None
    if (
        entity is not None
        and entity.platform is not None
        and entity.platform.platform_name in UNSAFE_NOTIFY_PLATFORMS
    ):
        return None
    return entity
