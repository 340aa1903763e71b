"""The site calendar: every key's access windows ("Plumber — Front door")."""

from __future__ import annotations

from datetime import datetime, timedelta

from homeassistant.components.calendar import CalendarEntity, CalendarEvent
from homeassistant.core import HomeAssistant
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.util import dt as dt_util

from . import KeyholderConfigEntry
from .const import DOMAIN
from .engine.schedule import active_intervals
from .engine.status import Status, key_expiry, key_start
from .entity import KeyholderEntity
from .runtime import KeyholderRuntime

PARALLEL_UPDATES = 0
LOOKAHEAD = timedelta(days=60)
_GONE = {Status.CANCELLED, Status.USED_UP, Status.BLOCKED}


async def async_setup_entry(
    hass: HomeAssistant,
    entry: KeyholderConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add the site's access calendar."""
    async_add_entities(
        [AccessCalendar(entry.runtime_data, entry.entry_id, entry.title)]
    )


class AccessCalendar(KeyholderEntity, CalendarEntity):
    """When each key opens which doors."""

    def __init__(self, runtime: KeyholderRuntime, entry_id: str, title: str) -> None:
        """Create the calendar of a site."""
        super().__init__(runtime, entry_id, "access_calendar")
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, entry_id)}, name=title, manufacturer="Keyholder"
        )

    def _events(self, start: datetime, end: datetime) -> list[CalendarEvent]:
        runtime = self.runtime
        site = runtime.site
        now = dt_util.utcnow()
        events: list[CalendarEvent] = []
        for key in site.keys.values():
            holder = site.keyholder_of(key)
            if holder is None or runtime.key_status(key, now) in _GONE:
                continue
            low, high = start, end
            if (first := key_start(key, holder)) is not None:
                low = max(low, first)
            if (last := key_expiry(key, holder, runtime.tz)) is not None:
                high = min(high, last)
            if low >= high:
                continue
            locks = ", ".join(
                sorted(
                    runtime.locks[i].name for i in key.lock_ids if i in runtime.locks
                )
            )
            events.extend(
                CalendarEvent(
                    start=dt_util.as_local(a),
                    end=dt_util.as_local(b),
                    summary=f"{holder.name} — {locks}",
                    description=f"{key.kind.value} key",
                    uid=f"{key.id}-{a.isoformat()}",
                )
                for a, b in active_intervals(key.schedule, low, high, runtime.tz)
            )
        events.sort(key=lambda event: (event.start, event.summary))
        return events

    @property
    def event(self) -> CalendarEvent | None:
        """Return the access window happening now, or the next one."""
        now = dt_util.utcnow()
        events = self._events(now, now + LOOKAHEAD)
        return events[0] if events else None

    async def async_get_events(
        self, hass: HomeAssistant, start_date: datetime, end_date: datetime
    ) -> list[CalendarEvent]:
        """Return the access windows between two instants."""
        return self._events(dt_util.as_utc(start_date), dt_util.as_utc(end_date))
