"""
Guests from booking calendars: each event of a bound calendar is a guest's key.

A booking subentry binds a Home Assistant calendar entity (a local calendar, the
iCal feed of a rental platform...) to some of the site's locks. The booking is
one keyholder, its guests; every event in the calendar becomes one passcode key
of that keyholder, named after the event and valid from its start minus the
grace time until its end plus the grace time. A moved event moves its key (same
passcode), a deleted event cancels it, and keys of stays that are over are
removed, so a busy rental does not pile up guests. Which event holds which key is
kept in the site's store (``SiteData.bookings``).

The passcode goes once to the booking's notify entity, through the entity's
own handler of ``notify.send_message`` (never as an action call, whose data
Home Assistant records). Events are read with the ``calendar.get_events`` action, over a bounded window,
whenever the calendar entity's state changes and every :data:`UPDATE_INTERVAL`
(a remote calendar's state does not change when a future booking is added).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers.event import (
    async_track_state_change_event,
    async_track_time_interval,
)
from homeassistant.util import dt as dt_util

from .const import (
    CONF_CALENDAR,
    CONF_GRACE,
    CONF_GRACE_MINUTES,
    CONF_LOCKS,
    CONF_NOTIFY,
    CONF_PASSCODE_LENGTH,
    DEFAULT_GRACE_MINUTES,
    DEFAULT_PASSCODE_LENGTH,
    LOGGER,
    SUBENTRY_BOOKING,
    site_setting,
)
from .engine.model import Key, KeyKind, Schedule
from .keys import (
    async_cancel_key,
    async_issue_key,
    async_new_passcode,
    async_remove_key,
    async_reschedule_key,
)
from .notify_targets import notify_entity
from .runtime import KeyholderConfigEntry, KeyholderRuntime
from .store import BookingRecord

UPDATE_INTERVAL = timedelta(minutes=15)
"""How often a calendar is read even if its state did not change."""
LOOKAHEAD = timedelta(days=30)
"""Events starting later than this get their key (and message) later."""
DEFAULT_SUMMARY = "Guest"


@dataclass(frozen=True, slots=True)
class BookingConfig:
    """What a booking subentry says."""

    title: str
    calendar: str
    locks: tuple[str, ...]
    grace: timedelta
    notify: str | None


@dataclass(frozen=True, slots=True)
class CalendarStay:
    """One event of a booking calendar, in UTC."""

    event_id: str
    summary: str
    start: datetime
    end: datetime


def booking_config(entry: KeyholderConfigEntry, subentry_id: str) -> BookingConfig:
    """Return the settings of one booking subentry."""
    sub = entry.subentries[subentry_id]
    grace = sub.data.get(CONF_GRACE)
    if grace is None:
        grace = site_setting(entry, CONF_GRACE_MINUTES, DEFAULT_GRACE_MINUTES)
    return BookingConfig(
        title=sub.title,
        calendar=sub.data[CONF_CALENDAR],
        locks=tuple(sorted(sub.data.get(CONF_LOCKS, ()))),
        grace=timedelta(minutes=int(grace)),
        notify=sub.data.get(CONF_NOTIFY) or None,
    )


def event_id(summary: str, start: datetime, uid: str | None = None) -> str:
    """
    Return how an event is known: its uid when the calendar gives one.

    Otherwise its title and start; a moved event is then recognised by its
    title (see :func:`match_moved`).
    """
    if uid:
        return f"uid:{uid}"
    return f"{summary}@{dt_util.as_utc(start).isoformat()}"


def _instant(value: Any) -> datetime:
    """Return an event's start or end in UTC (a day starts at local midnight)."""
    text = str(value)
    if "T" not in text and " " not in text:
        return dt_util.as_utc(dt_util.start_of_local_day(date.fromisoformat(text)))
    parsed = dt_util.parse_datetime(text, raise_on_error=True)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt_util.get_default_time_zone())
    return dt_util.as_utc(parsed)


def parse_events(raw: Any) -> dict[str, CalendarStay]:
    """Return the stays in a ``calendar.get_events`` answer, by event id."""
    stays: dict[str, CalendarStay] = {}
    for event in raw:
        if str(event.get("status") or "").upper() == "CANCELLED":
            continue
        summary = str(event.get("summary") or "").strip() or DEFAULT_SUMMARY
        try:
            start, end = _instant(event["start"]), _instant(event["end"])
        except KeyError, TypeError, ValueError:
            LOGGER.debug("Skipped a calendar event without a usable start or end")
            continue
        if end <= start:
            continue
        ident = event_id(summary, start, event.get("uid"))
        stays[ident] = CalendarStay(ident, summary, start, end)
    return stays


