"""Sensors: each keyholder's status and each lock's sync state."""

from __future__ import annotations

from typing import Any

from homeassistant.components.sensor import SensorDeviceClass, SensorEntity
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.util import dt as dt_util

from . import KeyholderConfigEntry
from .engine.status import (
    Status,
    keyholder_next_change,
    keyholder_status,
    next_status_change,
)
from .entity import (
    KeyholderEntity,
    KeyholderPersonEntity,
    async_add_keyholder_entities,
    lock_device,
)
from .runtime import KeyholderRuntime, SyncState

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
        site = self.runtime.site
        holder = site.keyholders[self._keyholder_id]
        return keyholder_status(
            holder, site.keys_of(holder.id), dt_util.utcnow(), self.runtime.tz
        ).value

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        """Return the next change and the locks the keyholder can open."""
        site = self.runtime.site
        holder = site.keyholders[self._keyholder_id]
        keys = site.keys_of(holder.id)
        now, tz = dt_util.utcnow(), self.runtime.tz
        changes = [keyholder_next_change(holder, now, tz)] + [
            next_status_change(key, holder, now, tz) for key in keys
        ]
        nxt = min((c for c in changes if c is not None), default=None)
        locks = sorted(
            {
                self.runtime.locks[lock_id].name
                for key in keys
                if not key.cancelled
                for lock_id in key.lock_ids
                if lock_id in self.runtime.locks
            }
        )
        not_on = {
            (item["lock"], item["reason"])
            for key in keys
            if not key.cancelled
            for item in self.runtime.not_on_locks(key.id)
        }
        return {
            "next_change": nxt.isoformat() if nxt else None,
            "locks": locks,
            "keys": len([key for key in keys if not key.cancelled]),
            "not_on_locks": [
                {"lock": lock, "reason": reason} for lock, reason in sorted(not_on)
            ],
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
        status = self.runtime.lock_status[self._lock_id]
        return {
            "codes_wanted": status.desired,
            "codes_confirmed": status.confirmed,
            "failures": status.failures,
            "last_error": status.last_error,
            "next_retry": status.next_retry.isoformat() if status.next_retry else None,
            "unmanaged_slots": list(status.unmanaged_slots),
            "keys_not_fitting": status.not_fitting,
            "not_fitting": self.runtime.placement.reasons(self._lock_id),
        }
