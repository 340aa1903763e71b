"""Guests from a booking calendar: Home Assistant's local calendar drives keys."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.calendar import DATA_COMPONENT
from homeassistant.components.notify import NotifyEntity
from homeassistant.components.notify.const import DATA_COMPONENT as NOTIFY_COMPONENT
from homeassistant.config_entries import ConfigSubentry
from homeassistant.const import EVENT_CALL_SERVICE
from homeassistant.core import Event, HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.keyholder.const import DOMAIN
from custom_components.keyholder.diagnostics import (
    async_get_config_entry_diagnostics,
)
from custom_components.keyholder.model.values import Key
from custom_components.keyholder.sources.bookings import guest_keys as guest_keys_module
from custom_components.keyholder.sources.bookings.events import (
    event_id,
    match_moved,
    parse_events,
)
from custom_components.keyholder.sources.bookings.watcher import UPDATE_INTERVAL
from custom_components.keyholder.storage.store import BookingRecord, KeyholderStore

from .conftest import LOCK_FRONT, LOCK_GARAGE, OWNER
from .helpers import issue, move_to

type Sent = list[dict[str, str | None]]
BERLIN = ZoneInfo("Europe/Berlin")
# Monday 30 November 2026, 9:00.
MONDAY = datetime(2026, 11, 30, 9, 0, tzinfo=BERLIN)
START = datetime(2026, 12, 2, 15, 0, tzinfo=BERLIN)  # Wednesday 15:00
END = datetime(2026, 12, 4, 11, 0, tzinfo=BERLIN)  # Friday 11:00
GRACE = timedelta(minutes=30)
SECOND = timedelta(seconds=1)
BOOKING = "booking_bookings"
CALENDAR = "calendar.bookings"
NOTIFY = "notify.guests"


def add_booking(hass: HomeAssistant, entry: MockConfigEntry, **data: Any) -> None:
    """Bind the Bookings calendar to the site (before the site is set up)."""
    hass.config_entries.async_add_subentry(
        entry,
        ConfigSubentry(
            data=MappingProxyType(
                {
                    "calendar_entity": CALENDAR,
                    "locks": [LOCK_FRONT, LOCK_GARAGE],
                    "grace_minutes": 30,
                    "notify_entity": NOTIFY,
                }
                | {k: v for k, v in data.items() if v is not None}
            ),
            subentry_id=BOOKING,
            subentry_type="booking",
            title="Bookings",
            unique_id=None,
        ),
    )


@pytest.fixture
async def calendar(
    hass: HomeAssistant,
    tmp_path: Path,
    freezer: FrozenDateTimeFactory,
    berlin: None,
) -> MockConfigEntry:
    """Home Assistant's local calendar "Bookings", empty, on Monday morning."""
    return await setup_calendar(hass, tmp_path, freezer)


async def setup_calendar(
    hass: HomeAssistant, tmp_path: Path, freezer: FrozenDateTimeFactory
) -> MockConfigEntry:
    freezer.move_to(MONDAY)
    hass.config.config_dir = str(tmp_path)
    (tmp_path / ".storage").mkdir(exist_ok=True)
    entry = MockConfigEntry(domain="local_calendar", data={"calendar_name": "Bookings"})
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


class GuestNotify(NotifyEntity):
    """A notify entity that keeps what it was asked to send."""

    _attr_name = "Guests"

    def __init__(self) -> None:
        self.messages: list[dict[str, str | None]] = []
        self.entity_id = NOTIFY

    async def async_send_message(self, message: str, title: str | None = None) -> None:
        self.messages.append({"message": message, "title": title})


async def add_notify_entity(hass: HomeAssistant) -> list[dict[str, str | None]]:
    assert await async_setup_component(hass, "notify", {})
    entity = GuestNotify()
    await hass.data[NOTIFY_COMPONENT].async_add_entities([entity])
    return entity.messages


@pytest.fixture
async def sent(hass: HomeAssistant) -> list[dict[str, str | None]]:
    """The messages the guests' notify entity sent."""
    return await add_notify_entity(hass)


@pytest.fixture
async def site(
    hass: HomeAssistant,
    calendar: MockConfigEntry,
    sent: Sent,
    site_entry: MockConfigEntry,
) -> MockConfigEntry:
    """The site with its booking calendar bound to both doors."""
    site_entry.add_to_hass(hass)
    add_booking(hass, site_entry)
    assert await hass.config_entries.async_setup(site_entry.entry_id)
    await hass.async_block_till_done()
    return site_entry


