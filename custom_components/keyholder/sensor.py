"""Sensors: each keyholder's status and each lock's sync state."""

from __future__ import annotations

from typing import Any

from homeassistant.components.sensor import SensorDeviceClass, SensorEntity
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from . import KeyholderConfigEntry
from .access.describe import (
    describe_keyholder,
    describe_lock,
    iso,
    keyholder_status_now,
    sync_attributes,
)
from .entity import (
    KeyholderEntity,
    KeyholderPersonEntity,
    async_add_keyholder_entities,
    lock_device,
)
from .model.status import Status
from .sync.runtime import KeyholderRuntime
from .sync.state import SyncState

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: KeyholderConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add a status sensor per keyholder and a sync sensor per lock."""
    async_add_keyholder_entities(entry, async_add_entities, KeyholderStatusSensor)
    runtime = entry.runtime_data
    for lock_id in runtime.locks:
        async_add_entities(
            [LockSyncSensor(runtime, lock_id)], config_subentry_id=lock_id
        )


class KeyholderStatusSensor(KeyholderPersonEntity, SensorEntity):
    """Upcoming, active, outside schedule, expired, no key... (never a code)."""

    _attr_device_class = SensorDeviceClass.ENUM
    _attr_options = [status.value for status in Status]

    def __init__(self, runtime: KeyholderRuntime, keyholder_id: str) -> None:
        """Create the sensor of one keyholder."""
        super().__init__(runtime, keyholder_id, "status")

    @property
    def native_value(self) -> str:
        """Return the keyholder's status now."""
        return keyholder_status_now(self.runtime, self._keyholder_id).value

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        """Return the next change and the locks the keyholder can open."""
        holder = describe_keyholder(self.runtime, self._keyholder_id)
        return {
            "next_change": iso(holder.next_change),
            "locks": holder.locks,
            "keys": len(holder.live_keys),
            "not_on_locks": holder.not_on_locks,
        }


class LockSyncSensor(KeyholderEntity, SensorEntity):
    """Whether a lock holds exactly the codes it should."""

    _attr_device_class = SensorDeviceClass.ENUM
    _attr_options = [state.value for state in SyncState]

    def __init__(self, runtime: KeyholderRuntime, lock_id: str) -> None:
        """Create the sensor of one lock."""
        super().__init__(runtime, lock_id, "sync")
        self._lock_id = lock_id
        self._attr_device_info = lock_device(runtime, lock_id)

    @property
    def native_value(self) -> str:
        """Return in sync, pending, failed or incomplete (keys do not fit)."""
        return self.runtime.lock_status[self._lock_id].state.value

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        """Return counts, the last error and the next retry."""
        lock = describe_lock(self.runtime, self._lock_id)
        return {
            **sync_attributes(lock),
            "not_fitting": lock.not_fitting_reasons,
        }
