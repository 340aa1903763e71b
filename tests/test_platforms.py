"""Entities, calendar, logbook, diagnostics and the repair flow."""

from __future__ import annotations

from datetime import datetime, timedelta
from unittest.mock import patch
from uuid import UUID
from zoneinfo import ZoneInfo

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.repairs import RepairsFlowManager
from homeassistant.core import Event, HomeAssistant, State, callback
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import entity_registry as er, issue_registry as ir
from homeassistant.helpers.event import async_track_state_change_event
from homeassistant.setup import async_setup_component
from homeassistant.util.async_ import get_scheduled_timer_handles
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
    mock_restore_cache,
    snapshot_platform,
)
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from syrupy.assertion import SnapshotAssertion
from syrupy.filters import props

from custom_components.keyholder import PLATFORMS
from custom_components.keyholder.const import DOMAIN, EVENT_ACCESS
from custom_components.keyholder.logbook import async_describe_events

from .conftest import LOCK_FRONT
from .helpers import issue, move_to

BERLIN = ZoneInfo("Europe/Berlin")
WEDNESDAY = datetime(2026, 12, 2, 9, 0, tzinfo=BERLIN)


@pytest.fixture
def platforms() -> list[str] | None:
    """The platforms to set up (all by default)."""
    return None


@pytest.fixture
async def plumber_site(
    hass: HomeAssistant,
    platforms: list[str] | None,
    freezer: FrozenDateTimeFactory,
    berlin: None,
    enable_custom_integrations: None,
    site_entry: MockConfigEntry,
) -> MockConfigEntry:
    """The site on a Wednesday, with the plumber's Thursday key."""
    freezer.move_to(WEDNESDAY)
    site_entry.add_to_hass(hass)
    with patch("custom_components.keyholder.PLATFORMS", platforms or PLATFORMS):
        assert await hass.config_entries.async_setup(site_entry.entry_id)
        await hass.async_block_till_done()
    with patch(
        "custom_components.keyholder.access.keys.uuid.uuid4", return_value=UUID(int=7)
    ):
        await hass.services.async_call(
            DOMAIN,
            "issue_key",
            {
                "keyholder": "Plumber",
                "locks": ["Front door"],
                "weekdays": ["thu"],
                "start_time": "13:00",
                "end_time": "17:00",
                "valid_until": "2026-12-11T00:00:00",
                "passcode": "2468",
            },
            blocking=True,
            return_response=True,
        )
    return site_entry


@pytest.mark.parametrize("platforms", [[p] for p in PLATFORMS])
async def test_entities(
    hass: HomeAssistant,
    plumber_site: MockConfigEntry,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
) -> None:
    await snapshot_platform(hass, entity_registry, snapshot, plumber_site.entry_id)


async def test_at_most_three_entities_per_keyholder(
    hass: HomeAssistant,
    plumber_site: MockConfigEntry,
    entity_registry: er.EntityRegistry,
) -> None:
    entries = er.async_entries_for_config_entry(entity_registry, plumber_site.entry_id)
    per_keyholder = [e for e in entries if e.config_subentry_id == "kh_plumber"]
    assert sorted(e.entity_id for e in per_keyholder) == [
        "sensor.plumber_status",
        "switch.plumber_access",
    ]


async def test_status_sensor_of_a_person_without_a_working_key(
    hass: HomeAssistant, loaded_site: MockConfigEntry
) -> None:
    """No key, a cancelled key or a used-up key never shows *Active* or *Expired*."""

    def status() -> str:
        return hass.states.get("sensor.plumber_status").state

    assert status() == "no_key"
    key_id = (await issue(hass))["key_id"]
    assert status() == "active"
    await hass.services.async_call(
        DOMAIN, "cancel_key", {"key_id": key_id}, blocking=True
    )
    assert status() == "no_key"
    code = (await issue(hass, uses=1))["passcode"]
    assert status() == "active"
    await hass.services.async_call(
        "lock", "unlock", {"entity_id": "lock.front_door", "code": code}, blocking=True
    )
    await hass.async_block_till_done()
    assert status() == "used_up"


async def test_last_unlock_survives_a_restart(
    hass: HomeAssistant, enable_custom_integrations: None, site_entry: MockConfigEntry
) -> None:
    """The door's event entity keeps who last unlocked it across a restart."""
    last = {
        "event_type": "denied",
        "last_unlocked": "2026-12-01T12:00:00.000+00:00",
        "last_unlocked_by": "Plumber",
    }
    mock_restore_cache(
        hass, [State("event.front_door_access", "2026-12-01T12:00:05.000+00:00", last)]
    )
    site_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(site_entry.entry_id)
    await hass.async_block_till_done()
    state = hass.states.get("event.front_door_access")
    assert state.attributes["last_unlocked"] == last["last_unlocked"]
    assert state.attributes["last_unlocked_by"] == "Plumber"
    garage = hass.states.get("event.garage_access")
    assert garage.attributes["last_unlocked"] is None


async def test_diagnostics(
    hass: HomeAssistant,
    plumber_site: MockConfigEntry,
    hass_client: ClientSessionGenerator,
    snapshot: SnapshotAssertion,
) -> None:
    result = await get_diagnostics_for_config_entry(hass, hass_client, plumber_site)
    assert "2468" not in repr(result)
    assert result == snapshot(exclude=props("created_at", "modified_at", "entry_id"))