def codes(entry: MockConfigEntry, lock_id: str = LOCK_FRONT) -> set[str]:
    return set(entry.runtime_data.locks[lock_id].provider.codes.values())


def guest_keys(entry: MockConfigEntry) -> list[Key]:
    keys: list[Key] = entry.runtime_data.site.keys_of(BOOKING)
    return keys


async def create_event(
    hass: HomeAssistant,
    summary: str = "Smith",
    start: datetime = START,
    end: datetime = END,
) -> None:
    await hass.services.async_call(
        "calendar",
        "create_event",
        {
            "entity_id": CALENDAR,
            "summary": summary,
            "start_date_time": start.isoformat(),
            "end_date_time": end.isoformat(),
        },
        blocking=True,
    )
    await hass.async_block_till_done()


async def event_uid(hass: HomeAssistant, summary: str = "Smith") -> str:
    entity = hass.data[DATA_COMPONENT].get_entity(CALENDAR)
    assert entity is not None
    events = await entity.async_get_events(
        hass, MONDAY - timedelta(days=30), MONDAY + timedelta(days=60)
    )
    (uid,) = [event.uid for event in events if event.summary == summary]
    assert uid is not None
    return uid


async def edit_event(
    hass: HomeAssistant, start: datetime, end: datetime, summary: str = "Smith"
) -> None:
    """Move an event, as the calendar card's edit dialog does."""
    entity: Any = hass.data[DATA_COMPONENT].get_entity(CALENDAR)
    await entity.async_update_event(
        await event_uid(hass, summary),
        {"summary": summary, "dtstart": start, "dtend": end},
    )
    await hass.async_block_till_done()


async def delete_event(hass: HomeAssistant, summary: str = "Smith") -> None:
    entity: Any = hass.data[DATA_COMPONENT].get_entity(CALENDAR)
    await entity.async_delete_event(await event_uid(hass, summary))
    await hass.async_block_till_done()


def logged(caplog: pytest.LogCaptureFixture) -> str:
    """What Home Assistant and Keyholder logged (not the test harness's storage)."""
    return "\n".join(
        record.getMessage()
        for record in caplog.records
        if not record.name.startswith("pytest_homeassistant_custom_component")
    )


def the_code(sent: Sent) -> str:
    """Return the code in the last message (the only one, unless more are due)."""
    call = sent[-1]
    words = call["message"].split()
    code = words[words.index("is") + 1].rstrip(".")
    assert code.isdigit()
    return code


async def test_guest_key_follows_the_stay_to_the_second(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    site: MockConfigEntry,
    sent: Sent,
) -> None:
    actions: list[Event] = []
    hass.bus.async_listen(EVENT_CALL_SERVICE, actions.append)
    await create_event(hass)

    # The calendar's state changed: the guest has a key and the code went out.
    (key,) = guest_keys(site)
    assert key.name == "Smith"
    assert key.lock_ids == {LOCK_FRONT, LOCK_GARAGE}
    assert key.schedule.valid_from == START - GRACE
    assert key.schedule.valid_until == END + GRACE
    code = the_code(sent)
    assert code == key.secret
    (call,) = sent
    assert call["title"] == "Bookings"
    assert "Front door, Garage" in call["message"]
    assert "2026-12-02 14:30" in call["message"]
    assert "2026-12-04 11:30" in call["message"]
    assert site.runtime_data.site.keyholders[BOOKING].name == "Bookings"
    # Not through an action call: its data would be in the recorded event.
    assert actions
    assert all(code not in str(event.data) for event in actions)
    assert hass.states.get(NOTIFY).state != "unknown"  # the entity noted it

    for at, on_locks in (
        (START - GRACE - SECOND, False),
        (START - GRACE, True),
        (END + GRACE - SECOND, True),
        (END + GRACE, False),
    ):
        await move_to(hass, freezer, at)
        for lock_id in (LOCK_FRONT, LOCK_GARAGE):
            assert (code in codes(site, lock_id)) is on_locks, (at, lock_id)

    # Read again every 15 minutes: the stay is over, so the guest's key is gone
    # (a rental's past guests do not pile up), and the code was sent only once.
    await move_to(hass, freezer, END + GRACE + UPDATE_INTERVAL)
    assert guest_keys(site) == []
    assert site.runtime_data.data.bookings[BOOKING] == {}
    assert len(sent) == 1