def match_moved(
    gone: Mapping[str, BookingRecord], new: Mapping[str, CalendarStay]
) -> dict[str, str]:
    """
    Pair events that disappeared with new ones of the same title: moved events.

    Each gone event goes to the new event with its title whose start is nearest.
    Returns new event id -> gone event id.
    """
    pairs: dict[str, str] = {}
    left = dict(gone)
    for new_id, stay in sorted(new.items(), key=lambda item: item[1].start):
        candidates = [
            (abs(record.start - stay.start), old_id)
            for old_id, record in left.items()
            if record.summary == stay.summary
        ]
        if candidates:
            _, old_id = min(candidates)
            pairs[new_id] = old_id
            del left[old_id]
    return pairs


class Bookings:
    """The booking calendars of a site: one watcher per booking subentry."""

    def __init__(self, hass: HomeAssistant, entry: KeyholderConfigEntry) -> None:
        """Create the bookings of a site (nothing is read until async_sync)."""
        self._hass = hass
        self._entry = entry
        self._watchers: dict[str, BookingWatcher] = {}
        self._closed = False
        self._sync_guard = asyncio.Lock()

    @property
    def watchers(self) -> Mapping[str, BookingWatcher]:
        """Return the running watchers by booking id."""
        return self._watchers

    async def async_sync(self) -> None:
        """Start, restart or stop watchers to match the booking subentries."""
        async with self._sync_guard:
            await self._async_sync()

    async def _async_sync(self) -> None:
        if self._closed:
            return
        runtime = self._entry.runtime_data
        wanted = {
            sid: booking_config(self._entry, sid)
            for sid, sub in self._entry.subentries.items()
            if sub.subentry_type == SUBENTRY_BOOKING
        }
        for gone in set(self._watchers) - set(wanted):
            await self._watchers.pop(gone).async_stop()
        forgotten = set(runtime.data.bookings) - set(wanted)
        for gone in forgotten:
            # The keyholder and its keys left with the subentry.
            del runtime.data.bookings[gone]
        if forgotten:
            await runtime.async_save()
        started = []
        for sid, config in wanted.items():
            current = self._watchers.get(sid)
            if current is not None and current.config == config:
                continue
            if current is not None:
                await current.async_stop()
            watcher = self._watchers[sid] = BookingWatcher(
                self._hass, self._entry, runtime, sid, config
            )
            watcher.start()
            started.append(watcher)
        await asyncio.gather(*(watcher.async_refresh() for watcher in started))

    async def async_stop(self) -> None:
        """Stop every watcher and let reads in flight finish."""
        self._closed = True
        async with self._sync_guard:  # no watcher is being started meanwhile
            for watcher in self._watchers.values():
                await watcher.async_stop()
            self._watchers.clear()


