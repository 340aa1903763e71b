"""
Event entities: who opened (or failed to open) each lock.

Besides the last attempt, each keeps the last unlock (``last_unlocked``: the
time it fired, ``last_unlocked_by``: the keyholder) so a later refused try does
not hide who opened the door; it is restored after a restart.
"""

from __future__ import annotations

from typing import Any

from homeassistant.components.event import EventEntity
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from . import KeyholderConfigEntry
from .const import (
    ATTR_KEYHOLDER,
    ATTR_KEYHOLDER_ID,
    ATTR_LAST_UNLOCKED,
    ATTR_LAST_UNLOCKED_BY,
)
from .entity import KeyholderEntity, lock_device
from .sync.runtime import KeyholderRuntime
from .sync.state import AccessEvent, AccessResult

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
        self._last_unlock: dict[str, Any] = {
            ATTR_LAST_UNLOCKED: None,
            ATTR_LAST_UNLOCKED_BY: None,
        }

    async def async_added_to_hass(self) -> None:
        """Restore the last unlock; listen for access attempts at this lock."""
        if (last := await self.async_get_last_state()) is not None:
            for attribute in self._last_unlock:
                self._last_unlock[attribute] = last.attributes.get(attribute)
        self.async_on_remove(self.runtime.listeners.add_access(self._on_access))

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        """Return when the lock was last unlocked, and by whom."""
        return dict(self._last_unlock)

    @callback
    def _on_access(self, event: AccessEvent) -> None:
        if event.lock_id != self._lock_id:
            return
        name = self.runtime.queries.keyholder_name(event.keyholder_id)
        self._trigger_event(
            event.result.value,
            {
                ATTR_KEYHOLDER: name,
                ATTR_KEYHOLDER_ID: event.keyholder_id,
                "method": event.method,
            },
        )
        if event.result is AccessResult.UNLOCKED:
            # The time the entity shows for this event, to the millisecond.
            self._last_unlock = {
                ATTR_LAST_UNLOCKED: self.state,
                ATTR_LAST_UNLOCKED_BY: name,
            }
        self.async_write_ha_state()