async def test_new_events_are_read_every_15_minutes(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    site: MockConfigEntry,
    sent: Sent,
) -> None:
    await create_event(hass)
    # A later stay does not change the calendar's state (it shows the next one).
    state = hass.states.get(CALENDAR)
    later = START + timedelta(days=7)
    await create_event(hass, "Jones", later, later + timedelta(days=2))
    assert hass.states.get(CALENDAR) == state
    assert [key.name for key in guest_keys(site)] == ["Smith"]

    await move_to(hass, freezer, MONDAY + UPDATE_INTERVAL)
    assert sorted(key.name for key in guest_keys(site)) == ["Jones", "Smith"]
    assert len(sent) == 2
    codes_sent = {call["message"].split()[0] for call in sent}
    assert codes_sent == {"Smith:", "Jones:"}


async def test_moved_event_moves_the_key(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    site: MockConfigEntry,
    sent: Sent,
) -> None:
    await create_event(hass)
    (key,) = guest_keys(site)
    code = the_code(sent)

    # One day later: the same key with new validity, but a new code, sent
    # again (without event ids this may be another guest's booking).
    new_start, new_end = START + timedelta(days=1), END + timedelta(days=1)
    await edit_event(hass, new_start, new_end)
    (moved,) = guest_keys(site)
    assert moved.id == key.id
    assert moved.secret != code
    assert moved.schedule.valid_from == new_start - GRACE
    assert moved.schedule.valid_until == new_end + GRACE
    assert len(sent) == 2
    old_code, code = code, the_code(sent)
    assert code == moved.secret

    await move_to(hass, freezer, START)  # the old start: not yet
    assert code not in codes(site)
    await move_to(hass, freezer, new_start - GRACE)
    assert code in codes(site)
    assert old_code not in codes(site)

    # Checking out earlier (only the end moves) takes the code off earlier.
    await edit_event(hass, new_start, new_end - timedelta(hours=2))
    (moved,) = guest_keys(site)
    assert moved.id == key.id
    await move_to(hass, freezer, new_end - timedelta(hours=2) + GRACE - SECOND)
    assert code in codes(site)
    await move_to(hass, freezer, new_end - timedelta(hours=2) + GRACE)
    assert code not in codes(site)
    assert len(sent) == 2  # only the end moved: same code, no new message


async def test_deleted_event_cancels_the_key(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    site: MockConfigEntry,
    sent: Sent,
) -> None:
    await create_event(hass)
    (key,) = guest_keys(site)
    code = the_code(sent)
    await move_to(hass, freezer, START)
    assert code in codes(site)
    assert code in codes(site, LOCK_GARAGE)

    await delete_event(hass)
    (cancelled,) = guest_keys(site)
    assert cancelled.id == key.id
    assert cancelled.cancelled
    assert code not in codes(site)
    assert code not in codes(site, LOCK_GARAGE)
    assert site.runtime_data.data.bookings[BOOKING] == {}

    # Shown as cancelled until the stay would have ended, then removed.
    await move_to(hass, freezer, END + GRACE + UPDATE_INTERVAL)
    assert guest_keys(site) == []
    assert len(sent) == 1


async def test_restart_keeps_which_event_has_which_key(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    site: MockConfigEntry,
    sent: Sent,
    hass_storage: dict[str, Any],
) -> None:
    await create_event(hass)
    (key,) = guest_keys(site)
    stored = hass_storage[f"{DOMAIN}.{site.entry_id}"]["data"]["bookings"][BOOKING]
    (record,) = stored.values()
    assert record["key_id"] == key.id
    assert record["notified"] is True
    assert key.secret not in str(record)  # the code lives only in the key

    assert await hass.config_entries.async_reload(site.entry_id)
    await hass.async_block_till_done()
    assert [k.id for k in guest_keys(site)] == [key.id]
    assert len(sent) == 1  # not sent again

    # The mapping still works after the restart: moving the event moves the key.
    await edit_event(hass, START + timedelta(hours=2), END)
    (moved,) = guest_keys(site)
    assert moved.id == key.id
    assert moved.schedule.valid_from == START + timedelta(hours=2) - GRACE


