"""The access group flow and the keyholder flow's access and key steps."""

from __future__ import annotations

from datetime import datetime, time, timedelta
import json
from typing import Any
from zoneinfo import ZoneInfo

from freezegun.api import FrozenDateTimeFactory
from homeassistant import config_entries
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.keyholder.access.grants import personal_grant_id
from custom_components.keyholder.model.values import Schedule, Window

from .conftest import LOCK_FRONT, LOCK_GARAGE
from .helpers import by_slot, move_to, set_up_at

BERLIN = ZoneInfo("Europe/Berlin")
# Monday 30 November 2026, 10:00.
MONDAY = datetime(2026, 11, 30, 10, 0, tzinfo=BERLIN)
CLEANERS = {
    "name": "Cleaners",
    "locks": [LOCK_FRONT],
    "schedule_kind": "weekly",
    "weekdays": ["mon", "fri"],
    "start_time": "09:00:00",
    "end_time": "12:00:00",
}
CARLA = {"given_name": "Carla", "family_name": "Cleaner", "role": "keyholder"}


@pytest.fixture
async def site(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    berlin: None,
    site_entry: MockConfigEntry,
) -> MockConfigEntry:
    """The site, set up on a Monday morning."""
    return await set_up_at(hass, freezer, site_entry, MONDAY)


async def _start(hass: HomeAssistant, entry: MockConfigEntry, kind: str) -> Any:
    return await hass.config_entries.subentries.async_init(
        (entry.entry_id, kind), context={"source": config_entries.SOURCE_USER}
    )


async def _next(hass: HomeAssistant, result: Any, data: dict[str, Any]) -> Any:
    return await hass.config_entries.subentries.async_configure(result["flow_id"], data)


def _codes(entry: MockConfigEntry, lock_id: str) -> list[str]:
    return sorted(by_slot(entry.runtime_data.locks[lock_id].provider.codes).values())


def _ids(entry: MockConfigEntry, kind: str) -> dict[str, str]:
    return {
        sub.title: sid
        for sid, sub in entry.subentries.items()
        if sub.subentry_type == kind
    }


async def _add_group(
    hass: HomeAssistant, entry: MockConfigEntry, data: dict[str, Any]
) -> str:
    result = await _next(hass, await _start(hass, entry, "access_group"), data)
    assert result["type"] is FlowResultType.CREATE_ENTRY, result
    await hass.async_block_till_done()
    return _ids(entry, "access_group")[data["name"]]


async def _add_keyholder(
    hass: HomeAssistant,
    entry: MockConfigEntry,
    access: dict[str, Any],
    key: dict[str, Any],
) -> Any:
    result = await _next(hass, await _start(hass, entry, "keyholder"), CARLA)
    assert result["step_id"] == "access"
    result = await _next(hass, result, access)
    assert result["step_id"] == "key"
    result = await _next(hass, result, key)
    await hass.async_block_till_done()
    return result


async def test_group_errors_per_field(
    hass: HomeAssistant, site: MockConfigEntry
) -> None:
    await _add_group(hass, site, CLEANERS)
    result = await _start(hass, site, "access_group")
    before = dict(site.subentries)
    for bad, errors in (
        ({"name": " "}, {"name": "name_required"}),
        ({"name": "Bad\u202ename"}, {"name": "name_invalid"}),
        ({"name": "cleaners"}, {"name": "group_exists"}),
        ({"locks": []}, {"locks": "no_locks"}),
        ({"weekdays": []}, {"weekdays": "weekdays_required"}),
        ({"end_time": None}, {"end_time": "time_required"}),
        (
            {"valid_from": "2026-12-10", "valid_until": "2026-12-09"},
            {"valid_until": "until_before_from"},
        ),
        ({"schedule_kind": "dates"}, {"valid_from": "dates_required"}),
    ):
        merged = {**CLEANERS, "name": "Gardeners", **bad}
        data = {k: v for k, v in merged.items() if v is not None}
        result = await _next(hass, result, data)
        assert result["type"] is FlowResultType.FORM
        assert result["errors"] == errors, bad
    assert dict(site.subentries) == before


async def test_group_create_and_reconfigure(
    hass: HomeAssistant, site: MockConfigEntry
) -> None:
    group_id = await _add_group(
        hass,
        site,
        {**CLEANERS, "valid_from": "2026-12-01", "valid_until": "2026-12-31"},
    )
    group = site.runtime_data.site.groups[group_id]
    assert group.name == "Cleaners"
    assert group.lock_ids == {LOCK_FRONT}
    assert group.schedule == Schedule(
        (Window(frozenset({0, 4}), time(9), time(12)),),
        datetime(2026, 12, 1, tzinfo=BERLIN),
        datetime(2027, 1, 1, tzinfo=BERLIN),
    )

    result = await site.start_subentry_reconfigure_flow(hass, group_id)
    suggested = {
        str(key): key.description["suggested_value"]
        for key in result["data_schema"].schema
        if key.description
    }
    assert suggested["name"] == "Cleaners"
    assert suggested["locks"] == [LOCK_FRONT]
    assert suggested["weekdays"] == ["mon", "fri"]
    assert suggested["valid_until"] == "2026-12-31"
    result = await _next(
        hass,
        result,
        {"name": "Cleaning", "locks": [LOCK_GARAGE], "schedule_kind": "always"},
    )
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    group = site.runtime_data.site.groups[group_id]
    assert (group.name, group.lock_ids) == ("Cleaning", {LOCK_GARAGE})
    assert group.schedule == Schedule()


