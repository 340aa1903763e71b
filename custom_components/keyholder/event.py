"""Event entities: who opened (or failed to open) each lock."""

from __future__ import annotations

from homeassistant.components.event import EventEntity
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from . import KeyholderConfigEntry
from .const import ATTR_KEYHOLDER, ATTR_KEYHOLDER_ID
from .entity import KeyholderEntity, lock_device
from .runtime import AccessEvent, AccessResult, KeyholderRuntime

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: KeyholderConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add an access event entity per lock."""
    runtime = entry.runtime_data
    for lock_id in runtime.locks:
        async_add_entities(
            [LockAccessEvent(runtime, lock_id)], config_subentry_id=lock_id
        )


class LockAccessEvent(KeyholderEntity, EventEntity):
    """Fires ``unlocked`` (with the keyholder) or ``denied`` for a lock."""

    _attr_event_types = [result.value for result in AccessResult]

    def __init__(self, runtime: KeyholderRuntime, lock_id: str) -> None:
        """Create the event entity of one lock."""
        super().__init__(runtime, lock_id, "access")
        self._lock_id = lock_id
        self._attr_device_info = lock_device(runtime, lock_id)

    async def async_added_to_hass(self) -> None:
        """Listen for access attempts at this lock (not for sync changes)."""
        self.async_on_remove(self.runtime.async_add_access_listener(self._on_access))

    @callback
    def _on_access(self, event: AccessEvent) -> None:
        if event.lock_id != self._lock_id:
            return
        self._trigger_event(
            event.result.value,
            {
                ATTR_KEYHOLDER: self.runtime.keyholder_name(event.keyholder_id),
                ATTR_KEYHOLDER_ID: event.keyholder_id,
                "method": event.method,
            },
        )
        self.async_write_ha_state()
