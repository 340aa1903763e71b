"""Tests for the one description of keys, keyholders and locks (describe.py)."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.keyholder.access.describe import (
    describe_keyholder,
    describe_keyholders,
    describe_keys,
    describe_locks,
    lock_names,
    sync_attributes,
)
from custom_components.keyholder.adapters.websocket_api import describe_sites
from custom_components.keyholder.const import DOMAIN
from custom_components.keyholder.model.status import Status
from custom_components.keyholder.sync.state import SyncState

from .conftest import LOCK_FRONT, LOCK_GARAGE, PLUMBER
from .helpers import issue


async def test_descriptions_hold_no_secret_and_agree(
    hass: HomeAssistant, loaded_site: MockConfigEntry
) -> None:
    runtime = loaded_site.runtime_data
    both = await issue(hass, locks=["Front door", "Garage"], passcode="2580")
    front = await issue(hass, passcode="139713", weekdays=["thu"], **_afternoon())
    holder = describe_keyholder(runtime, PLUMBER)
    assert "2580" not in repr(holder)
    assert "139713" not in repr(holder)
    assert [key.id for key in holder.keys] == sorted([both["key_id"], front["key_id"]])
    assert holder.locks == ["Front door", "Garage"]
    assert holder.status is Status.ACTIVE
    (described,) = [key for key in holder.keys if key.id == both["key_id"]]
    assert described.lock_ids == (LOCK_FRONT, LOCK_GARAGE)
    assert described.locks == ("Front door", "Garage")
    assert described.keyholder == "Plumber"
    assert lock_names(runtime, {LOCK_GARAGE, "gone", LOCK_FRONT}) == [
        "Front door",
        "Garage",
    ]
    # The actions' list and the panel show the same key the same way.
    listed = await hass.services.async_call(
        DOMAIN,
        "list_keys",
        {"keyholder": "Plumber"},
        blocking=True,
        return_response=True,
    )
    (site,) = describe_sites(hass)["sites"]
    (panel,) = [h for h in site["keyholders"] if h["id"] == PLUMBER]
    assert isinstance(listed, dict)
    for item, shown in zip(listed["keys"], panel["keys"], strict=True):
        assert item["key_id"] == shown["id"]
        assert item["status"] == shown["status"]
        assert item["not_on_locks"] == shown["not_on_locks"]
    assert [key.id for key in describe_keys(runtime, PLUMBER)] == [
        item["key_id"] for item in listed["keys"]
    ]
    assert [h.name for h in describe_keyholders(runtime)] == ["Alice Owner", "Plumber"]


async def test_lock_descriptions(
    hass: HomeAssistant, loaded_site: MockConfigEntry
) -> None:
    runtime = loaded_site.runtime_data
    await issue(hass)
    locks = describe_locks(runtime)
    assert [lock.name for lock in locks] == ["Front door", "Garage"]
    front = locks[0]
    assert front.state is SyncState.IN_SYNC
    assert sync_attributes(front) == {
        "codes_wanted": 1,
        "codes_confirmed": 1,
        "failures": 0,
        "last_error": None,
        "next_retry": None,
        "unmanaged_slots": [],
        "keys_not_fitting": 0,
    }
    state = hass.states.get("sensor.front_door_sync")
    assert state is not None
    assert {k: state.attributes[k] for k in sync_attributes(front)} == (
        sync_attributes(front)
    )


def _afternoon() -> dict[str, str]:
    return {"start_time": "13:00", "end_time": "17:00"}