async def test_new_keyholder_gets_a_code_shown_once(
    hass: HomeAssistant, site: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    group_id = await _add_group(hass, site, CLEANERS)
    result = await _add_keyholder(hass, site, {"groups": [group_id]}, {})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "keyholder_added"
    code = result["description_placeholders"]["code"]
    assert result["description_placeholders"]["name"] == "Carla Cleaner"
    assert result["description_placeholders"]["doors"] == "Front door"
    carla = _ids(site, "keyholder")["Carla Cleaner"]
    runtime = site.runtime_data
    assert {m.group_id for m in runtime.site.access.memberships_of(carla)} == {group_id}
    # Monday 10:00: inside the group's window, the code is on the front door.
    assert code in _codes(site, LOCK_FRONT)
    assert code not in _codes(site, LOCK_GARAGE)
    # The code is kept nowhere in the config entries.
    stored = json.dumps(
        [e.as_dict() for e in hass.config_entries.async_entries()], default=str
    )
    assert code not in stored
    # After 12:00 the group's doors close: the code leaves the lock.
    await move_to(hass, freezer, MONDAY.replace(hour=12, minute=30))
    assert code not in _codes(site, LOCK_FRONT)
    await move_to(hass, freezer, MONDAY + timedelta(days=4))
    assert code in _codes(site, LOCK_FRONT)


async def test_own_code_and_refusals_on_the_field(
    hass: HomeAssistant, site: MockConfigEntry
) -> None:
    before = dict(site.subentries)
    added: list[str] = []
    site.async_on_unload(
        hass.bus.async_listen(
            "device_registry_updated",
            lambda event: added.append(event.data["action"]),
        )
    )
    result = await _next(hass, await _start(hass, site, "keyholder"), CARLA)
    result = await _next(hass, result, {"doors": [LOCK_GARAGE]})
    for key, errors in (
        ({"key": "own"}, {"passcode": "passcode_required"}),
        ({"key": "own", "passcode": "12"}, {"passcode": "passcode_too_short"}),
        ({"key": "own", "passcode": "1234abc"}, {"passcode": "passcode_not_digits"}),
    ):
        result = await _next(hass, result, key)
        await hass.async_block_till_done()
        assert result["type"] is FlowResultType.FORM
        assert result["errors"] == errors
        # Bad input changes nothing: no keyholder was left behind.
        assert dict(site.subentries) == before
        assert "Carla Cleaner" not in {
            h.name for h in site.runtime_data.site.keyholders.values()
        }
    # A refused code is refused before anyone is added (no device came and went).
    assert added == []
    result = await _next(hass, result, {"key": "own", "passcode": "482917"})
    await hass.async_block_till_done()
    assert result["reason"] == "keyholder_added"
    assert result["description_placeholders"]["code"] == "482917"
    assert "482917" in _codes(site, LOCK_GARAGE)
    assert "482917" not in _codes(site, LOCK_FRONT)

    # The same code for someone else on the same door is refused on the field.
    result = await _next(
        hass,
        await _start(hass, site, "keyholder"),
        {"given_name": "Dora", "role": "keyholder"},
    )
    result = await _next(hass, result, {"doors": [LOCK_GARAGE]})
    result = await _next(hass, result, {"key": "own", "passcode": "482917"})
    assert result["errors"] == {"passcode": "passcode_in_use"}


async def test_key_needs_access(hass: HomeAssistant, site: MockConfigEntry) -> None:
    result = await _next(hass, await _start(hass, site, "keyholder"), CARLA)
    result = await _next(hass, result, {})
    result = await _next(hass, result, {"key": "generate"})
    assert result["errors"] == {"key": "key_needs_access"}


async def test_reconfigure_moves_the_code(
    hass: HomeAssistant, site: MockConfigEntry
) -> None:
    result = await _add_keyholder(hass, site, {"doors": [LOCK_FRONT]}, {})
    code = result["description_placeholders"]["code"]
    carla = _ids(site, "keyholder")["Carla Cleaner"]
    assert code in _codes(site, LOCK_FRONT)

    result = await site.start_subentry_reconfigure_flow(hass, carla)
    result = await _next(hass, result, CARLA)
    assert result["step_id"] == "access"
    suggested = {
        str(key): key.description["suggested_value"]
        for key in result["data_schema"].schema
        if key.description
    }
    assert suggested["doors"] == [LOCK_FRONT]
    assert suggested["schedule_kind"] == "always"
    result = await _next(hass, result, {"doors": [LOCK_GARAGE]})
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    grant = site.runtime_data.site.grants[personal_grant_id(carla)]
    assert grant.lock_ids == {LOCK_GARAGE}
    assert code in _codes(site, LOCK_GARAGE)
    assert code not in _codes(site, LOCK_FRONT)


async def test_editing_a_group_moves_its_members_codes(
    hass: HomeAssistant, site: MockConfigEntry
) -> None:
    group_id = await _add_group(hass, site, {**CLEANERS, "schedule_kind": "always"})
    result = await _add_keyholder(hass, site, {"groups": [group_id]}, {})
    code = result["description_placeholders"]["code"]
    assert code in _codes(site, LOCK_FRONT)

    result = await site.start_subentry_reconfigure_flow(hass, group_id)
    result = await _next(
        hass,
        result,
        {"name": "Cleaners", "locks": [LOCK_GARAGE], "schedule_kind": "always"},
    )
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert code in _codes(site, LOCK_GARAGE)
    assert code not in _codes(site, LOCK_FRONT)


async def test_reconfigure_refused_changes_nothing(
    hass: HomeAssistant, site: MockConfigEntry
) -> None:
    await _add_keyholder(
        hass, site, {"doors": [LOCK_FRONT]}, {"key": "own", "passcode": "482917"}
    )
    carla = _ids(site, "keyholder")["Carla Cleaner"]
    result = await _next(
        hass,
        await _start(hass, site, "keyholder"),
        {"given_name": "Dora", "role": "keyholder"},
    )
    result = await _next(hass, result, {"doors": [LOCK_GARAGE]})
    result = await _next(hass, result, {"key": "own", "passcode": "482917"})
    assert result["reason"] == "keyholder_added"

    # Carla's code on the garage would meet Dora's: refused, nothing changed.
    result = await site.start_subentry_reconfigure_flow(hass, carla)
    result = await _next(hass, result, {**CARLA, "family_name": "Moved"})
    result = await _next(hass, result, {"doors": [LOCK_FRONT, LOCK_GARAGE]})
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "access_code_taken"}
    assert result["description_placeholders"]["lock"] == "Garage"
    await hass.async_block_till_done()
    assert site.subentries[carla].title == "Carla Cleaner"
    grant = site.runtime_data.site.grants[personal_grant_id(carla)]
    assert grant.lock_ids == {LOCK_FRONT}