async def test_unreadable_calendar_keeps_the_keys(
    hass: HomeAssistant,
    calendar: MockConfigEntry,
    site: MockConfigEntry,
    sent: Sent,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await create_event(hass)
    (key,) = guest_keys(site)
    # The calendar goes away (its state changes): not the same as no bookings.
    assert await hass.config_entries.async_unload(calendar.entry_id)
    await hass.async_block_till_done()
    await site.runtime_data.bookings.watchers[BOOKING].async_refresh()
    assert guest_keys(site) == [key]
    assert not key.cancelled
    assert key.secret not in logged(caplog)


async def test_notify_retried_until_sent_and_never_logged(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    calendar: MockConfigEntry,
    site_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Without the notify action the code is kept for later, never in the log."""
    site_entry.add_to_hass(hass)
    add_booking(hass, site_entry)
    assert await hass.config_entries.async_setup(site_entry.entry_id)
    await hass.async_block_till_done()
    await create_event(hass)
    (key,) = guest_keys(site_entry)
    assert key.secret not in logged(caplog)
    assert "Could not send the code of Smith" in logged(caplog)

    sent = await add_notify_entity(hass)
    await move_to(hass, freezer, MONDAY + UPDATE_INTERVAL)
    assert len(sent) == 1
    assert key.secret in sent[0]["message"]
    await move_to(hass, freezer, MONDAY + 2 * UPDATE_INTERVAL)
    assert len(sent) == 1


def booking_id(entry: MockConfigEntry) -> str:
    (sid,) = [
        s for s, sub in entry.subentries.items() if sub.subentry_type == "booking"
    ]
    return sid


# -- the subentry flow ----------------------------------------------------------


async def _start(hass: HomeAssistant, entry: MockConfigEntry) -> Any:
    return await hass.config_entries.subentries.async_init(
        (entry.entry_id, "booking"), context={"source": "user"}
    )


async def test_flow_creates_a_booking_that_gives_keys(
    hass: HomeAssistant,
    calendar: MockConfigEntry,
    sent: Sent,
    loaded_site: MockConfigEntry,
) -> None:
    result = await _start(hass, loaded_site)
    assert result["type"] is FlowResultType.FORM
    # The site's grace time is the default.
    schema = result["data_schema"].schema
    (grace,) = [k for k in schema if k == "grace_minutes"]
    assert grace.default() == 30
    # The doors to choose from are the site's locks.
    (locks,) = [v for k, v in schema.items() if k == "locks"]
    assert {o["value"] for o in locks.config["options"]} == {LOCK_FRONT, LOCK_GARAGE}

    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {"calendar_entity": CALENDAR, "locks": [LOCK_GARAGE], "grace_minutes": 45},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Bookings"
    assert result["data"] == {
        "calendar_entity": CALENDAR,
        "locks": [LOCK_GARAGE],
        "grace_minutes": 45,
    }
    await hass.async_block_till_done()
    new_id = booking_id(loaded_site)
    assert new_id in loaded_site.runtime_data.site.keyholders

    await create_event(hass)
    (key,) = loaded_site.runtime_data.site.keys_of(new_id)
    assert key.lock_ids == {LOCK_GARAGE}
    assert key.schedule.valid_from == START - timedelta(minutes=45)
    assert sent == []  # no notify entity chosen


async def test_flow_errors(
    hass: HomeAssistant,
    calendar: MockConfigEntry,
    loaded_site: MockConfigEntry,
) -> None:
    result = await _start(hass, loaded_site)
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {"calendar_entity": CALENDAR, "locks": [], "grace_minutes": 30},
    )
    assert result["errors"] == {"locks": "no_locks"}

    # A keyholder already has the calendar's name.
    hass.states.async_set("calendar.plumber", "off", {"friendly_name": "Plumber"})
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {"calendar_entity": "calendar.plumber", "locks": [LOCK_FRONT]},
    )
    assert result["errors"] == {"calendar_entity": "name_taken"}

    # A notify group would send the code on as a recorded action call.
    er.async_get(hass).async_get_or_create(
        "notify", "group", "guests_group", suggested_object_id="all_guests"
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {
            "calendar_entity": CALENDAR,
            "locks": [LOCK_FRONT],
            "notify_entity": "notify.all_guests",
        },
    )
    assert result["errors"] == {"notify_entity": "notify_unsafe"}

    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {"calendar_entity": CALENDAR, "locks": [LOCK_FRONT], "notify_entity": NOTIFY},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == {
        "calendar_entity": CALENDAR,
        "locks": [LOCK_FRONT],
        "grace_minutes": 30,
        "notify_entity": NOTIFY,
    }
    await hass.async_block_till_done()

    # Keyholder's own access calendar would feed on itself.
    result = await _start(hass, loaded_site)
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {"calendar_entity": "calendar.home_access", "locks": [LOCK_GARAGE]},
    )
    assert result["errors"] == {"calendar_entity": "keyholder_calendar"}

    # One calendar gives keys once per site.
    result = await _start(hass, loaded_site)
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"calendar_entity": CALENDAR, "locks": [LOCK_GARAGE]}
    )
    assert result["errors"] == {"calendar_entity": "calendar_in_use"}


async def test_flow_needs_a_lock(
    hass: HomeAssistant, calendar: MockConfigEntry
) -> None:
    entry = MockConfigEntry(domain=DOMAIN, title="Empty", data={"name": "Empty"})
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    result = await _start(hass, entry)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "no_locks"


async def test_reconfigure_moves_keys_and_removing_drops_guests(
    hass: HomeAssistant,
    site: MockConfigEntry,
    sent: Sent,
) -> None:
    await create_event(hass)
    (key,) = guest_keys(site)
    result = await site.start_subentry_reconfigure_flow(hass, BOOKING)
    assert result["type"] is FlowResultType.FORM
    # The form shows what the booking holds now.
    schema = result["data_schema"].schema
    suggested = {str(k): (k.description or {}).get("suggested_value") for k in schema}
    assert suggested["calendar_entity"] == CALENDAR
    assert suggested["grace_minutes"] == 30

    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {"calendar_entity": CALENDAR, "locks": [LOCK_FRONT], "grace_minutes": 60},
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert site.subentries[BOOKING].data == {
        "calendar_entity": CALENDAR,
        "locks": [LOCK_FRONT],
        "grace_minutes": 60,
    }
    (moved,) = guest_keys(site)
    assert (moved.id, moved.secret) == (key.id, key.secret)
    assert moved.lock_ids == {LOCK_FRONT}
    assert moved.schedule.valid_from == START - timedelta(hours=1)
    assert moved.schedule.valid_until == END + timedelta(hours=1)
    assert len(sent) == 1

    # Removing the booking removes its guests and their codes.
    assert hass.config_entries.async_remove_subentry(site, BOOKING)
    await hass.async_block_till_done()
    assert BOOKING not in site.runtime_data.site.keyholders
    assert guest_keys(site) == []
    assert BOOKING not in site.runtime_data.data.bookings


async def test_owner_untouched(site: MockConfigEntry) -> None:
    """A booking is a keyholder of its own; people are left alone."""
    keyholders = site.runtime_data.site.keyholders
    assert OWNER in keyholders
    assert keyholders[BOOKING].role.value == "keyholder"


# -- pieces -----------------------------------------------------------------------


async def test_parse_events(hass: HomeAssistant, berlin: None) -> None:
    stays = parse_events(
        [
            {"summary": " Smith ", "start": START.isoformat(), "end": END.isoformat()},
            {"summary": "Day", "start": "2026-12-05", "end": "2026-12-07"},
            {
                "summary": "Naive",
                "start": "2026-12-05T10:00:00",
                "end": "2026-12-05 12:00:00",
            },
            {"uid": "abc", "start": START.isoformat(), "end": END.isoformat()},
            {
                "summary": "Gone",
                "status": "CANCELLED",
                "start": "2026-12-05",
                "end": "2026-12-06",
            },
            {"summary": "Broken", "start": "soon", "end": "later"},
            {
                "summary": "Backwards",
                "start": END.isoformat(),
                "end": START.isoformat(),
            },
            {"summary": "No end", "start": START.isoformat()},
        ]
    )
    assert set(stays) == {
        event_id("Smith", START),
        event_id("Day", datetime(2026, 12, 5, tzinfo=BERLIN)),
        event_id("Naive", datetime(2026, 12, 5, 10, tzinfo=BERLIN)),
        "uid:abc",
    }
    day = stays[event_id("Day", datetime(2026, 12, 5, tzinfo=BERLIN))]
    assert day.start == datetime(2026, 12, 5, tzinfo=BERLIN)
    assert day.end == datetime(2026, 12, 7, tzinfo=BERLIN)
    assert stays["uid:abc"].summary == "Guest"


def test_match_moved_pairs_nearest_with_the_same_title() -> None:
    def record(summary: str, start: datetime) -> BookingRecord:
        return BookingRecord("k" + summary + start.isoformat(), summary, start, END)

    early, late = START, START + timedelta(days=10)
    gone = {
        "a": record("Reserved", early),
        "b": record("Reserved", late),
        "c": record("X", early),
    }
    new = parse_events(
        [
            {
                "summary": "Reserved",
                "start": (late + timedelta(days=1)).isoformat(),
                "end": (late + timedelta(days=3)).isoformat(),
            },
            {"summary": "Other", "start": early.isoformat(), "end": END.isoformat()},
        ]
    )
    (moved,) = match_moved(gone, new).items()
    assert moved[1] == "b"


async def test_old_store_without_bookings_loads(
    hass: HomeAssistant, hass_storage: dict[str, Any]
) -> None:
    hass_storage["keyholder.old"] = {
        "version": 1,
        "minor_version": 1,
        "key": "keyholder.old",
        "data": {"site": {}, "written": {}, "virtual": {}, "targets": {}},
    }
    data = await KeyholderStore(hass, "old").async_load()
    assert data.bookings == {}
    record = BookingRecord("key", "Smith", START, END, notified=True)
    data.bookings["b"] = {"e": record}
    await KeyholderStore(hass, "old").async_save(data)
    again = await KeyholderStore(hass, "old").async_load()
    assert again.bookings == {"b": {"e": record}}


async def test_people_cannot_take_the_bookings_name(
    hass: HomeAssistant, site: MockConfigEntry
) -> None:
    """The guests' keyholder is named after the calendar; a person may not be."""
    result = await hass.config_entries.subentries.async_init(
        (site.entry_id, "keyholder"), context={"source": "user"}
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"given_name": "bookings", "role": "keyholder"}
    )
    assert result["errors"] == {"given_name": "keyholder_exists"}
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN, "add_keyholder", {"given_name": "Bookings"}, blocking=True
        )
    assert err.value.translation_key == "keyholder_keyholder_exists"


