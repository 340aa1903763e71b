"""The booking calendars of a site: one watcher per booking subentry."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from homeassistant.core import HomeAssistant

from ...const import SUBENTRY_BOOKING
from ...sync.runtime import KeyholderConfigEntry
from .config import booking_config
from .watcher import BookingWatcher


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
