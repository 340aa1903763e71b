"""
A site saved by Keyholder at store version 1 comes back whole, and no lock is touched.

``tests/fixtures/store_v1`` holds the files Keyholder a3eae1c (the last version
writing store version 1) left while a Z-Wave write was in flight: the main file,
its copy, the list of pending writes, and (``site.json``) the config entry, the
instant and what the Z-Wave node held (``generate.py`` says how it was made).
Home Assistant starts here on those very files, through its real storage code
(the ``files`` fixture): Keyholder tells Home Assistant's ``Store`` of version 2,
which migrates each file. The locks are the fixture's: two virtual locks whose
memory is in the store and a Z-Wave lock behind faked zwave_js actions, every
write and clear counted.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
import json
from pathlib import Path
import shutil
from typing import Any
from unittest.mock import patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState, ConfigSubentryData
from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
)
from homeassistant.helpers import (
    device_registry as dr,
    entity_registry as er,
    issue_registry as ir,
)
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.keyholder.const import DOMAIN
from custom_components.keyholder.families import Validity
from custom_components.keyholder.families.virtual import VirtualLock
from custom_components.keyholder.model.serialize import STORAGE_VERSION, site_to_dict
from custom_components.keyholder.model.values import CredentialRef
from custom_components.keyholder.storage.store import store_issue_id

from .helpers import P, async_add_zwave_lock, move_to

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "store_v1"
SITE: dict[str, Any] = json.loads((FIXTURE / "site.json").read_text())
ENTRY_ID = SITE["entry"]["entry_id"]
MAIN = f"{DOMAIN}.{ENTRY_ID}"
ZLOCK = "lock.back_door"
LOCKS = ("lock_front", "lock_garage", "lock_back")
SYNC_SENSORS = ("sensor.front_door_sync", "sensor.garage_sync", "sensor.back_door_sync")


def stored(name: str) -> dict[str, Any]:
    """Return a fixture file as Keyholder a3eae1c wrote it."""
    document: dict[str, Any] = json.loads((FIXTURE / name).read_text())
    assert (document["version"], document["minor_version"]) == (1, 1)
    return document


def passcodes(slots: dict[str, str]) -> dict[CredentialRef, str]:
    """Return version 1's slot -> code as what it means: passcode credentials."""
    return {P(int(slot)): code for slot, code in slots.items()}


@dataclass
class Locks:
    """What the locks were asked to do while Home Assistant ran."""

    node: dict[int, str]
    """What the Z-Wave node holds."""
    sets: list[tuple[str, CredentialRef]] = field(default_factory=list)
    clears: list[tuple[str, CredentialRef]] = field(default_factory=list)


@pytest.fixture
def locks(hass: HomeAssistant) -> Iterator[Locks]:
    """Count every write and clear to the virtual locks and the Z-Wave node."""
    seen = Locks(node={int(slot): code for slot, code in SITE["zwave_node"].items()})
    set_code, clear_code = (
        VirtualLock.async_set_credential,
        VirtualLock.async_clear_credential,
    )

    async def counted_set(
        self: VirtualLock,
        ref: CredentialRef,
        secret: str,
        *,
        valid: Validity | None = None,
    ) -> None:
        seen.sets.append(("virtual", ref))
        await set_code(self, ref, secret, valid=valid)

    async def counted_clear(self: VirtualLock, ref: CredentialRef) -> None:
        seen.clears.append(("virtual", ref))
        await clear_code(self, ref)

    with (
        patch.object(VirtualLock, "async_set_credential", counted_set),
        patch.object(VirtualLock, "async_clear_credential", counted_clear),
    ):
        yield seen