async def test_diagnostics_count_guests_without_names(
    hass: HomeAssistant, site: MockConfigEntry
) -> None:
    await create_event(hass)
    diagnostics = await async_get_config_entry_diagnostics(hass, site)
    assert diagnostics["bookings"] == {BOOKING: {"events": 1, "notified": 1}}
    assert "Smith" not in str(diagnostics)
    (key,) = guest_keys(site)
    assert str(key.secret) not in str(diagnostics)


async def test_key_issued_before_a_crash_is_taken_back(
    hass: HomeAssistant, site: MockConfigEntry, sent: Sent
) -> None:
    """A key saved without its record (crash in between) is not doubled."""
    await create_event(hass)
    (key,) = guest_keys(site)
    site.runtime_data.data.bookings[BOOKING].clear()
    await site.runtime_data.async_save()
    assert await hass.config_entries.async_reload(site.entry_id)
    await hass.async_block_till_done()
    assert [k.id for k in guest_keys(site)] == [key.id]
    (record,) = site.runtime_data.data.bookings[BOOKING].values()
    assert record.key_id == key.id
    # Its code had not gone out as far as the records know: it goes now.
    assert len(sent) == 2
    assert str(key.secret) in sent[1]["message"]


async def test_code_taken_on_a_new_door_gets_a_new_code(
    hass: HomeAssistant,
    calendar: MockConfigEntry,
    sent: Sent,
    site_entry: MockConfigEntry,
) -> None:
    site_entry.add_to_hass(hass)
    add_booking(hass, site_entry, locks=[LOCK_FRONT])
    assert await hass.config_entries.async_setup(site_entry.entry_id)
    await hass.async_block_till_done()
    await create_event(hass)
    (key,) = guest_keys(site_entry)
    # The plumber happens to have the same code on the garage.
    await issue(hass, locks=["Garage"], passcode=key.secret)

    result = await site_entry.start_subentry_reconfigure_flow(hass, BOOKING)
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {
            "calendar_entity": CALENDAR,
            "locks": [LOCK_FRONT, LOCK_GARAGE],
            "grace_minutes": 30,
            "notify_entity": NOTIFY,
        },
    )
    await hass.async_block_till_done()
    (moved,) = guest_keys(site_entry)
    assert moved.id == key.id
    assert moved.lock_ids == {LOCK_FRONT, LOCK_GARAGE}
    assert moved.secret != key.secret
    # The guest is told the new code.
    assert len(sent) == 2
    assert str(moved.secret) in sent[1]["message"]