async def test_cleaners_scenario_status_calendar_and_a_group_moved(
    hass: HomeAssistant, site: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    """The new user's path: Cleaners, Anna through the flow, then 10:00-13:00."""
    freezer.move_to(MONDAY.replace(hour=8))
    group_id = await _add_group(hass, site, CLEANERS)
    result = await _next(
        hass,
        await _start(hass, site, "keyholder"),
        {"given_name": "Anna", "role": "keyholder"},
    )
    result = await _next(hass, result, {"groups": [group_id]})
    result = await _next(hass, result, {})
    await hass.async_block_till_done()
    code = result["description_placeholders"]["code"]
    assert hass.states.get("sensor.anna_status").state == "outside_schedule"
    await move_to(hass, freezer, MONDAY.replace(hour=9))
    assert hass.states.get("sensor.anna_status").state == "active"
    assert code in _codes(site, LOCK_FRONT)

    events = await hass.services.async_call(
        "calendar",
        "get_events",
        {
            "entity_id": "calendar.home_access",
            "start_date_time": MONDAY.replace(hour=0),
            "end_date_time": MONDAY.replace(hour=0) + timedelta(days=7),
        },
        blocking=True,
        return_response=True,
    )
    shown = [
        (e["summary"], e["start"], e["end"])
        for e in events["calendar.home_access"]["events"]
    ]
    assert shown == [
        (
            "Cleaners — Anna — Front door",
            "2026-11-30T09:00:00+01:00",
            "2026-11-30T12:00:00+01:00",
        ),
        (
            "Cleaners — Anna — Front door",
            "2026-12-04T09:00:00+01:00",
            "2026-12-04T12:00:00+01:00",
        ),
    ]

    # The group moves to 10:00-13:00: at 9:30 Anna's code is off the door.
    await move_to(hass, freezer, MONDAY.replace(hour=9, minute=30))
    result = await site.start_subentry_reconfigure_flow(hass, group_id)
    result = await _next(
        hass, result, {**CLEANERS, "start_time": "10:00:00", "end_time": "13:00:00"}
    )
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert code not in _codes(site, LOCK_FRONT)
    assert hass.states.get("sensor.anna_status").state == "outside_schedule"
    await move_to(hass, freezer, MONDAY.replace(hour=12, minute=30))
    assert code in _codes(site, LOCK_FRONT)
    assert hass.states.get("sensor.anna_status").state == "active"
