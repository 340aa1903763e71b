"""Races and surprises: slow locks, reloads mid-write, odd exceptions."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any
from unittest.mock import patch
from zoneinfo import ZoneInfo

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
)

from custom_components.keyholder.const import DOMAIN
from custom_components.keyholder.families.virtual import VirtualLock
from custom_components.keyholder.model.values import CredentialRef
from custom_components.keyholder.storage.store import KeyholderStore
from custom_components.keyholder.sync.slot_reports import take_back_interrupted

from .conftest import LOCK_FRONT
from .helpers import P, by_slot, issue, move_to, settled

BERLIN = ZoneInfo("Europe/Berlin")
START = datetime(2026, 12, 3, 9, 0, tzinfo=BERLIN)


async def start_site(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, entry: MockConfigEntry
) -> VirtualLock:
    freezer.move_to(START)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    lock = entry.runtime_data.locks[LOCK_FRONT].provider
    assert isinstance(lock, VirtualLock)
    return lock


async def test_edge_passing_during_a_slow_write_is_applied(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    berlin: None,
    site_entry: MockConfigEntry,
) -> None:
    lock = await start_site(hass, freezer, site_entry)
    edge = START + timedelta(hours=1)
    ending = await issue(hass, valid_until=(edge + timedelta(seconds=2)).isoformat())
    await issue(hass, valid_from=edge.isoformat())
    write = lock.async_set_credential

    async def slow_write(ref: CredentialRef, code: str, **kwargs: Any) -> None:
        freezer.tick(5)  # a radio taking 5 s
        await write(ref, code, **kwargs)

    lock.async_set_credential = slow_write  # type: ignore[method-assign]
    await move_to(hass, freezer, edge)
    # The second key's end passed while the first key's code was being written.
    assert ending["passcode"] not in lock.codes.values()


async def test_reload_waits_for_a_write_in_flight(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    berlin: None,
    site_entry: MockConfigEntry,
) -> None:
    lock = await start_site(hass, freezer, site_entry)
    gate, reached = asyncio.Event(), asyncio.Event()
    write = lock.async_set_credential

    async def held_write(ref: CredentialRef, code: str, **kwargs: Any) -> None:
        reached.set()
        await gate.wait()
        await write(ref, code, **kwargs)

    lock.async_set_credential = held_write  # type: ignore[method-assign]
    first = hass.async_create_task(issue(hass))
    await reached.wait()
    reload = hass.async_create_task(
        hass.config_entries.async_reload(site_entry.entry_id)
    )
    try:
        for _ in range(20):
            await asyncio.sleep(0)
        assert not reload.done()  # the unload waits for the write
    finally:
        gate.set()
    await first
    await reload
    second = await issue(hass)
    await hass.async_block_till_done()
    stored = await KeyholderStore(hass, site_entry.entry_id).async_load()
    assert {first.result()["key_id"], second["key_id"]} <= set(stored.site.keys)
    # The second code is on disk as a write that was to be made (it is recorded
    # as written with the next save), so a restart counts both slots as ours.
    assert len(stored.written[LOCK_FRONT]) == 1
    assert len(settled(stored, LOCK_FRONT)) == 2


@pytest.mark.parametrize("error", [TimeoutError, RuntimeError("Node 5: invalid")])
async def test_unexpected_error_is_a_lock_failure(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    berlin: None,
    site_entry: MockConfigEntry,
    error: Exception,
) -> None:
    lock = await start_site(hass, freezer, site_entry)
    runtime = site_entry.runtime_data
    await issue(hass, valid_until=(START + timedelta(hours=1)).isoformat())
    late = await issue(hass, valid_until=(START + timedelta(hours=2)).isoformat())
    read = lock.async_read_credentials

    async def broken() -> dict[CredentialRef, str | None]:
        raise error

    lock.async_read_credentials = broken  # type: ignore[method-assign]
    await move_to(hass, freezer, START + timedelta(hours=1))
    status = runtime.lock_status[LOCK_FRONT]
    assert status.last_error == "lock_error"
    assert runtime.timer.next_transition == START + timedelta(hours=2)
    lock.async_read_credentials = read  # type: ignore[method-assign]
    await move_to(hass, freezer, START + timedelta(hours=3))
    assert lock.codes == {}
    assert late["passcode"] not in lock.codes.values()
    assert status.failures == 0


async def test_add_keyholder_then_issue_key_in_one_script(
    hass: HomeAssistant, loaded_site: MockConfigEntry
) -> None:
    await hass.services.async_call(
        DOMAIN, "add_keyholder", {"given_name": "Carla"}, blocking=True
    )
    key = await hass.services.async_call(
        DOMAIN,
        "issue_key",
        {"keyholder": "Carla", "locks": ["Garage"]},
        blocking=True,
        return_response=True,
    )
    assert (
        key["passcode"]
        in loaded_site.runtime_data.locks["lock_garage"].provider.codes.values()
    )
    await hass.async_block_till_done()
    assert hass.states.get("sensor.carla_status").state == "active"
    # The update listener that follows changes nothing more.
    assert loaded_site.state.recoverable


async def test_last_manager_cannot_be_removed(
    hass: HomeAssistant, loaded_site: MockConfigEntry
) -> None:
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN, "remove_keyholder", {"keyholder": "Alice Owner"}, blocking=True
        )
    assert err.value.translation_key == "last_manager_removed"
    assert "kh_owner" in loaded_site.subentries


async def test_code_changed_at_the_lock_is_not_overwritten(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, site_entry: MockConfigEntry
) -> None:
    lock = await start_site(hass, freezer, site_entry)
    key = await issue(hass)
    (ref,) = lock.codes
    # Someone programs another code into Keyholder's slot at the keypad.
    lock.codes[ref] = "97531"
    await site_entry.runtime_data.async_apply_changes()

    assert lock.codes[ref] == "97531"
    assert set(lock.codes.values()) == {"97531", key["passcode"]}
    status = site_entry.runtime_data.lock_status[LOCK_FRONT]
    assert status.unmanaged == (ref,)
    assert ref not in site_entry.runtime_data.data.written[LOCK_FRONT]


@pytest.mark.parametrize(
    ("reported", "interrupted", "expected"),
    [
        # The new code landed, or the lock masks codes: the slot is ours.
        ({1: "2222"}, {1: "2222"}, {1: "2222"}),
        ({1: None}, {1: "2222"}, {1: "2222"}),
        # The write never started: still our old code, written again later.
        ({1: "1111"}, {1: "2222"}, {1: "1111"}),
        # A clear that landed, and one that did not (masked or not).
        ({}, {1: None}, {}),
        ({1: "1111"}, {1: None}, {1: "1111"}),
        ({1: None}, {1: None}, {1: "1111"}),
        # A third code is someone else's.
        ({1: "9999"}, {1: "2222"}, {}),
        ({1: "9999"}, {1: None}, {}),
    ],
)
def test_interrupted_writes_are_taken_back(
    reported: dict[int, str | None],
    interrupted: dict[int, str | None],
    expected: dict[int, str],
) -> None:
    written = {P(1): "1111", P(2): "3333"}
    take_back_interrupted(
        {P(slot): code for slot, code in reported.items()},
        written,
        {P(slot): code for slot, code in interrupted.items()},
    )
    assert by_slot(written) == {**expected, 2: "3333"}


async def test_pending_writes_are_saved_before_the_lock_changes(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, site_entry: MockConfigEntry
) -> None:
    lock = await start_site(hass, freezer, site_entry)
    on_disk: list[
        tuple[dict[str, dict[CredentialRef, str | None]], dict[CredentialRef, str]]
    ] = []
    write = lock.async_set_credential

    async def recording_write(
        ref: CredentialRef, code: str, *, valid: Any = None
    ) -> None:
        stored = await KeyholderStore(hass, site_entry.entry_id).async_load()
        on_disk.append((stored.pending, dict(stored.written.get(LOCK_FRONT, {}))))
        await write(ref, code, valid=valid)

    lock.async_set_credential = recording_write  # type: ignore[method-assign]
    key = await issue(hass)
    (slot,) = lock.codes
    # On disk, with the key itself, before the lock holds the code ...
    assert on_disk == [({LOCK_FRONT: {slot: key["passcode"]}}, {})]
    stored = await KeyholderStore(hass, site_entry.entry_id).async_load()
    assert key["key_id"] in stored.site.keys
    # ... and still there when the pass is over: one write per pass, so what
    # the lock now holds is recorded with the next save (here the unload's).
    assert stored.pending == {LOCK_FRONT: {slot: key["passcode"]}}
    assert settled(stored, LOCK_FRONT) == {slot: key["passcode"]}
    assert await hass.config_entries.async_unload(site_entry.entry_id)
    stored = await KeyholderStore(hass, site_entry.entry_id).async_load()
    assert stored.pending == {}
    assert stored.written[LOCK_FRONT] == {slot: key["passcode"]}


async def test_setup_does_not_wait_for_the_first_sync(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    berlin: None,
    site_entry: MockConfigEntry,
) -> None:
    await start_site(hass, freezer, site_entry)
    key = await issue(hass, valid_from=(START + timedelta(hours=1)).isoformat())
    assert await hass.config_entries.async_unload(site_entry.entry_id)
    # The key's window opens while Home Assistant is down.
    freezer.move_to(START + timedelta(hours=2))
    gate, reached = asyncio.Event(), asyncio.Event()
    write = VirtualLock.async_set_credential

    async def held_write(
        self: VirtualLock, ref: CredentialRef, code: str, **kwargs: Any
    ) -> None:
        reached.set()
        await gate.wait()
        await write(self, ref, code, **kwargs)

    with patch.object(VirtualLock, "async_set_credential", held_write):
        assert await hass.config_entries.async_setup(site_entry.entry_id)
        await reached.wait()
        # Set up, entities there, the first pass still writing.
        assert hass.states.get("sensor.front_door_sync").state == "pending"
        gate.set()
        await hass.async_block_till_done()
    assert hass.states.get("sensor.front_door_sync").state == "in_sync"
    new_lock = site_entry.runtime_data.locks[LOCK_FRONT].provider
    assert isinstance(new_lock, VirtualLock)
    assert set(new_lock.codes.values()) == {key["passcode"]}


async def test_unload_before_the_first_sync_starts_nothing(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    berlin: None,
    site_entry: MockConfigEntry,
) -> None:
    freezer.move_to(START)
    site_entry.add_to_hass(hass)
    with patch(
        "custom_components.keyholder.KeyholderRuntime.async_apply_changes"
    ) as apply:
        assert await hass.config_entries.async_setup(site_entry.entry_id)
        runtime = site_entry.runtime_data
        assert await hass.config_entries.async_unload(site_entry.entry_id)
        await runtime.async_start()
    apply.assert_called_once()  # by the setup's own first pass only
