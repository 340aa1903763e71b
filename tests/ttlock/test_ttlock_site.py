"""Keyholder managing a TTLock over Bluetooth end to end (simulated lock)."""

from __future__ import annotations

from datetime import timedelta
import json
import logging

from homeassistant.const import MATCH_ALL
from homeassistant.core import Event, HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
)
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from ttlock_ble import KeyboardPwdType

from custom_components.keyholder.const import DOMAIN, EVENT_ACCESS

from ..conftest import PLUMBER
from ..helpers import async_setup_plumber_site, front_door_sync, issue
from ..ttlock_sim import ADDRESS, FakeBluetooth, SimTTLock, ekey_dict, install

LOCK_ID = "lock_ttlock"


@pytest.fixture
def sim_lock() -> SimTTLock:
    """A TTLock in range, holding a code added with the TTLock app."""
    lock = SimTTLock()
    lock.seed("1357913")
    return lock


@pytest.fixture
def air(
    hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch, sim_lock: SimTTLock
) -> FakeBluetooth:
    """Bluetooth reaching the simulated lock."""
    hass.config.components.add("bluetooth")
    return install(monkeypatch, sim_lock)


async def _site(hass: HomeAssistant) -> MockConfigEntry:
    await hass.config.async_set_time_zone("Europe/Berlin")
    return await async_setup_plumber_site(
        hass,
        "site_ttlock",
        LOCK_ID,
        {
            "provider": "ttlock",
            "address": ADDRESS,
            "ekey": ekey_dict(),
            "slots": 10,
        },
    )


def _local_minute(instant: dt_util.dt.datetime) -> dt_util.dt.datetime:
    return dt_util.as_local(instant).replace(tzinfo=None, second=0, microsecond=0)


async def test_keys_become_period_passcodes_and_use_is_attributed(
    hass: HomeAssistant, air: FakeBluetooth, sim_lock: SimTTLock
) -> None:
    entry = await _site(hass)
    assert front_door_sync(hass).state == "in_sync"
    assert front_door_sync(hass).attributes["unmanaged_slots"] == [1]

    until = (dt_util.utcnow() + timedelta(hours=3)).replace(microsecond=0)
    key = await issue(hass, valid_until=until.isoformat())
    code = key["passcode"]
    held = sim_lock.passcodes[code]
    # The lock itself ends the code when the key ends.
    assert held.pwd_type == KeyboardPwdType.PERIOD
    assert held.end == _local_minute(until)
    assert held.start is not None
    assert held.start <= sim_lock.now()
    assert front_door_sync(hass).state == "in_sync"
    assert "1357913" in sim_lock.passcodes

    accesses = async_capture_events(hass, EVENT_ACCESS)
    assert sim_lock.press_keypad(code)
    air.advertise()
    await hass.async_block_till_done(wait_background_tasks=True)
    assert [(e.data["keyholder"], e.data["result"]) for e in accesses] == [
        ("Plumber", "unlocked")
    ]
    assert entry.runtime_data.site.keys[key["key_id"]].uses == 1

    await hass.services.async_call(
        DOMAIN, "cancel_key", {"key_id": key["key_id"]}, blocking=True
    )
    assert set(sim_lock.passcodes) == {"1357913"}
    assert front_door_sync(hass).state == "in_sync"


async def test_changed_window_is_rewritten_and_a_restart_writes_nothing(
    hass: HomeAssistant, air: FakeBluetooth, sim_lock: SimTTLock
) -> None:
    entry = await _site(hass)
    key = await issue(hass)
    code = key["passcode"]
    assert sim_lock.passcodes[code].pwd_type == KeyboardPwdType.PERMANENT

    # The keyholder now expires: the lock gets the code's new end.
    expires = dt_util.now().date() + timedelta(days=2)
    subentry = entry.subentries[PLUMBER]
    hass.config_entries.async_update_subentry(
        entry, subentry, data={**subentry.data, "expires_on": expires.isoformat()}
    )
    await hass.async_block_till_done()
    held = sim_lock.passcodes[code]
    assert held.pwd_type == KeyboardPwdType.PERIOD
    assert held.end == _local_minute(
        dt_util.start_of_local_day(expires + timedelta(days=1))
    )
    assert front_door_sync(hass).state == "in_sync"

    # After a restart the window is read back from the lock: nothing is rewritten.
    sent = list(sim_lock.admin_commands)
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert sim_lock.admin_commands == sent
    assert front_door_sync(hass).state == "in_sync"


