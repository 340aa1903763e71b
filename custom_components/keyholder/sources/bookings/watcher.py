"""One booking calendar followed: read when it changes and every UPDATE_INTERVAL."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.event import (
    async_track_state_change_event,
    async_track_time_interval,
)
from homeassistant.util import dt as dt_util

from ...const import LOGGER
from ...sync.runtime import KeyholderConfigEntry, KeyholderRuntime
from .config import BookingConfig
from .events import CalendarStay, parse_events
from .guest_keys import GuestKeys
from .messages import async_send_codes

UPDATE_INTERVAL = timedelta(minutes=15)
"""How often a calendar is read even if its state did not change."""
LOOKAHEAD = timedelta(days=30)
"""Events starting later than this get their key (and message) later."""


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
        self._keys = GuestKeys(entry, runtime, booking_id, config)
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

    async def _async_apply(self, stays: dict[str, CalendarStay], now: datetime) -> None:
        runtime = self._runtime
        if self.booking_id not in runtime.site.keyholders:
            return
        records = runtime.data.bookings.setdefault(self.booking_id, {})
        before = dict(records)
        await self._keys.async_follow(records, stays, now)
        if records != before:
            # Saved before any code goes out: a restart does not issue it again.
            await runtime.async_save()
            before = dict(records)
        await async_send_codes(self._hass, runtime, self.config, records)
        if records != before:
            await runtime.async_save()