async def _zwave_back_door(hass: HomeAssistant, locks: Locks) -> None:
    """The back door: zwave_js's actions and lock entity, over the fixture's node."""
    node = locks.node

    def get_codes(call: ServiceCall) -> ServiceResponse:
        return {
            ZLOCK: {
                str(slot): {"usercode": node.get(slot, ""), "in_use": slot in node}
                for slot in range(1, 21)
            }
        }

    def clear_code(call: ServiceCall) -> None:
        locks.clears.append(("zwave_js", P(call.data["code_slot"])))
        node.pop(call.data["code_slot"], None)

    def set_code(slot: int, code: str) -> None:
        locks.sets.append(("zwave_js", P(slot)))
        node[slot] = code

    hass.services.async_register(
        "zwave_js",
        "get_lock_usercode",
        get_codes,
        supports_response=SupportsResponse.ONLY,
    )
    hass.services.async_register("zwave_js", "clear_lock_usercode", clear_code)
    zwave_entry = MockConfigEntry(domain="zwave_js", data={"url": "ws://127.0.0.1:1"})
    zwave_entry.add_to_hass(hass)
    device = dr.async_get(hass).async_get_or_create(
        config_entry_id=zwave_entry.entry_id, identifiers={("zwave_js", "77-9")}
    )
    unique_id = "77.9-98-0-currentMode"
    er.async_get(hass).async_get_or_create(
        "lock",
        "zwave_js",
        unique_id,
        device_id=device.id,
        config_entry=zwave_entry,
        suggested_object_id="back_door",
    )
    await async_add_zwave_lock(hass, zwave_entry, unique_id, "77-9", set_code)


def _site_entry() -> MockConfigEntry:
    entry = SITE["entry"]
    return MockConfigEntry(
        domain=DOMAIN,
        entry_id=entry["entry_id"],
        title=entry["title"],
        data=entry["data"],
        subentries_data=[
            ConfigSubentryData(
                data=sub["data"],
                subentry_id=sub["subentry_id"],
                subentry_type=sub["subentry_type"],
                title=sub["title"],
                unique_id=None,
            )
            for sub in entry["subentries"]
        ],
    )


def _place(files: Path, names: tuple[str, ...]) -> None:
    """Copy fixture files into Home Assistant's storage directory."""
    files.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copyfile(FIXTURE / name, files / name)


async def _start(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    files: Path,
    locks: Locks,
    names: tuple[str, ...],
) -> MockConfigEntry:
    """Put the fixture's files in place and start the site on them."""
    freezer.move_to(datetime.fromisoformat(SITE["copied_at"]) + timedelta(seconds=30))
    await hass.config.async_set_time_zone(SITE["time_zone"])
    _place(files, names)
    await _zwave_back_door(hass, locks)
    entry = _site_entry()
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    return entry