async def test_calendar_shows_windows(
    hass: HomeAssistant, plumber_site: MockConfigEntry
) -> None:
    state = hass.states.get("calendar.home_access")
    assert state.attributes["message"] == "Plumber — Front door"
    assert state.attributes["start_time"] == "2026-12-03 13:00:00"
    result = await hass.services.async_call(
        "calendar",
        "get_events",
        {
            "entity_id": "calendar.home_access",
            "start_date_time": WEDNESDAY.isoformat(),
            "end_date_time": (WEDNESDAY + timedelta(days=14)).isoformat(),
        },
        blocking=True,
        return_response=True,
    )
    events = result["calendar.home_access"]["events"]
    # Two Thursdays before valid_until (11 December).
    assert [(e["start"], e["end"]) for e in events] == [
        ("2026-12-03T13:00:00+01:00", "2026-12-03T17:00:00+01:00"),
        ("2026-12-10T13:00:00+01:00", "2026-12-10T17:00:00+01:00"),
    ]
    assert {e["summary"] for e in events} == {"Plumber — Front door"}
    # Blocked people have no access windows.
    await hass.services.async_call(
        DOMAIN, "block_user", {"keyholder": "Plumber"}, blocking=True
    )
    assert hass.states.get("calendar.home_access").state == "off"
    assert hass.states.get("calendar.home_access").attributes.get("message") is None


async def test_calendar_during_a_window(
    hass: HomeAssistant, plumber_site: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    writes: list[str] = []
    async_track_state_change_event(
        hass,
        "calendar.home_access",
        callback(lambda event: writes.append(event.data["new_state"].state)),
    )
    await move_to(hass, freezer, WEDNESDAY.replace(day=3, hour=15))
    state = hass.states.get("calendar.home_access")
    assert state.state == "on"
    # The state is kept right by the site's transition timer alone: the
    # calendar platform's own alarm for the window's end is not armed.
    window_end = WEDNESDAY.replace(day=3, hour=17).timestamp()
    due_at_end = [
        repr(handle)
        for handle in get_scheduled_timer_handles(hass.loop)
        if not handle.cancelled() and handle.when() == window_end
    ]
    assert len(due_at_end) == 1, due_at_end
    assert "KeyholderRuntime._async_on_transition" in due_at_end[0]
    # The window's own start, not the moment the state was written.
    assert state.attributes["start_time"] == "2026-12-03 13:00:00"
    assert state.attributes["end_time"] == "2026-12-03 17:00:00"
    # Idle inside the window: nothing is written again (no alarm loop).
    for minute in (1, 30, 90):
        await move_to(
            hass,
            freezer,
            WEDNESDAY.replace(day=3, hour=15, minute=0) + timedelta(minutes=minute),
        )
    assert writes == ["on"]
    await move_to(hass, freezer, WEDNESDAY.replace(day=3, hour=17))
    state = hass.states.get("calendar.home_access")
    assert state.state == "off"
    assert state.attributes["start_time"] == "2026-12-10 13:00:00"
    assert writes == ["on", "off"]


async def test_logbook_lines(hass: HomeAssistant) -> None:
    described = {}

    def register(domain: str, event_type: str, describe) -> None:
        described[(domain, event_type)] = describe

    async_describe_events(hass, register)
    describe = described[(DOMAIN, EVENT_ACCESS)]
    unlocked = describe(
        Event(
            EVENT_ACCESS,
            {
                "lock": "Front door",
                "result": "unlocked",
                "method": "passcode",
                "keyholder": "Plumber",
            },
        )
    )
    assert unlocked == {
        "name": "Plumber",
        "message": "unlocked Front door with a passcode",
    }
    denied = describe(
        Event(
            EVENT_ACCESS,
            {"lock": "Front door", "result": "denied", "method": "passcode"},
        )
    )
    assert denied == {
        "name": "Front door",
        "message": "refused a passcode that does not open it now",
    }
    locked_out = describe(
        Event(
            EVENT_ACCESS,
            {"lock": "Front door", "result": "locked_out", "method": "passcode"},
        )
    )
    assert locked_out == {
        "name": "Front door",
        "message": "refused a passcode: locked out after too many wrong codes",
    }


async def test_repair_flow(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    plumber_site: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
) -> None:
    assert await async_setup_component(hass, "repairs", {})
    await hass.services.async_call(
        DOMAIN,
        "set_lock_online",
        {"entity_id": "lock.front_door", "online": False},
        blocking=True,
    )
    status = plumber_site.runtime_data.lock_status[LOCK_FRONT]
    while status.failures < 3:
        freezer.move_to(status.next_retry)
        async_fire_time_changed(hass, status.next_retry)
        await hass.async_block_till_done()
    issue_id = f"lock_unreachable_{LOCK_FRONT}"
    issue = issue_registry.async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.translation_placeholders == {
        "lock": "Front door",
        "error": "lock_offline",
    }

    flows: RepairsFlowManager = hass.data["repairs"]["flow_manager"]
    result = await flows.async_init(DOMAIN, data={"issue_id": issue_id})
    assert result["type"] is FlowResultType.FORM
    assert result["description_placeholders"] == {
        "lock": "Front door",
        "error": "lock_offline",
    }
    result = await flows.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "still_failing"

    plumber_site.runtime_data.locks[LOCK_FRONT].provider.online = True
    result = await flows.async_init(DOMAIN, data={"issue_id": issue_id})
    result = await flows.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None
    assert hass.states.get("sensor.front_door_sync").state == "in_sync"