class BookingWatcher:
    """Keeps the keys of one booking in line with its calendar."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: KeyholderConfigEntry,
        runtime: KeyholderRuntime,
        booking_id: str,
        config: BookingConfig,
    ) -> None:
        """Create the watcher of one booking subentry."""
        self._hass = hass
        self._entry = entry
        self._runtime = runtime
        self.booking_id = booking_id
        self.config = config
        self._guard = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()
        self._unsubs: list[Any] = []
        self._closed = False

    @callback
    def start(self) -> None:
        """Read the calendar when its state changes and every UPDATE_INTERVAL."""
        self._unsubs.append(
            async_track_state_change_event(
                self._hass, [self.config.calendar], self._on_state_change
            )
        )
        self._unsubs.append(
            async_track_time_interval(
                self._hass,
                self._on_interval,
                UPDATE_INTERVAL,
                name=f"keyholder booking {self.config.title}",
            )
        )

    async def async_stop(self) -> None:
        """Stop listening; wait for a read in flight."""
        self._closed = True
        for unsub in self._unsubs:
            unsub()
        self._unsubs.clear()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        async with self._guard:
            pass  # a refresh started by async_sync has finished too

    @callback
    def _on_state_change(self, _event: Event[EventStateChangedData]) -> None:
        self._schedule_refresh()

    @callback
    def _on_interval(self, _now: datetime) -> None:
        self._schedule_refresh()

    @callback
    def _schedule_refresh(self) -> None:
        if self._closed:
            return
        task = self._entry.async_create_task(
            self._hass, self.async_refresh(), f"keyholder booking {self.config.title}"
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- reading the calendar -------------------------------------------------

    async def _async_read(self, now: datetime) -> dict[str, CalendarStay] | None:
        """Return the calendar's stays that are not over; None if unreadable."""
        calendar = self.config.calendar
        if self._hass.states.get(calendar) is None:
            # Not (yet) set up: read when its state appears.
            LOGGER.debug("Booking calendar %s is not there yet", calendar)
            return None
        try:
            response = await self._hass.services.async_call(
                "calendar",
                "get_events",
                {
                    "entity_id": calendar,
                    # A stay that ended within the grace time still holds a key.
                    "start_date_time": dt_util.as_local(now - self.config.grace),
                    "end_date_time": dt_util.as_local(now + LOOKAHEAD),
                },
                blocking=True,
                return_response=True,
            )
            answer: Any = response
            raw = answer[calendar]["events"]
        except (HomeAssistantError, KeyError, TypeError) as err:
            # Keys stay as they are: an unreadable calendar is not an empty one.
            LOGGER.warning(
                "Could not read the booking calendar %s (%s); guests' keys unchanged",
                calendar,
                type(err).__name__,
            )
            return None
        return parse_events(raw)

    # -- applying it ------------------------------------------------------------

    async def async_refresh(self) -> None:
        """Read the calendar and bring the guests' keys in line with it."""
        async with self._guard:
            if self._closed:
                return
            now = dt_util.utcnow()
            stays = await self._async_read(now)
            if stays is None or self._closed:
                return
            await self._async_apply(stays, now)

    def _schedule(self, stay: CalendarStay) -> Schedule:
        grace = self.config.grace
        return Schedule(valid_from=stay.start - grace, valid_until=stay.end + grace)

    def _lock_ids(self) -> frozenset[str]:
        return frozenset(
            lock for lock in self.config.locks if lock in self._runtime.locks
        )

    async def _async_apply(self, stays: dict[str, CalendarStay], now: datetime) -> None:
        runtime = self._runtime
        site = runtime.site
        if self.booking_id not in site.keyholders:
            return
        records = runtime.data.bookings.setdefault(self.booking_id, {})
        before = dict(records)
        # Stays that are over (grace included) leave with their keys.
        await self._async_remove_ended(records, now)
        # Keys removed behind the booking's back: their events get new ones.
        for ident in [i for i, r in records.items() if r.key_id not in site.keys]:
            del records[ident]
        stays = {i: s for i, s in stays.items() if s.end + self.config.grace > now}
        gone = {i: r for i, r in records.items() if i not in stays}
        new = {i: s for i, s in stays.items() if i not in records}
        for new_id, old_id in match_moved(gone, new).items():
            # Events carry no id: a stay of the same title starting elsewhere may
            # be a cancelled booking and a new one (feeds title every stay
            # "Reserved"). The key moves, but with a new code, sent again.
            record = records.pop(old_id)
            if not site.keys[record.key_id].cancelled:
                await async_new_passcode(
                    runtime, record.key_id, None, self._passcode_length()
                )
            records[new_id] = replace(record, notified=False)
            del gone[old_id]
            del new[new_id]
        for ident, record in gone.items():
            # Deleted from the calendar: the key stops working at once.
            del records[ident]
            if not site.keys[record.key_id].cancelled:
                await async_cancel_key(runtime, record.key_id)
        lock_ids = self._lock_ids()
        for ident, stay in stays.items():
            try:
                if ident in records:
                    records[ident] = await self._async_follow(
                        records[ident], stay, lock_ids
                    )
                elif lock_ids:
                    records[ident] = await self._async_issue(stay, lock_ids)
            except HomeAssistantError as err:
                # One stay that cannot be given its key does not hold up the
                # others; it is tried again at the next read.
                LOGGER.warning(
                    "Could not give the guest of a stay in %s a key (%s)",
                    self.config.title,
                    type(err).__name__,
                )
        if records != before:
            # Saved before any code goes out: a restart does not issue it again.
            await runtime.async_save()
            before = dict(records)
        await self._async_send_codes(records, now)
        if records != before:
            await runtime.async_save()

    async def _async_remove_ended(
        self, records: dict[str, BookingRecord], now: datetime
    ) -> None:
        """Remove the booking's keys whose validity is over, and their records."""
        runtime = self._runtime
        for ident in [
            i for i, r in records.items() if r.end + self.config.grace <= now
        ]:
            del records[ident]
        for key in runtime.site.keys_of(self.booking_id):
            until = key.schedule.valid_until
            if until is not None and until <= now:
                await async_remove_key(runtime, key.id)

    async def _async_follow(
        self, record: BookingRecord, stay: CalendarStay, lock_ids: frozenset[str]
    ) -> BookingRecord:
        """Move a guest's key with its event (and with the booking's settings)."""
        key = self._runtime.site.keys[record.key_id]
        schedule = self._schedule(stay)
        record = replace(record, summary=stay.summary, start=stay.start, end=stay.end)
        if not lock_ids or (key.schedule == schedule and key.lock_ids == lock_ids):
            return record
        try:
            await async_reschedule_key(self._runtime, key.id, schedule, lock_ids)
        except ServiceValidationError:
            # The code is taken on a lock the booking now includes: a new one.
            await async_reschedule_key(self._runtime, key.id, schedule)
            await async_new_passcode(
                self._runtime, key.id, None, self._passcode_length()
            )
            await async_reschedule_key(self._runtime, key.id, schedule, lock_ids)
            record = replace(record, notified=False)
        return record

    def _passcode_length(self) -> int:
        return site_setting(self._entry, CONF_PASSCODE_LENGTH, DEFAULT_PASSCODE_LENGTH)

    async def _async_issue(
        self, stay: CalendarStay, lock_ids: frozenset[str]
    ) -> BookingRecord:
        """Give a new stay's guest a key (or take back one issued before a crash)."""
        schedule = self._schedule(stay)
        runtime = self._runtime
        recorded = {
            r.key_id for r in runtime.data.bookings.get(self.booking_id, {}).values()
        }
        for key in runtime.site.keys_of(self.booking_id):
            if (
                key.id not in recorded
                and not key.cancelled
                and key.name == stay.summary
                and key.schedule == schedule
            ):
                return BookingRecord(key.id, stay.summary, stay.start, stay.end)
        issued = await async_issue_key(
            runtime,
            keyholder_id=self.booking_id,
            lock_ids=lock_ids,
            kind=KeyKind.PASSCODE,
            schedule=schedule,
            max_uses=None,
            passcode=None,
            tag=None,
            passcode_length=self._passcode_length(),
            name=stay.summary,
        )
        return BookingRecord(issued.key.id, stay.summary, stay.start, stay.end)

    # -- telling the guest ----------------------------------------------------------

    async def _async_send_codes(
        self, records: dict[str, BookingRecord], now: datetime
    ) -> None:
        """Send each live key's passcode once, to the booking's notify entity."""
        if self.config.notify is None:
            return
        site = self._runtime.site
        for ident, record in list(records.items()):
            key = site.keys[record.key_id]
            if record.notified or key.cancelled or key.secret is None:
                continue
            if await self._async_send(key):
                records[ident] = replace(record, notified=True)

    async def _async_send(self, key: Key) -> bool:
        """Send one guest's passcode; return whether it went out."""
        assert self.config.notify is not None
        runtime = self._runtime
        locks = ", ".join(
            sorted(runtime.locks[i].name for i in key.lock_ids if i in runtime.locks)
        )
        schedule = key.schedule
        assert schedule.valid_from is not None
        assert schedule.valid_until is not None
        message = (
            f"{key.name}: your door code is {key.secret}. It opens {locks} "
            f"from {_local(schedule.valid_from)} until {_local(schedule.valid_until)}."
        )
        entity = notify_entity(self._hass, self.config.notify)
        if entity is None:
            LOGGER.warning(
                "Could not send the code of %s: %s is not loaded (or would pass "
                "codes on to others); will try again",
                key.name,
                self.config.notify,
            )
            return False
        try:
            # The entity's own handler of notify.send_message: an action call
            # would put the code in the call_service event the recorder keeps.
            await entity._async_send_message(  # noqa: SLF001
                message=message, title=self.config.title
            )
        except Exception as err:  # noqa: BLE001
            # Any notify integration's error; its text may quote the message.
            LOGGER.warning(
                "Could not send the code of %s to %s (%s); will try again",
                key.name,
                self.config.notify,
                type(err).__name__,
            )
            return False
        return True


def _local(when: datetime) -> str:
    return dt_util.as_local(when).strftime("%Y-%m-%d %H:%M")
