"""Keys that do not fit on a lock are reported as such, and wait in issue order."""

from __future__ import annotations

from datetime import datetime, timedelta
import logging
from typing import Any
from zoneinfo import ZoneInfo

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.repairs import RepairsFlowManager
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.keyholder.adapters.websocket_api import describe_sites
from custom_components.keyholder.const import DOMAIN
from custom_components.keyholder.families.virtual import VirtualLock
from custom_components.keyholder.model.values import CredentialRef

from .helpers import P, async_setup_plumber_site, front_door_sync, issue, move_to

BERLIN = ZoneInfo("Europe/Berlin")
START = datetime(2026, 12, 3, 9, 0, tzinfo=BERLIN)
LOCK_ID = "lock_small"
FULL_ISSUE = f"lock_full_{LOCK_ID}"
DUPLICATE_ISSUE = f"code_duplicate_{LOCK_ID}"
NOT_HERE = [{"lock": "Front door", "lock_id": LOCK_ID, "reason": "no_free_slot"}]


async def _site(hass: HomeAssistant, slots: int) -> MockConfigEntry:
    return await async_setup_plumber_site(
        hass,
        "site_small",
        LOCK_ID,
        {"provider": "virtual", "slots": slots, "pin_min": 4, "pin_max": 8},
    )


def _lock(entry: MockConfigEntry) -> VirtualLock:
    provider = entry.runtime_data.locks[LOCK_ID].provider
    assert isinstance(provider, VirtualLock)
    return provider


async def _cancel(hass: HomeAssistant, key_id: str) -> None:
    await hass.services.async_call(
        DOMAIN, "cancel_key", {"key_id": key_id}, blocking=True
    )


async def _listed(hass: HomeAssistant) -> dict[str, list[dict[str, str]]]:
    result = await hass.services.async_call(
        DOMAIN, "list_keys", {}, blocking=True, return_response=True
    )
    assert result is not None
    keys: list[dict[str, Any]] = result["keys"]  # type: ignore[assignment]
    return {key["key_id"]: key["not_on_locks"] for key in keys}


async def _five_keys_on_three_free_slots(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
    caplog: pytest.LogCaptureFixture,
) -> list[dict[str, Any]]:
    """Issue five keys where three fit; check what every report says."""
    keys = [await issue(hass) for _ in range(5)]
    for key in keys[:3]:
        assert key["status"] == "active"
        assert key["not_on_locks"] == []
    for key in keys[3:]:
        # Still issued and active, but the answer says where it is not.
        assert key["status"] == "active"
        assert key["not_on_locks"] == NOT_HERE
    held = set(_lock(entry).codes.values())
    assert {key["passcode"] for key in keys[:3]} <= held
    assert not {key["passcode"] for key in keys[3:]} & held

    sync = front_door_sync(hass)
    assert sync.state == "incomplete"
    assert sync.attributes["keys_not_fitting"] == 2
    assert sync.attributes["not_fitting"] == {"no_free_slot": 2}
    repair = issue_registry.async_get_issue(DOMAIN, FULL_ISSUE)
    assert repair is not None
    assert repair.translation_key == "lock_full"
    assert repair.translation_placeholders is not None
    assert repair.translation_placeholders["count"] == "2"
    assert repair.translation_placeholders["lock"] == "Front door"

    listed = await _listed(hass)
    assert [listed[key["key_id"]] for key in keys] == [[], [], [], NOT_HERE, NOT_HERE]
    # The panel's description of the keys says the same.
    (site,) = describe_sites(hass)["sites"]
    described = {
        key["id"]: key["not_on_locks"]
        for holder in site["keyholders"]
        for key in holder["keys"]
    }
    assert [described[key["key_id"]] for key in keys] == [
        [],
        [],
        [],
        NOT_HERE,
        NOT_HERE,
    ]
    (lock,) = site["locks"]
    assert lock["sync"] == "incomplete"
    assert lock["keys_not_fitting"] == 2
    status = hass.states.get("sensor.plumber_status")
    assert status is not None
    assert status.attributes["not_on_locks"] == [
        {"lock": "Front door", "reason": "no_free_slot"}
    ]
    # One warning per key that starts not fitting, however many passes ran.
    warnings = [r for r in caplog.records if "is not on Front door" in r.getMessage()]
    assert len(warnings) == 2
    assert all(r.levelno == logging.WARNING for r in warnings)
    ours = " ".join(
        r.getMessage()
        for r in caplog.records
        if r.name.startswith("custom_components.keyholder")
    )
    assert not any(key["passcode"] in ours for key in keys)
    return keys


