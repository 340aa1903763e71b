"""
A large site's changes file: what is written, what is read back, what survives.

The ``files`` fixture keeps Keyholder's stores in real files. ``large`` makes
every site "large" (``WHOLE_BELOW`` 0), so that after the first whole write every
change goes to ``keyholder.site_home.changes``; ``small_limit`` also makes the
changes outgrow their share after a few keys.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
import json
from pathlib import Path
from typing import Any
from unittest.mock import patch
from zoneinfo import ZoneInfo

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import issue_registry as ir
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.keyholder.const import DOMAIN
from custom_components.keyholder.model.serialize import (
    credentials_from_dict,
    credentials_to_dict,
)
from custom_components.keyholder.model.values import CredentialRef, KeyKind
from custom_components.keyholder.storage import (
    changes as store_changes,
    writer as store_writer,
)
from custom_components.keyholder.storage.changes import (
    CHANGES_MIN,
    SiteRecords,
    apply_changes,
    changes_limit,
)
from custom_components.keyholder.storage.files import KeyholderFile
from custom_components.keyholder.storage.store import (
    BACKUP_DELAY,
    KeyholderStore,
    SiteData,
)

from .conftest import LOCK_FRONT
from .helpers import issue, move_to, settled

MAIN = f"{DOMAIN}.site_home"
CHANGES = f"{MAIN}.changes"
BACKUP = f"{MAIN}.backup"
START = datetime(2026, 12, 3, 9, 0, tzinfo=ZoneInfo("Europe/Berlin"))


@pytest.fixture
def large() -> Iterator[None]:
    """Treat every site as large: changes go to the changes file."""
    with patch.object(store_writer, "WHOLE_BELOW", 0):
        yield


@pytest.fixture
def small_limit() -> Iterator[None]:
    """Let the changes outgrow their share after about two keys."""
    with (
        patch.object(store_changes, "CHANGES_MIN", 1500),
        patch.object(store_changes, "CHANGE_SIZE", 1),
    ):
        yield


@pytest.fixture
def writes() -> Iterator[list[str]]:
    """The keys of the files written, in order."""
    written: list[str] = []
    real = KeyholderFile._write_prepared_data

    def counting(store: KeyholderFile, mode: str, data: str | bytes) -> None:
        real(store, mode, data)
        written.append(store.key)

    with patch.object(KeyholderFile, "_write_prepared_data", counting):
        yield written


def document(storage: Path, key: str) -> dict[str, Any]:
    """Return the data part of a store file."""
    data: dict[str, Any] = json.loads((storage / key).read_text())["data"]
    return data


async def start(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()


async def stored(hass: HomeAssistant) -> SiteData:
    """Return what a restart would load (main file and changes)."""
    return await KeyholderStore(hass, "site_home").async_load()


def test_changes_apply_to_list_and_dict_sections() -> None:
    payload: dict[str, Any] = {
        "site": {"keys": [{"id": "a", "n": 1}, {"id": "b", "n": 2}], "slots": {}},
        "written": {"lock": {"1": "1111"}},
    }
    apply_changes(
        payload,
        [
            ["set", ["site", "keys"], "b", {"id": "b", "n": 3}],
            ["set", ["site", "keys"], "c", {"id": "c", "n": 4}],
            ["del", ["site", "keys"], "a"],
            ["set", ["site", "slots"], "lock", {"c": 1}],
            ["del", ["written"], "lock"],
            ["set", ["pending"], "lock", {"2": None}],
            ["del", ["site", "keys"], "gone"],
        ],
    )
    assert payload == {
        "site": {
            "keys": [{"id": "b", "n": 3}, {"id": "c", "n": 4}],
            "slots": {"lock": {"c": 1}},
        },
        "written": {},
        "pending": {"lock": {"2": None}},
    }
    with pytest.raises(ValueError):
        apply_changes(payload, [["move", ["written"], "lock"]])


def test_changes_grow_with_the_square_root_of_the_site() -> None:
    assert changes_limit(0) == CHANGES_MIN
    assert changes_limit(800_000) < 100_000
    assert changes_limit(8_000_000) < 3.2 * changes_limit(800_000)


@pytest.mark.usefixtures("large")
async def test_changes_are_written_instead_of_the_main_file(
    hass: HomeAssistant, site_entry: MockConfigEntry, files: Path, writes: list[str]
) -> None:
    await start(hass, site_entry)
    first = await issue(hass)
    assert MAIN in writes
    writes.clear()

    second = await issue(hass)
    # One write for the pass: the key and the lock's write about to be made.
    assert writes == [CHANGES]
    changes = document(files, CHANGES)
    assert changes["base"] == document(files, MAIN)["changes_id"]
    assert second["key_id"] not in json.dumps(document(files, MAIN))

    data = await stored(hass)
    assert set(data.site.keys) == {first["key_id"], second["key_id"]}
    held = site_entry.runtime_data.data.virtual[LOCK_FRONT]
    assert settled(data, LOCK_FRONT) == held

    # A restart reads the main file and its changes: everything is there.
    assert await hass.config_entries.async_reload(site_entry.entry_id)
    await hass.async_block_till_done()
    runtime = site_entry.runtime_data
    assert set(runtime.site.keys) == {first["key_id"], second["key_id"]}
    assert runtime.data.written[LOCK_FRONT] == held
    assert hass.states.get("sensor.front_door_sync").state == "in_sync"  # type: ignore[union-attr]


@pytest.mark.usefixtures("large", "small_limit")
async def test_changes_outgrowing_their_share_rewrite_the_main_file(
    hass: HomeAssistant, site_entry: MockConfigEntry, files: Path, writes: list[str]
) -> None:
    await start(hass, site_entry)
    keys = [await issue(hass) for _ in range(6)]
    assert writes.count(MAIN) >= 2
    assert writes.count(CHANGES) >= 2
    # Whatever was written last, the files hold every key.
    assert set((await stored(hass)).site.keys) == {key["key_id"] for key in keys}
    # The changes never grew far past their share (one pass's changes).
    assert len(json.dumps(document(files, CHANGES)["changes"])) <= 1500 + 2000


@pytest.mark.usefixtures("large")
async def test_failed_changes_fail_the_action_and_change_nothing(
    hass: HomeAssistant, site_entry: MockConfigEntry, files: Path
) -> None:
    await start(hass, site_entry)
    first = await issue(hass)
    runtime = site_entry.runtime_data
    held_before = dict(runtime.data.virtual[LOCK_FRONT])

    def disk_full(store: KeyholderFile, mode: str, data: str | bytes) -> None:
        raise OSError(28, "No space left on device")

    with (
        patch.object(KeyholderFile, "_write_prepared_data", disk_full),
        pytest.raises(HomeAssistantError) as raised,
    ):
        await issue(hass, passcode="483920")
    assert raised.value.translation_key == "save_failed"
    await hass.async_block_till_done()
    assert set(runtime.site.keys) == {first["key_id"]}
    assert runtime.data.virtual[LOCK_FRONT] == held_before
    assert set((await stored(hass)).site.keys) == {first["key_id"]}

    second = await issue(hass, passcode="483920")
    assert set((await stored(hass)).site.keys) == {first["key_id"], second["key_id"]}


@pytest.mark.usefixtures("large")
async def test_damaged_changes_restore_the_copy(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    berlin: None,
    site_entry: MockConfigEntry,
    files: Path,
    issue_registry: ir.IssueRegistry,
) -> None:
    freezer.move_to(START)
    await start(hass, site_entry)
    first = await issue(hass)
    await move_to(hass, freezer, START + timedelta(seconds=BACKUP_DELAY + 1))
    copy = (files / BACKUP).read_bytes()
    assert first["key_id"] in copy.decode()
    freezer.move_to(START + timedelta(minutes=1))
    late = await issue(hass)
    assert await hass.config_entries.async_unload(site_entry.entry_id)
    # The copy had not caught up when the power failed mid-write of the changes.
    (files / BACKUP).write_bytes(copy)
    text = (files / CHANGES).read_text()
    (files / CHANGES).write_text(text[: len(text) // 2])

    await start_again(hass, site_entry)
    assert site_entry.state is ConfigEntryState.LOADED
    assert set(site_entry.runtime_data.site.keys) == {first["key_id"]}
    assert late["key_id"] not in (files / MAIN).read_text()
    repair = issue_registry.async_get_issue(DOMAIN, "store_site_home")
    assert repair is not None
    assert repair.translation_key == "store_restored"
    kept = repair.translation_placeholders["kept"]  # type: ignore[index]
    assert f"{MAIN}.corrupt." in kept
    assert f"{CHANGES}.corrupt." in kept


async def start_again(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()


async def test_changes_of_an_older_main_file_are_applied_before_it_is_upgraded(
    hass: HomeAssistant, site_entry: MockConfigEntry, files: Path
) -> None:
    await start(hass, site_entry)
    first = await issue(hass)
    assert await hass.config_entries.async_unload(site_entry.entry_id)
    main = json.loads((files / MAIN).read_text())
    key = main["data"]["site"]["keys"][0]
    # An older minor version, whose changes rename the key.
    main["minor_version"] = 0
    main["data"]["changes_id"] = "older"
    (files / MAIN).write_text(json.dumps(main))
    (files / CHANGES).write_text(
        json.dumps(
            {
                "version": 1,
                "minor_version": 1,
                "key": CHANGES,
                "data": {
                    "base": "older",
                    "changes": [
                        ["set", ["site", "keys"], key["id"], {**key, "name": "Renamed"}]
                    ],
                },
            }
        )
    )

    await start_again(hass, site_entry)
    assert site_entry.runtime_data.site.keys[first["key_id"]].name == "Renamed"
    # Upgraded and written back with its changes in it, no longer naming them.
    upgraded = json.loads((files / MAIN).read_text())
    assert upgraded["minor_version"] == 1
    assert upgraded["data"].get("changes_id") != "older"
    assert (await stored(hass)).site.keys[first["key_id"]].name == "Renamed"


async def test_pending_writes_of_an_earlier_version_are_taken_over(
    hass: HomeAssistant, site_entry: MockConfigEntry, files: Path
) -> None:
    await start(hass, site_entry)
    key = await issue(hass)
    runtime = site_entry.runtime_data
    (slot,) = runtime.data.written[LOCK_FRONT]
    assert await hass.config_entries.async_unload(site_entry.entry_id)
    # Killed mid-write by an earlier version: its own list of pending writes,
    # and a main file without the record of the slot.
    main = json.loads((files / MAIN).read_text())
    main["data"]["written"] = {}
    main["data"].pop("pending", None)
    (files / MAIN).write_text(json.dumps(main))
    (files / f"{MAIN}.pending").write_text(
        json.dumps(
            {
                "version": 1,
                "minor_version": 1,
                "key": f"{MAIN}.pending",
                "data": {"pending": {LOCK_FRONT: {str(slot.index): key["passcode"]}}},
            }
        )
    )

    await start_again(hass, site_entry)
    runtime = site_entry.runtime_data
    # The slot is still Keyholder's: the code is neither cleared nor rewritten.
    assert runtime.data.written[LOCK_FRONT] == {slot: key["passcode"]}
    assert runtime.lock_status[LOCK_FRONT].unmanaged == ()
    assert not (files / f"{MAIN}.pending").exists()


def test_a_locks_credentials_are_written_by_kind_and_index() -> None:
    """Changes address one credential of a lock as the main file nests it."""
    front = {
        CredentialRef(KeyKind.PASSCODE, 3): "482615",
        CredentialRef(KeyKind.TAG, 1): "04A2B3C4",
    }
    data = SiteData(written={"front": front}, pending={"front": dict(front)})
    records = SiteRecords()
    changes, accepted = records.diff(data)
    records.accept(accepted, known=True)
    payload = records.payload()
    assert payload["written"] == credentials_to_dict(data.written)
    assert payload["written"] == {
        "front": {"passcode": {"3": "482615"}, "tag": {"1": "04A2B3C4"}}
    }
    assert ["set", ["written", "front", "tag"], "1", "04A2B3C4"] in changes

    # One credential cleared, one written: two changes, and the file they
    # make reads back as the site holds it.
    del front[CredentialRef(KeyKind.TAG, 1)]
    front[CredentialRef(KeyKind.PASSCODE, 4)] = "739201"
    data.pending = {}
    changes, accepted = records.diff(data)
    assert sorted(changes, key=str) == sorted(
        [
            ["del", ["written", "front", "tag"], "1"],
            ["set", ["written", "front", "passcode"], "4", "739201"],
            ["del", ["pending"], "front"],
        ],
        key=str,
    )
    apply_changes(payload, changes)
    records.accept(accepted)
    assert credentials_from_dict(payload["written"]) == {"front": front}
    assert credentials_from_dict(records.payload()["written"]) == {"front": front}
    assert payload["pending"] == {}
