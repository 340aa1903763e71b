"""Small helpers shared by the tests."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.lock import LockEntity
from homeassistant.config_entries import ConfigEntry, ConfigSubentryData
from homeassistant.core import HomeAssistant, State
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    MockEntityPlatform,
    async_fire_time_changed,
)

from custom_components.keyholder.const import DOMAIN
from custom_components.keyholder.model.values import (
    CredentialRef,
    KeyKind,
    LockCapabilities,
    SlotRange,
)
from custom_components.keyholder.storage.store import SiteData

from .conftest import PLUMBER, _keyholder


def P(index: int) -> CredentialRef:  # noqa: N802 - reads like the lock's own label
    """Return passcode ``index`` (what every lock family numbers so far)."""
    return CredentialRef(KeyKind.PASSCODE, index)


def pins(caps: LockCapabilities) -> SlotRange:
    """Return a lock's passcode slots."""
    return caps.slots[KeyKind.PASSCODE]


def by_slot[V](held: Mapping[CredentialRef, V]) -> dict[int, V]:
    """Return passcode index -> value of what a lock holds (all passcodes)."""
    assert all(ref.kind is KeyKind.PASSCODE for ref in held), held
    return {ref.index: value for ref, value in held.items()}


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


class FakeZwaveLock(LockEntity):
    """A lock entity of the zwave_js platform: its set_lock_usercode handler."""

    _attr_is_locked = True

    def __init__(
        self, unique_id: str, device: str, write: Callable[[int, str], None]
    ) -> None:
        """Hand every code written to ``write(slot, code)``."""
        self._attr_unique_id = unique_id
        self._attr_device_info = DeviceInfo(identifiers={("zwave_js", device)})
        self._write = write

    async def async_set_lock_usercode(self, code_slot: int, usercode: str) -> None:
        """Set a code, as zwave_js's lock entity does for the action."""
        self._write(code_slot, usercode)


async def async_add_zwave_lock(
    hass: HomeAssistant,
    entry: ConfigEntry,
    unique_id: str,
    device: str,
    write: Callable[[int, str], None],
) -> FakeZwaveLock:
    """Add the zwave_js lock entity of a device (``device``: its identifier)."""
    assert await async_setup_component(hass, "lock", {})
    entity = FakeZwaveLock(unique_id, device, write)
    platform = MockEntityPlatform(hass, domain="lock", platform_name="zwave_js")
    platform.config_entry = entry
    await platform.async_add_entities([entity])
    return entity


FRONT_DOOR_SYNC = "sensor.front_door_sync"


def front_door_sync(hass: HomeAssistant) -> State:
    """Return the state of the front door's sync sensor."""
    state = hass.states.get(FRONT_DOOR_SYNC)
    assert state is not None
    return state


async def async_setup_plumber_site(
    hass: HomeAssistant, entry_id: str, lock_id: str, lock: dict[str, Any]
) -> MockConfigEntry:
    """Set up a site "Home" with the plumber and one lock, "Front door".

    ``lock`` is the lock subentry's data besides its name (provider and its own
    fields).
    """
    entry = MockConfigEntry(
        domain=DOMAIN,
        entry_id=entry_id,
        title="Home",
        data={"name": "Home", "passcode_length": 6, "booking_grace_minutes": 30},
        subentries_data=[
            ConfigSubentryData(
                data={"name": "Front door", **lock},
                subentry_id=lock_id,
                subentry_type="lock",
                title="Front door",
                unique_id=None,
            ),
            _keyholder(PLUMBER, "Plumber"),
        ],
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


def settled(data: SiteData, lock_id: str) -> dict[CredentialRef, str]:
    """
    Return Keyholder's record of a lock's slots with its saved pending writes made.

    What a pass wrote is saved with the next write of the site; until then the
    writes stay on disk as pending, and a restart settles them against the lock:
    this is the record once the lock took them.
    """
    record = dict(data.written.get(lock_id, {}))
    for slot, code in data.pending.get(lock_id, {}).items():
        if code is None:
            record.pop(slot, None)
        else:
            record[slot] = code
    return record


async def set_up_at(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    entry: MockConfigEntry,
    when: datetime,
) -> MockConfigEntry:
    """Set up a site at ``when`` (the clock frozen there) and return it."""
    freezer.move_to(when)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry
