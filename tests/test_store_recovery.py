"""
A damaged or missing store file: the site starts, a repair explains, nothing is cleared.

How the files are made: every other test uses pytest-homeassistant's
``hass_storage``, which replaces ``Store._async_load`` and never opens a file, so
Home Assistant's handling of unparsable JSON (rename to ``.corrupt.<time>``,
its own repair issue, ``None``) would never run. The ``files`` fixture (conftest.py)
routes Keyholder's stores (keys ``keyholder.*``) back to Home Assistant's real
load, write and remove code, in a temporary config directory; every other store
stays mocked. The damaged bytes are written to the real files, so the tests go
through the same code a real Home Assistant runs at start.

The ``door`` fixture keeps each virtual lock's codes outside Keyholder's store,
like a physical lock's memory: losing the store cannot then empty the lock, so
"nothing was cleared" is something the tests can fail on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import datetime, timedelta
import json
import logging
from pathlib import Path
from typing import Any
from unittest.mock import patch
from zoneinfo import ZoneInfo

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.repairs import RepairsFlowManager
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import DOMAIN as HOMEASSISTANT_DOMAIN, HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.keyholder import site as site_module
from custom_components.keyholder.const import DOMAIN
from custom_components.keyholder.families import LockProvider
from custom_components.keyholder.model.values import CredentialRef
from custom_components.keyholder.storage.store import BACKUP_DELAY

from .conftest import LOCK_FRONT, LOCK_GARAGE, OWNER, PLUMBER
from .helpers import P, issue, move_to

BERLIN = ZoneInfo("Europe/Berlin")
START = datetime(2026, 12, 3, 9, 0, tzinfo=BERLIN)
MAIN = f"{DOMAIN}.site_home"
BACKUP = f"{MAIN}.backup"
ISSUE_ID = "store_site_home"


@pytest.fixture
def door() -> Iterator[dict[str, dict[CredentialRef, str]]]:
    """The codes each lock holds, kept outside Keyholder's store (lock -> slot -> code)."""
    held: dict[str, dict[CredentialRef, str]] = {}
    create = site_module.create_provider

    def create_provider(
        hass: HomeAssistant,
        lock_id: str,
        data: Mapping[str, Any],
        virtual_memory: dict[str, dict[CredentialRef, str]],
    ) -> LockProvider:
        return create(hass, lock_id, data, held)

    with patch.object(site_module, "create_provider", create_provider):
        yield held