async def test_lock_out_of_range_gets_its_code_when_heard_again(
    hass: HomeAssistant, air: FakeBluetooth, sim_lock: SimTTLock
) -> None:
    await _site(hass)
    air.set_online(online=False)
    key = await issue(hass)
    sync = front_door_sync(hass)
    assert sync.state == "failed"
    assert sync.attributes["last_error"] == "lock_offline"
    air.set_online(online=True)
    await hass.async_block_till_done()
    assert key["passcode"] in sim_lock.passcodes
    assert front_door_sync(hass).state == "in_sync"


async def test_full_lock_is_a_translated_failure(
    hass: HomeAssistant, air: FakeBluetooth, sim_lock: SimTTLock
) -> None:
    sim_lock.capacity = 1
    await _site(hass)
    key = await issue(hass)
    sync = front_door_sync(hass)
    assert sync.state == "failed"
    assert sync.attributes["last_error"] == "lock_full"
    assert key["passcode"] not in sim_lock.passcodes


async def test_lock_entity_drives_the_bolt(
    hass: HomeAssistant, air: FakeBluetooth, sim_lock: SimTTLock
) -> None:
    await _site(hass)
    entity_id = "lock.front_door"
    state = hass.states.get(entity_id)
    assert state is not None
    assert state.state == "unknown"
    # The lock advertises where its bolt is.
    air.advertise()
    await hass.async_block_till_done()
    assert hass.states.get(entity_id).state == "locked"

    await hass.services.async_call(
        "lock", "unlock", {"entity_id": entity_id}, blocking=True
    )
    assert not sim_lock.locked
    assert hass.states.get(entity_id).state == "unlocked"
    await hass.services.async_call(
        "lock", "lock", {"entity_id": entity_id}, blocking=True
    )
    assert sim_lock.locked
    assert hass.states.get(entity_id).state == "locked"

    # Opened with the mechanical key: the next advertisement says so.
    sim_lock.unlock_by_hand()
    air.advertise()
    await hass.async_block_till_done()
    assert hass.states.get(entity_id).state == "unlocked"

    # A lock heard but not answering: a translated error.
    sim_lock.answers = False
    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call(
            "lock", "lock", {"entity_id": entity_id}, blocking=True
        )
    assert err.value.translation_key == "lock_not_answering"
    assert str(err.value) == "The lock did not answer in time"

    # Out of range: unavailable; heard again: back.
    air.set_online(online=False)
    await hass.async_block_till_done()
    assert hass.states.get(entity_id).state == "unavailable"
    air.set_online(online=True)
    await hass.async_block_till_done()
    assert hass.states.get(entity_id).state == "unlocked"


async def test_no_pin_leaks_at_debug_level(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    air: FakeBluetooth,
    sim_lock: SimTTLock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Logs (library included), states, events and diagnostics hold no PIN."""
    caplog.set_level(logging.DEBUG)
    events: list[Event] = []
    hass.bus.async_listen(MATCH_ALL, events.append)
    entry = await _site(hass)
    until = dt_util.utcnow() + timedelta(hours=3)
    key = await issue(hass, valid_until=until.isoformat())
    code = key["passcode"]
    assert sim_lock.press_keypad(code)
    air.advertise()
    await hass.async_block_till_done(wait_background_tasks=True)
    sim_lock.capacity = 1
    await issue(hass)  # refused by the full lock
    await hass.services.async_call(
        DOMAIN, "cancel_key", {"key_id": key["key_id"]}, blocking=True
    )
    await hass.async_block_till_done(wait_background_tasks=True)
    assert entry.runtime_data.site.keys[key["key_id"]].uses == 1

    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    # The test harness logs what goes to Keyholder's private store, which holds
    # the codes on purpose (to write them to locks again): that is not a log.
    logs = [
        record.getMessage()
        for record in caplog.records
        if record.name != "pytest_homeassistant_custom_component.common"
    ]
    haystack = "\n".join(
        [
            *logs,
            *(json.dumps(e.as_dict(), default=str) for e in events),
            *(json.dumps(s.as_dict(), default=str) for s in hass.states.async_all()),
            json.dumps(diagnostics, default=str),
        ]
    )
    assert any(record.name.startswith("ttlock_ble") for record in caplog.records)
    for pin in {code, *sim_lock.passcodes}:
        assert pin not in haystack
        assert pin.encode().hex() not in haystack
    # The eKey's secrets are not in diagnostics either.
    assert ekey_dict()["aesKeyStr"] not in json.dumps(diagnostics)