async def test_cancelled_guest_stays_cancelled(
    hass: HomeAssistant, site: MockConfigEntry, sent: Sent
) -> None:
    await create_event(hass)
    (key,) = guest_keys(site)
    await hass.services.async_call(
        DOMAIN, "cancel_key", {"key_id": key.id}, blocking=True
    )
    # The calendar is read again (a later booking shows as the next event).
    await edit_event(hass, START, END + timedelta(hours=1))
    (key,) = guest_keys(site)
    assert key.cancelled
    await delete_event(hass)
    (key,) = guest_keys(site)
    assert key.cancelled
    assert len(sent) == 1


async def test_site_grace_time_and_locks_removed(
    hass: HomeAssistant,
    calendar: MockConfigEntry,
    sent: Sent,
    site_entry: MockConfigEntry,
) -> None:
    """A booking without its own grace time uses the site's; gone doors drop out."""
    site_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        site_entry, options={"passcode_length": 6, "booking_grace_minutes": 20}
    )
    add_booking(hass, site_entry, grace_minutes=None, locks=["lock_gone"])
    assert await hass.config_entries.async_setup(site_entry.entry_id)
    await hass.async_block_till_done()
    await create_event(hass)
    assert guest_keys(site_entry) == []  # no door to open

    result = await site_entry.start_subentry_reconfigure_flow(hass, BOOKING)
    # The form offers the site's grace time.
    assert (
        result["data_schema"]({"calendar_entity": CALENDAR, "locks": [LOCK_FRONT]})[
            "grace_minutes"
        ]
        == 20
    )
    hass.config_entries.async_update_subentry(
        site_entry,
        site_entry.subentries[BOOKING],
        data={"calendar_entity": CALENDAR, "locks": [LOCK_FRONT, "lock_gone"]},
    )
    await hass.async_block_till_done()
    (key,) = guest_keys(site_entry)
    assert key.lock_ids == {LOCK_FRONT}
    assert key.schedule.valid_from == START - timedelta(minutes=20)


