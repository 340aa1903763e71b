"""Logbook lines for access attempts: "Plumber unlocked Front door with a passcode"."""

from __future__ import annotations

from collections.abc import Callable

from homeassistant.components.logbook.const import (
    LOGBOOK_ENTRY_MESSAGE,
    LOGBOOK_ENTRY_NAME,
)
from homeassistant.core import Event, HomeAssistant, callback

from .const import (
    ATTR_KEYHOLDER,
    ATTR_LOCK,
    ATTR_METHOD,
    ATTR_RESULT,
    DOMAIN,
    EVENT_ACCESS,
)

METHODS = {"passcode": "a passcode", "tag": "a tag", "app": "the app"}


@callback
def async_describe_events(
    hass: HomeAssistant,
    async_describe_event: Callable[[str, str, Callable[[Event], dict[str, str]]], None],
) -> None:
    """Describe Keyholder's access events."""

    @callback
    def describe(event: Event) -> dict[str, str]:
        data = event.data
        method = METHODS.get(data.get(ATTR_METHOD, ""), "a key")
        if data.get(ATTR_RESULT) == "unlocked":
            return {
                LOGBOOK_ENTRY_NAME: data.get(ATTR_KEYHOLDER) or "Someone",
                LOGBOOK_ENTRY_MESSAGE: f"unlocked {data[ATTR_LOCK]} with {method}",
            }
        if data.get(ATTR_RESULT) == "locked_out":
            message = f"refused {method}: locked out after too many wrong codes"
        else:
            message = f"refused {method} that does not open it now"
        return {LOGBOOK_ENTRY_NAME: data[ATTR_LOCK], LOGBOOK_ENTRY_MESSAGE: message}

    async_describe_event(DOMAIN, EVENT_ACCESS, describe)