async def start(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    if (
        entry.state is ConfigEntryState.NOT_LOADED
        and not hass.config_entries.async_get_entry(entry.entry_id)
    ):
        entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()


def data_of(storage: Path, key: str) -> dict[str, Any]:
    """Return the data part of a store file."""
    document: dict[str, Any] = json.loads((storage / key).read_text())
    return document["data"]


def write_file(path: Path, content: bytes) -> None:
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(content)


def read(path: Path) -> bytes:
    return path.read_bytes()


def corrupt_files(storage: Path) -> list[Path]:
    return sorted(storage.glob("*.corrupt.*"))


def slot_of(held: dict[CredentialRef, str], passcode: str) -> int:
    return next(ref.index for ref, code in held.items() if code == passcode)


def unmanaged(hass: HomeAssistant, entity_id: str) -> list[int]:
    state = hass.states.get(entity_id)
    assert state is not None
    return list(state.attributes["unmanaged_slots"])


def ha_storage_issues(issue_registry: ir.IssueRegistry) -> list[str]:
    return [
        issue_id
        for domain, issue_id in issue_registry.issues
        if domain == HOMEASSISTANT_DOMAIN and issue_id.startswith("storage_corruption")
    ]


def truncated(text: str) -> bytes:
    return text[: len(text) // 2].encode()


def garbage(_text: str) -> bytes:
    return b"\x00\xff\xfe\x9c\x13 not json"


def without_site(text: str) -> bytes:
    document = json.loads(text)
    del document["data"]["site"]
    return json.dumps(document).encode()


def not_an_object(_text: str) -> bytes:
    return b"[1, 2, 3]"


DAMAGE: dict[str, tuple[Callable[[str], bytes], bool]] = {
    # name: (how the file is damaged, whether it is still valid JSON)
    "truncated": (truncated, False),
    "garbage": (garbage, False),
    "no_site": (without_site, True),
    "not_an_object": (not_an_object, True),
}


@pytest.mark.parametrize("damage", DAMAGE)
async def test_damaged_main_file_is_restored_from_the_copy(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    berlin: None,
    site_entry: MockConfigEntry,
    files: Path,
    door: dict[str, dict[CredentialRef, str]],
    issue_registry: ir.IssueRegistry,
    caplog: pytest.LogCaptureFixture,
    damage: str,
) -> None:
    caplog.set_level(logging.DEBUG)
    freezer.move_to(START)
    await start(hass, site_entry)
    front = await issue(hass)
    both = await issue(hass, locks=["Front door", "Garage"])
    await move_to(hass, freezer, START + timedelta(seconds=BACKUP_DELAY + 1))
    assert set(data_of(files, BACKUP)["site"]["keys"][0]) >= {"id", "secret"}
    copy_before_late_key = (files / BACKUP).read_bytes()

    freezer.move_to(START + timedelta(minutes=1))
    late = await issue(hass)
    assert await hass.config_entries.async_unload(site_entry.entry_id)
    on_the_locks = {lock: dict(codes) for lock, codes in door.items()}
    assert len(on_the_locks[LOCK_FRONT]) == 3
    # The power failed before the copy caught up with the late key, and the
    # main file was damaged.
    (files / BACKUP).write_bytes(copy_before_late_key)
    make_damage, still_json = DAMAGE[damage]
    damaged = make_damage((files / MAIN).read_text())
    (files / MAIN).write_bytes(damaged)

    freezer.move_to(START + timedelta(minutes=2))
    await start(hass, site_entry)

    assert site_entry.state is ConfigEntryState.LOADED
    runtime = site_entry.runtime_data
    assert set(runtime.site.keys) == {front["key_id"], both["key_id"]}
    # Nothing was cleared or overwritten: the late key's code is no longer
    # Keyholder's record, so it is left on the lock as an unmanaged slot.
    assert door == on_the_locks
    late_slot = slot_of(door[LOCK_FRONT], late["passcode"])
    assert unmanaged(hass, "sensor.front_door_sync") == [late_slot]
    assert unmanaged(hass, "sensor.garage_sync") == []
    assert hass.states.get("sensor.front_door_sync").state == "in_sync"  # type: ignore[union-attr]

    repair = issue_registry.async_get_issue(DOMAIN, ISSUE_ID)
    assert repair is not None
    assert repair.translation_key == "store_restored"
    assert repair.is_fixable
    assert repair.is_persistent
    placeholders = dict(repair.translation_placeholders or {})
    kept = Path(placeholders.pop("kept"))
    assert placeholders == {"site": "Home", "saved_at": "2026-12-03 09:00:00"}
    assert kept.name.startswith(f"{MAIN}.corrupt.")
    assert read(kept) == damaged  # the damaged file is kept as it was
    # Keyholder's issue replaces Home Assistant's generic one for the same file.
    assert ha_storage_issues(issue_registry) == []
    # Home Assistant's own code found the bad JSON; a wrong shape is Keyholder's.
    assert ("Unrecoverable error decoding storage" in caplog.text) is not still_json
    assert ("does not hold Keyholder data" in caplog.text) is still_json
    # The restored copy is the main file again.
    assert {key["id"] for key in data_of(files, MAIN)["site"]["keys"]} == {
        front["key_id"],
        both["key_id"],
    }
    for key in (front, both, late):
        assert key["passcode"] not in caplog.text


async def test_no_usable_copy_starts_and_clears_nothing(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    berlin: None,
    site_entry: MockConfigEntry,
    files: Path,
    door: dict[str, dict[CredentialRef, str]],
    issue_registry: ir.IssueRegistry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    freezer.move_to(START)
    await start(hass, site_entry)
    front = await issue(hass)
    both = await issue(hass, locks=["Front door", "Garage"])
    await move_to(hass, freezer, START + timedelta(seconds=BACKUP_DELAY + 1))
    assert await hass.config_entries.async_unload(site_entry.entry_id)
    on_the_locks = {lock: dict(codes) for lock, codes in door.items()}
    main_damage = truncated((files / MAIN).read_text())
    backup_damage = without_site((files / BACKUP).read_text())
    (files / MAIN).write_bytes(main_damage)
    (files / BACKUP).write_bytes(backup_damage)

    await start(hass, site_entry)

    assert site_entry.state is ConfigEntryState.LOADED
    runtime = site_entry.runtime_data
    assert runtime.site.keys == {}
    assert set(runtime.site.keyholders) == {OWNER, PLUMBER}  # from the subentries
    assert door == on_the_locks
    assert unmanaged(hass, "sensor.front_door_sync") == sorted(
        ref.index for ref in door[LOCK_FRONT]
    )
    assert unmanaged(hass, "sensor.garage_sync") == [
        slot_of(door[LOCK_GARAGE], both["passcode"])
    ]
    repair = issue_registry.async_get_issue(DOMAIN, ISSUE_ID)
    assert repair is not None
    assert repair.translation_key == "store_lost"
    assert repair.severity is ir.IssueSeverity.ERROR
    placeholders = dict(repair.translation_placeholders or {})
    kept = [Path(path) for path in placeholders.pop("kept").split(", ")]
    assert placeholders == {"site": "Home"}
    assert [read(path) for path in kept] == [main_damage, backup_damage]
    assert [path.name.split(".corrupt.")[0] for path in kept] == [MAIN, BACKUP]
    assert ha_storage_issues(issue_registry) == []

    # A key issued again takes a free slot; the old codes stay where they are.
    again = await issue(hass)
    assert door[LOCK_FRONT] == {
        **on_the_locks[LOCK_FRONT],
        P(slot_of(door[LOCK_FRONT], again["passcode"])): again["passcode"],
    }
    assert len(door[LOCK_FRONT]) == 3
    assert front["passcode"] not in caplog.text

    # The issue outlives a restart until the user confirms it.
    await hass.config_entries.async_reload(site_entry.entry_id)
    await hass.async_block_till_done()
    assert set(site_entry.runtime_data.site.keys) == {again["key_id"]}
    assert issue_registry.async_get_issue(DOMAIN, ISSUE_ID) is not None
    assert await async_setup_component(hass, "repairs", {})
    flows: RepairsFlowManager = hass.data["repairs"]["flow_manager"]
    result = await flows.async_init(DOMAIN, data={"issue_id": ISSUE_ID})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "confirm"
    assert result["description_placeholders"] == repair.translation_placeholders
    result = await flows.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert issue_registry.async_get_issue(DOMAIN, ISSUE_ID) is None


async def test_missing_main_file_is_restored_from_the_copy(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    berlin: None,
    site_entry: MockConfigEntry,
    files: Path,
    door: dict[str, dict[CredentialRef, str]],
    issue_registry: ir.IssueRegistry,
) -> None:
    freezer.move_to(START)
    await start(hass, site_entry)
    key = await issue(hass)
    freezer.tick(3)
    assert await hass.config_entries.async_unload(site_entry.entry_id)
    on_the_locks = {lock: dict(codes) for lock, codes in door.items()}
    (files / MAIN).unlink()

    await start(hass, site_entry)

    assert set(site_entry.runtime_data.site.keys) == {key["key_id"]}
    assert door == on_the_locks
    assert unmanaged(hass, "sensor.front_door_sync") == []
    repair = issue_registry.async_get_issue(DOMAIN, ISSUE_ID)
    assert repair is not None
    assert repair.translation_key == "store_restored_missing"
    # The copy was flushed when the site unloaded (3 s in, before BACKUP_DELAY),
    # with the unload's save of what the key's pass wrote to the lock.
    assert repair.translation_placeholders == {
        "site": "Home",
        "saved_at": "2026-12-03 09:00:03",
    }
    assert (files / MAIN).is_file()

    # Removing the site removes both files and the issue.
    assert await hass.config_entries.async_remove(site_entry.entry_id)
    await hass.async_block_till_done()
    assert not (files / MAIN).exists()
    assert not (files / BACKUP).exists()
    assert issue_registry.async_get_issue(DOMAIN, ISSUE_ID) is None


async def test_new_site_raises_no_repair_and_gets_a_copy(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    berlin: None,
    site_entry: MockConfigEntry,
    files: Path,
    issue_registry: ir.IssueRegistry,
) -> None:
    freezer.move_to(START)
    await start(hass, site_entry)
    assert site_entry.state is ConfigEntryState.LOADED
    assert (files / MAIN).is_file()
    first = await issue(hass)
    assert not (files / BACKUP).exists()  # the copy follows the main file

    freezer.tick(4)
    second = await issue(hass)
    await move_to(hass, freezer, START + timedelta(seconds=BACKUP_DELAY + 1))
    # One copy for the burst, holding the last save (not the first).
    copy = data_of(files, BACKUP)
    assert copy["saved_at"] == "2026-12-03T08:00:04+00:00"
    assert {key["id"] for key in copy["site"]["keys"]} == {
        first["key_id"],
        second["key_id"],
    }
    assert copy["written"] == data_of(files, MAIN)["written"]

    await hass.config_entries.async_reload(site_entry.entry_id)
    await hass.async_block_till_done()
    assert set(site_entry.runtime_data.site.keys) == {first["key_id"], second["key_id"]}
    assert [
        issue_id for domain, issue_id in issue_registry.issues if domain == DOMAIN
    ] == []
    assert ha_storage_issues(issue_registry) == []
    assert corrupt_files(files) == []


async def test_file_from_a_newer_keyholder_is_left_alone(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    berlin: None,
    site_entry: MockConfigEntry,
    files: Path,
    issue_registry: ir.IssueRegistry,
) -> None:
    freezer.move_to(START)
    newer = json.dumps(
        {"version": 99, "minor_version": 1, "key": MAIN, "data": {"future": True}}
    ).encode()
    write_file(files / MAIN, newer)

    site_entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(site_entry.entry_id)

    assert site_entry.state is ConfigEntryState.SETUP_ERROR
    assert read(files / MAIN) == newer
    assert corrupt_files(files) == []
    assert issue_registry.async_get_issue(DOMAIN, ISSUE_ID) is None