async def test_calendar_set_up_after_the_site(
    hass: HomeAssistant,
    tmp_path: Path,
    freezer: FrozenDateTimeFactory,
    berlin: None,
    sent: Sent,
    site_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """At start the calendar may come later: it is read once it is there."""
    freezer.move_to(MONDAY)
    site_entry.add_to_hass(hass)
    add_booking(hass, site_entry)
    assert await hass.config_entries.async_setup(site_entry.entry_id)
    await hass.async_block_till_done()
    assert "Could not read" not in logged(caplog)

    await setup_calendar(hass, tmp_path, freezer)
    await create_event(hass)
    (key,) = guest_keys(site_entry)
    assert key.name == "Smith"


async def test_a_stay_that_cannot_get_a_key_holds_up_no_other(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    site: MockConfigEntry,
    sent: Sent,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    issue_key = guest_keys_module.async_issue_key
    refusing = [True]

    async def refuse_jones(runtime: Any, **kwargs: Any) -> Any:
        if kwargs.get("name") == "Jones" and refusing[0]:
            raise ServiceValidationError("no room")
        return await issue_key(runtime, **kwargs)

    monkeypatch.setattr(guest_keys_module, "async_issue_key", refuse_jones)
    await create_event(hass, "Jones", START, END)
    await create_event(
        hass, "Smith", START + timedelta(days=3), END + timedelta(days=3)
    )
    await move_to(hass, freezer, MONDAY + UPDATE_INTERVAL)  # both read now
    # Smith got a key although Jones could not.
    assert [key.name for key in guest_keys(site)] == ["Smith"]
    # Jones is tried again at the next read.
    refusing[0] = False
    await move_to(hass, freezer, MONDAY + 2 * UPDATE_INTERVAL)
    assert sorted(key.name for key in guest_keys(site)) == ["Jones", "Smith"]