async def test_keys_beyond_the_slots_are_reported_and_wait_in_issue_order(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    berlin: None,
    issue_registry: ir.IssueRegistry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    freezer.move_to(START)
    entry = await _site(hass, slots=3)
    keys = await _five_keys_on_three_free_slots(hass, entry, issue_registry, caplog)
    # Another pass (a later edge, a retry) logs nothing new.
    await move_to(hass, freezer, START + timedelta(minutes=5))
    await entry.runtime_data.async_apply_changes()
    assert caplog.text.count("is not on Front door") == 2

    await _cancel(hass, keys[0]["key_id"])
    # Key 4 was issued before key 5: it gets the freed slot.
    held = set(_lock(entry).codes.values())
    assert keys[3]["passcode"] in held
    assert keys[4]["passcode"] not in held
    listed = await _listed(hass)
    assert listed[keys[3]["key_id"]] == []
    assert listed[keys[4]["key_id"]] == NOT_HERE
    assert front_door_sync(hass).attributes["keys_not_fitting"] == 1
    repair = issue_registry.async_get_issue(DOMAIN, FULL_ISSUE)
    assert repair is not None
    assert repair.translation_placeholders is not None
    assert repair.translation_placeholders["count"] == "1"

    await _cancel(hass, keys[1]["key_id"])
    assert keys[4]["passcode"] in set(_lock(entry).codes.values())
    assert (await _listed(hass))[keys[4]["key_id"]] == []
    sync = front_door_sync(hass)
    assert sync.state == "in_sync"
    assert sync.attributes["keys_not_fitting"] == 0
    assert issue_registry.async_get_issue(DOMAIN, FULL_ISSUE) is None


async def test_codes_keyholder_does_not_manage_take_slots_too(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    berlin: None,
    issue_registry: ir.IssueRegistry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    freezer.move_to(START)
    entry = await _site(hass, slots=5)
    lock = _lock(entry)
    # The owner's codes, set at the lock itself.
    lock.codes.update({P(1): "1357", P(4): "2468"})
    await entry.runtime_data.async_apply_changes()
    keys = await _five_keys_on_three_free_slots(hass, entry, issue_registry, caplog)
    assert lock.codes[P(1)] == "1357"
    assert lock.codes[P(4)] == "2468"
    assert front_door_sync(hass).attributes["unmanaged_slots"] == [1, 4]

    # The owner clears one code at the lock: the oldest waiting key takes it.
    del lock.codes[P(4)]
    await entry.runtime_data.async_apply_changes()
    assert lock.codes[P(4)] == keys[3]["passcode"]
    assert keys[4]["passcode"] not in lock.codes.values()
    assert front_door_sync(hass).state == "incomplete"
    # The other owner code stays where it is.
    assert lock.codes[P(1)] == "1357"


async def test_a_code_the_lock_holds_already_is_reported_and_not_resent(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    berlin: None,
    issue_registry: ir.IssueRegistry,
) -> None:
    freezer.move_to(START)
    entry = await _site(hass, slots=5)
    lock = _lock(entry)
    key = await issue(hass, valid_from=(START + timedelta(hours=1)).isoformat())
    assert key["status"] == "upcoming"
    # Meanwhile someone sets the same code at the lock for another user.
    lock.codes[P(5)] = key["passcode"]
    writes: list[CredentialRef] = []
    set_code = lock.async_set_credential

    async def counting(ref: CredentialRef, code: str, **kwargs: Any) -> None:
        writes.append(ref)
        await set_code(ref, code, **kwargs)

    lock.async_set_credential = counting  # type: ignore[method-assign]
    await move_to(hass, freezer, START + timedelta(hours=1))
    assert writes == [P(1)]
    refused = [{"lock": "Front door", "lock_id": LOCK_ID, "reason": "code_duplicate"}]
    assert (await _listed(hass))[key["key_id"]] == refused
    sync = front_door_sync(hass)
    assert sync.state == "incomplete"
    assert sync.attributes["not_fitting"] == {"code_duplicate": 1}
    assert sync.attributes["failures"] == 0
    repair = issue_registry.async_get_issue(DOMAIN, DUPLICATE_ISSUE)
    assert repair is not None
    assert repair.translation_key == "code_duplicate"

    # No resend: not on later passes, not on retries.
    for minutes in (1, 30, 120):
        await move_to(hass, freezer, START + timedelta(hours=1, minutes=minutes))
        await entry.runtime_data.async_apply_changes()
    assert writes == [P(1)]

    # A new passcode is sent at once and fits.
    result = await hass.services.async_call(
        DOMAIN,
        "generate_passcode",
        {"key_id": key["key_id"]},
        blocking=True,
        return_response=True,
    )
    assert result is not None
    assert writes == [P(1), P(1)]
    assert lock.codes[P(1)] == result["passcode"]
    assert (await _listed(hass))[key["key_id"]] == []
    assert front_door_sync(hass).state == "in_sync"
    assert issue_registry.async_get_issue(DOMAIN, DUPLICATE_ISSUE) is None


async def test_refused_codes_are_tried_again_from_the_repair(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    berlin: None,
    issue_registry: ir.IssueRegistry,
) -> None:
    assert await async_setup_component(hass, "repairs", {})
    freezer.move_to(START)
    entry = await _site(hass, slots=5)
    lock = _lock(entry)
    key = await issue(hass, valid_from=(START + timedelta(hours=1)).isoformat())
    lock.codes[P(5)] = key["passcode"]
    await move_to(hass, freezer, START + timedelta(hours=1))
    repair = issue_registry.async_get_issue(DOMAIN, DUPLICATE_ISSUE)
    assert repair is not None
    assert repair.is_fixable
    assert repair.translation_placeholders == {
        "lock": "Front door",
        "count": "1",
        "keys": "Plumber",
    }

    flows: RepairsFlowManager = hass.data["repairs"]["flow_manager"]
    result = await flows.async_init(DOMAIN, data={"issue_id": DUPLICATE_ISSUE})
    assert result["type"] is FlowResultType.FORM
    result = await flows.async_configure(result["flow_id"], {})
    # The other code is still there: refused again.
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "still_refused"

    del lock.codes[P(5)]  # the owner removes the other code at the lock
    result = await flows.async_init(DOMAIN, data={"issue_id": DUPLICATE_ISSUE})
    result = await flows.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert key["passcode"] in lock.codes.values()
    assert issue_registry.async_get_issue(DOMAIN, DUPLICATE_ISSUE) is None
    assert front_door_sync(hass).state == "in_sync"
