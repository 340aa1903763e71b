"""
Persistence of a site: keys, blocks, slots, usage and what each lock holds.

One private file per site (``.storage/keyholder.<entry_id>``). Keyholder details
live in config subentries; everything that changes at run time lives here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, override

from homeassistant.core import HomeAssistant
from homeassistant.helpers.storage import Store

from .const import DOMAIN
from .engine.model import Site
from .engine.serialize import STORAGE_VERSION, migrate, site_from_dict, site_to_dict

STORE_MINOR_VERSION = 1


@dataclass(slots=True)
class SiteData:
    """
    Everything Keyholder remembers about a site between restarts.

    ``written`` is Keyholder's record of the codes it wrote (lock id -> slot ->
    code): the slots it manages and may clear. ``virtual`` holds the memory of
    the virtual locks (lock id -> slot -> code). ``targets`` remembers which
    physical lock each lock id drove, so a lock pointed elsewhere starts afresh.
    """

    site: Site = field(default_factory=Site)
    written: dict[str, dict[int, str]] = field(default_factory=dict)
    virtual: dict[str, dict[int, str]] = field(default_factory=dict)
    targets: dict[str, str] = field(default_factory=dict)


def _slots_out(data: dict[str, dict[int, str]]) -> dict[str, dict[str, str]]:
    return {
        lock: {str(slot): code for slot, code in slots.items()}
        for lock, slots in data.items()
    }


def _slots_in(data: dict[str, dict[str, str]]) -> dict[str, dict[int, str]]:
    return {
        lock: {int(slot): code for slot, code in slots.items()}
        for lock, slots in data.items()
    }


class _MigratingStore(Store[dict[str, Any]]):
    """A Store that upgrades older files through the engine's migration hook."""

    @override
    async def _async_migrate_func(
        self,
        old_major_version: int,
        old_minor_version: int,
        old_data: dict[str, Any],
    ) -> dict[str, Any]:
        """Upgrade the site part of an older file."""
        return {**old_data, "site": migrate(old_data["site"], old_major_version)}


class KeyholderStore:
    """Load and save one site's data."""

    def __init__(self, hass: HomeAssistant, entry_id: str) -> None:
        """Create the store of a config entry."""
        self._store = _MigratingStore(
            hass,
            STORAGE_VERSION,
            f"{DOMAIN}.{entry_id}",
            private=True,
            atomic_writes=True,
            minor_version=STORE_MINOR_VERSION,
        )

    async def async_load(self) -> SiteData:
        """Return the saved data (empty for a new site)."""
        raw = await self._store.async_load()
        if raw is None:
            return SiteData()
        return SiteData(
            site=site_from_dict(raw["site"]),
            written=_slots_in(raw.get("written", {})),
            virtual=_slots_in(raw.get("virtual", {})),
            targets=dict(raw.get("targets", {})),
        )

    async def async_save(self, data: SiteData) -> None:
        """Write the data to disk now."""
        await self._store.async_save(
            {
                "site": site_to_dict(data.site),
                "written": _slots_out(data.written),
                "virtual": _slots_out(data.virtual),
                "targets": data.targets,
            }
        )

    async def async_remove(self) -> None:
        """Delete the file (when the site is removed)."""
        await self._store.async_remove()
