"""The site calendar: every key's access windows ("Plumber — Front door")."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta

from homeassistant.components.calendar import CalendarEntity, CalendarEvent
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.util import dt as dt_util

from . import KeyholderConfigEntry
from .access.describe import lock_names
from .const import DOMAIN
from .entity import KeyholderEntity
from .model.access import Term, term_intervals
from .model.status import Status, key_expiry, key_start
from .model.values import Key, Keyholder
from .sync.runtime import KeyholderRuntime

PARALLEL_UPDATES = 0
LOOKAHEAD = timedelta(days=60)
# A week and a day: every weekly window, even one running since last week.
NEAR = timedelta(days=8)
type _Window = tuple[Key, Keyholder, datetime, datetime, Term]
type _Shown = tuple[datetime, _Window | None, CalendarEvent | None]
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
        self._scope = None  # every key of the site
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, entry_id)}, name=title, manufacturer="Keyholder"
        )
        # (valid until, the window shown, its event): the answer of ``event``
        # until its next edge, for the keys of the site's revision noted
        self._current: _Shown | None = None
        self._revision = -1
        # Keyholders whose keys changed since (None: look at every key again).
        self._changed: set[str] | None = set()

    def _windows(
        self, start: datetime, end: datetime, keys: Iterable[Key] | None = None
    ) -> Iterator[_Window]:
        """Yield each live key's access windows overlapping ``[start, end)``."""
        runtime = self.runtime
        site = runtime.site
        now = dt_util.utcnow()
        for key in site.keys.values() if keys is None else keys:
            holder = site.keyholders.get(key.keyholder_id)
            if holder is None or runtime.queries.key_status(key, now) in _GONE:
                continue
            low, high = start, end
            if (first := key_start(key, holder)) is not None:
                low = max(low, first)
            if (last := key_expiry(key, holder, runtime.tz)) is not None:
                high = min(high, last)
            if low < high:
                for term in site.terms_of(key):
                    for a, b in term_intervals(term, low, high, runtime.tz):
                        yield key, holder, a, b, term

    def _event(self, window: _Window) -> CalendarEvent:
        key, holder, start, end, term = window
        doors = ", ".join(lock_names(self.runtime, term.lock_ids))
        group = self.runtime.site.groups.get(term.source)
        who = f"{group.name} — {holder.name}" if group else holder.name
        return CalendarEvent(
            start=dt_util.as_local(start),
            end=dt_util.as_local(end),
            summary=f"{who} — {doors}",
            description=f"{key.kind.value} key",
            uid=f"{key.id}-{term.source}-{start.isoformat()}",
        )

    def _events(self, start: datetime, end: datetime) -> list[CalendarEvent]:
        events = [self._event(window) for window in self._windows(start, end)]
        events.sort(key=lambda event: (event.start, event.summary))
        return events

    @callback
    def _handle_update(self) -> None:
        if self.runtime.site.revision != self._revision:
            # Keys or keyholders changed: those of the keyholders the change
            # concerns are looked at again (all of them when it is not known).
            scopes = self.runtime.listeners.changed_scopes
            if scopes is None or self._changed is None:
                self._changed = None
            else:
                self._changed.update(scopes)
        super()._handle_update()

    @callback
    def _async_write_ha_state(self) -> None:
        """
        Write the state, without the calendar platform's own start/end alarms.

        Every window edge is a status change of a key, so the site's transition
        timer writes this state at that instant anyway; the platform's alarms
        would be second and third timers for the same instants.
        """
        super()._async_write_ha_state()
        alarms: list[Callable[[], None]] | None = getattr(self, "_alarm_unsubs", None)
        for unsub in alarms or ():
            unsub()
        if alarms:
            alarms.clear()

    @property
    def event(self) -> CalendarEvent | None:
        """
        Return the access window happening now, or the next one.

        Home Assistant asks on every state write; the answer only changes at
        its own start or end, or when keys change, so it is kept until then.
        After a change only the keys of the keyholders it concerns are looked
        at: one of theirs is shown if it comes earlier. Every key is looked at
        again once the window shown ends, or when its own keyholder changed.
        """
        now = dt_util.utcnow()
        site = self.runtime.site
        current, changed = self._current, self._changed
        self._revision, self._changed = site.revision, set()
        if current is not None and now < current[0]:
            shown = current[1]
            if not changed:
                return current[2]
            if changed is not None and (shown is None or shown[1].id not in changed):
                keys = [key for holder in changed for key in site.keys_of(holder)]
                found = self._earliest(now, keys)
                if found is None or (shown is not None and shown[2:4] <= found[2:4]):
                    return current[2]
                return self._show(now, found)
        return self._show(now, self._earliest(now))

    def _earliest(self, now: datetime, keys: list[Key] | None = None) -> _Window | None:
        """Return the earliest window not over at ``now`` (of ``keys``, or all)."""
        earliest: _Window | None = None
        # A window is looked for near now first: most keys have one each week.
        for start, end in (
            (now - NEAR, now + NEAR),
            (now + NEAR, now + LOOKAHEAD),
        ):
            for window in self._windows(start, end, keys):
                if window[3] > now and (
                    earliest is None or window[2:4] < earliest[2:4]
                ):
                    earliest = window
            if earliest is not None:
                break
        return earliest

    def _show(self, now: datetime, window: _Window | None) -> CalendarEvent | None:
        """Show ``window`` until its next edge (none: look again in a while)."""
        if window is None:
            self._current = (now + NEAR, None, None)
            return None
        event = self._event(window)
        until = window[2] if window[2] > now else window[3]
        self._current = (until, window, event)
        return event

    async def async_get_events(
        self, hass: HomeAssistant, start_date: datetime, end_date: datetime
    ) -> list[CalendarEvent]:
        """Return the access windows between two instants."""
        return self._events(dt_util.as_utc(start_date), dt_util.as_utc(end_date))
