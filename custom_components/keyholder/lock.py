"""The lock platform: the lock entities of the families that have one."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from . import KeyholderConfigEntry
from .lock_families import family_of

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: KeyholderConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add a lock entity per lock whose family has one (virtual locks, TTLocks)."""
    runtime = entry.runtime_data
    for lock_id, info in runtime.locks.items():
        family = family_of(entry.subentries[lock_id].data)
        if (entity := family.lock_entity(runtime, lock_id, info.provider)) is not None:
            async_add_entities([entity], config_subentry_id=lock_id)