def _on_disk(files: Path, name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((files / name).read_text())
    return document


def _in_sync(hass: HomeAssistant) -> list[str]:
    return [hass.states.get(sensor).state for sensor in SYNC_SENSORS]  # type: ignore[union-attr]


async def test_version_1_site_is_intact_and_no_lock_is_touched(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    files: Path,
    locks: Locks,
    issue_registry: ir.IssueRegistry,
) -> None:
    main, pending = stored(MAIN)["data"], stored(f"{MAIN}.pending")["data"]
    entry = await _start(
        hass, freezer, files, locks, (MAIN, f"{MAIN}.backup", f"{MAIN}.pending")
    )
    runtime = entry.runtime_data

    # Nothing was written to or cleared from any lock, and each is in sync.
    assert locks.sets == []
    assert locks.clears == []
    assert _in_sync(hass) == ["in_sync"] * 3
    assert {int(slot): code for slot, code in SITE["zwave_node"].items()} == locks.node
    # Every keyholder and key as stored: names, roles, blocks, secrets,
    # schedules, uses, limits, cancellations, issue order.
    now = site_to_dict(runtime.site)
    assert now["keyholders"] == main["site"]["keyholders"]
    assert now["keys"] == main["site"]["keys"]
    keys = {key["id"]: key for key in main["site"]["keys"]}
    # (the fixture has uses counted at a keypad and at the back door's report)
    assert {
        (key["keyholder_id"], key["uses"], key["max_uses"])
        for key in keys.values()
        if key["uses"]
    } == {("kh_plumber", 1, None), ("kh_gus", 2, 3)}
    assert sum(key["cancelled"] for key in keys.values()) == 1
    # The virtual locks' memory (someone's own code included) is unchanged.
    assert runtime.data.virtual == {
        lock: passcodes(slots) for lock, slots in main["virtual"].items()
    }
    assert runtime.data.targets == main["targets"]
    # The write in flight when the files were copied: it landed, so its slot
    # is Keyholder's and belongs to the key it was for (planned, not rewritten).
    ((lock_id, in_flight),) = pending["pending"].items()
    ((slot, code),) = in_flight.items()
    (carla,) = [key for key in keys.values() if key["secret"] == code]
    assert lock_id not in main["written"] or slot not in main["written"][lock_id]
    assert runtime.data.written == {
        **{lock: passcodes(slots) for lock, slots in main["written"].items()},
        lock_id: {**passcodes(main["written"][lock_id]), P(int(slot)): code},
    }
    assert runtime.site.slots == {
        **main["site"]["slots"],
        lock_id: {**main["site"]["slots"][lock_id], carla["id"]: int(slot)},
    }
    # What the locks hold that Keyholder did not write stays someone else's.
    assert runtime.lock_status["lock_front"].unmanaged == (P(1),)
    assert runtime.lock_status["lock_back"].unmanaged == (P(1),)
    assert runtime.lock_status["lock_garage"].unmanaged == ()
    assert issue_registry.async_get_issue(DOMAIN, store_issue_id(ENTRY_ID)) is None

    # The files are version 2 now, keyed by credential.
    document = _on_disk(files, MAIN)
    assert (document["version"], document["minor_version"]) == (STORAGE_VERSION, 1)
    assert document["data"]["site"]["version"] == STORAGE_VERSION
    assert document["data"]["written"]["lock_front"] == {
        "passcode": main["written"]["lock_front"]
    }
    assert document["data"]["virtual"]["lock_garage"] == {
        "passcode": main["virtual"]["lock_garage"]
    }
    # The old list of pending writes was taken over into the main file, which
    # holds the writes about to be made from now on.
    assert not (files / f"{MAIN}.pending").exists()
    assert document["data"]["pending"] == {}
    await move_to(
        hass, freezer, datetime.fromisoformat(SITE["copied_at"]) + timedelta(minutes=1)
    )
    backup = _on_disk(files, f"{MAIN}.backup")
    assert backup["version"] == STORAGE_VERSION
    assert backup["data"]["written"] == document["data"]["written"]

    # Every code still opens what it opened: the owner's on both virtual doors.
    (alice,) = [key for key in keys.values() if key["name"] == "Alice"]
    for lock in ("lock.front_door", "lock.garage"):
        await hass.services.async_call(
            "lock",
            "unlock",
            {"entity_id": lock, "code": alice["secret"]},
            blocking=True,
        )
        assert hass.states.get(lock).state == "unlocked"  # type: ignore[union-attr]
    assert locks.sets == []
    assert locks.clears == []


async def test_version_1_copy_restores_a_missing_main_file(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    files: Path,
    locks: Locks,
    issue_registry: ir.IssueRegistry,
) -> None:
    """Only the version 1 copy is left: it is migrated and loaded, nothing cleared."""
    backup = stored(f"{MAIN}.backup")["data"]
    entry = await _start(hass, freezer, files, locks, (f"{MAIN}.backup",))
    runtime = entry.runtime_data

    repair = issue_registry.async_get_issue(DOMAIN, store_issue_id(ENTRY_ID))
    assert repair is not None
    assert repair.translation_key == "store_restored_missing"
    assert site_to_dict(runtime.site)["keys"] == backup["site"]["keys"]
    assert runtime.data.virtual == {
        lock: passcodes(slots) for lock, slots in backup["virtual"].items()
    }
    # The copy predates the back door's last code: it is someone else's now,
    # and stays on the lock.
    assert locks.sets == []
    assert locks.clears == []
    assert runtime.lock_status["lock_back"].unmanaged == (P(1), P(4))
    assert _in_sync(hass) == ["in_sync"] * 3
    document = _on_disk(files, MAIN)
    assert document["version"] == STORAGE_VERSION
    assert document["data"]["virtual"] == {
        lock: {"passcode": slots} if slots else {}
        for lock, slots in backup["virtual"].items()
    }
