"""
The reconciler: keeps every lock of a site in line with what should be true now.

A change (action, flow, keypad use) or a schedule edge leads to one pass:
plan (engine) -> diff against what each lock holds -> operations, serialised per
lock and run in parallel across locks. Exactly one timer is armed, for the
site's next transition; failed locks are retried with bounded exponential
backoff and raise a repair issue after repeated failures.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
import contextlib
from datetime import datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, Event, HomeAssistant, callback
from homeassistant.helpers.event import async_track_point_in_utc_time
from homeassistant.util import dt as dt_util

from .const import (
    ATTR_KEY_ID,
    ATTR_KEYHOLDER,
    ATTR_KEYHOLDER_ID,
    ATTR_LOCK,
    ATTR_LOCK_ID,
    ATTR_METHOD,
    ATTR_RESULT,
    EVENT_ACCESS,
    LOGGER,
)
from .engine.model import CredentialRef, Key, Keyholder, Site
from .engine.plan import record_use
from .engine.status import Status, key_status
from .engine.transitions import TransitionIndex
from .lock_sync import LockSync
from .placement import Placements
from .providers import (
    ProviderError,
    Refusal,
    RefusalReporter,
)
from .site_saver import SiteSaver
from .store import KeyholderStore, SiteData
from .store_file import StoreWriteError
from .subentry_changes import SubentryChanges
from .sync_state import (
    AccessEvent,
    AccessResult,
    LockInfo,
    LockStatus,
)


class AccessSource(Protocol):
    """
    What feeds the site's keys from outside (its booking calendars).

    The runtime only stops it; it is built on top (it issues keys through the
    runtime), so the runtime knows it by this shape, not by its module.
    """

    async def async_sync(self) -> None:
        """Follow the site's subentries as they are now."""

    async def async_stop(self) -> None:
        """Stop; let work in flight finish."""


class KeyholderRuntime:
    """The live state of one site."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry_id: str,
        store: KeyholderStore,
        data: SiteData,
        locks: dict[str, LockInfo],
    ) -> None:
        """Create the runtime around loaded data and the site's locks."""
        self.hass = hass
        self.entry_id = entry_id
        self.data = data
        self.locks = locks
        self.syncs = {lock_id: LockSync(self, info) for lock_id, info in locks.items()}
        """Each lock's state and passes."""
        self.lock_status: dict[str, LockStatus] = {
            lock_id: sync.status for lock_id, sync in self.syncs.items()
        }
        self._timer_unsub: CALLBACK_TYPE | None = None
        self._saver = SiteSaver(hass, store, data, self._undone)
        self.next_transition: datetime | None = None
        self._index = TransitionIndex(data.site, self.tz, dt_util.utcnow())
        # scope (a lock's or keyholder's id; None: the whole site) -> updates
        self._listeners: dict[str | None, list[Callable[[], None]]] = {}
        # Scopes whose entities show something that changed since the last
        # notification (None: all of them).
        self._stale: set[str] | None = set()
        self.changed_scopes: set[str] | None = set()
        """While listeners are called: the scopes the change concerns (None: all)."""
        self._access_listeners: list[Callable[[AccessEvent], None]] = []
        self._keyholder_listeners: list[Callable[[str], None]] = []
        self.subentries: SubentryChanges
        """The site's subentries as last applied (set up with the runtime)."""
        self.bookings: AccessSource | None = None
        """The site's booking calendars (stopped before the runtime)."""
        self._closed = False
        self._busy = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._unsubs: list[Callable[[], None]] = []
        self.placement = Placements(hass, entry_id)
        """Keys that do not fit on a lock, and codes the locks refused."""

    # -- model ---------------------------------------------------------------

    @property
    def site(self) -> Site:
        """Return the site model."""
        return self.data.site

    @property
    def tz(self) -> ZoneInfo:
        """Return the time zone schedules are evaluated in."""
        return ZoneInfo(self.hass.config.time_zone)

    def keyholder_name(self, keyholder_id: str | None) -> str | None:
        """Return a keyholder's full name."""
        holder = self.site.keyholders.get(keyholder_id or "")
        return holder.name if holder else None

    def key_status(self, key: Key, at: datetime | None = None) -> Status:
        """Return the status of a key now (or at ``at``)."""
        holder = self.site.keyholders[key.keyholder_id]
        return key_status(key, holder, at or dt_util.utcnow(), self.tz)

    def foreign_codes(self, lock_ids: Iterable[str]) -> dict[str, str]:
        """
        Return code -> lock id for codes on these locks that Keyholder did not write.

        They come from each lock's last read (slots it does not manage); a lock
        refuses a second user with the same code, so no key may be given one.
        """
        found: dict[str, str] = {}
        for lock_id in sorted(lock_ids):
            if (sync := self.syncs.get(lock_id)) is not None:
                for code in sync.foreign:
                    found.setdefault(code, lock_id)
        return found

    def not_on_locks(self, key_id: str) -> list[dict[str, str]]:
        """Describe the locks a key should be on but is not (and why; no codes)."""
        names = {lock_id: info.name for lock_id, info in self.locks.items()}
        return self.placement.describe(key_id, names)

    def lock_guard(self, lock_id: str) -> asyncio.Lock:
        """Return the guard that serialises everything done to one lock."""
        return self.syncs[lock_id].guard

    # -- listeners -----------------------------------------------------------

    @callback
    def async_add_listener(
        self, update: Callable[[], None], scope: str | None = None
    ) -> CALLBACK_TYPE:
        """
        Call ``update`` whenever what it shows may have changed.

        ``scope`` is the lock or keyholder it shows: it is called only when a
        pass went over that lock, or a status, key or placement of that
        keyholder changed. None: after every change (the site's calendar, the
        panel).
        """
        self._listeners.setdefault(scope, []).append(update)
        return lambda: self._listeners[scope].remove(update)

    @callback
    def async_add_access_listener(
        self, listener: Callable[[AccessEvent], None]
    ) -> CALLBACK_TYPE:
        """Call ``listener`` for every access attempt at a lock."""
        self._access_listeners.append(listener)
        return lambda: self._access_listeners.remove(listener)

    @callback
    def async_add_keyholder_listener(
        self, listener: Callable[[str], None]
    ) -> CALLBACK_TYPE:
        """Call ``listener(keyholder_id)`` for each keyholder added at run time."""
        self._keyholder_listeners.append(listener)
        return lambda: self._keyholder_listeners.remove(listener)

    async def async_keyholders_changed(
        self, changed: set[str], *, added: set[str], locks: set[str]
    ) -> None:
        """
        Apply keyholders added, changed or removed while the site runs.

        New keyholders (``added``) get their entities; only ``locks``, those
        the keys of the keyholders ``changed`` list, are synced.
        """
        for keyholder_id in sorted(added):
            for listener in list(self._keyholder_listeners):
                listener(keyholder_id)
        await self.async_apply_changes(locks, keyholders=changed)

    @property
    def closed(self) -> bool:
        """Return True once the site unloads."""
        return self._closed

    async def async_save_pending(self) -> None:
        """
        Write the site, with the writes about to be made, to disk now.

        Shared with whoever else waits for a write meanwhile. A lock whose
        writes could not be saved is not written to: that is its failure.
        """
        try:
            await self._saver.async_save()
        except StoreWriteError as err:
            raise ProviderError("save_failed", "The change could not be saved") from err

    @callback
    def touch(self, scopes: Iterable[str]) -> None:
        """Mark locks or keyholders whose entities must be written again."""
        if self._stale is not None:
            self._stale.update(scopes)

    @callback
    def _notify(self) -> None:
        stale, self._stale = self._stale, set()
        # The scopes concerned, not every scope of the site: a change costs what
        # it concerns, however many keyholders there are.
        scopes = list(self._listeners) if stale is None else [None, *sorted(stale)]
        self.changed_scopes = stale
        for scope in scopes:
            for update in list(self._listeners.get(scope, ())):
                update()
        self.changed_scopes = set()

    # -- lifecycle -----------------------------------------------------------

    async def async_start(self) -> None:
        """Listen to the locks' keypads, then bring every lock in line at once."""
        if self._closed:  # unloaded before the first pass began
            return
        for lock_id, info in self.locks.items():
            self._unsubs.append(
                info.provider.async_listen_usage(self._usage_callback(lock_id))
            )
            self._unsubs.append(
                info.provider.async_listen_available(self._back_callback(lock_id))
            )
            if isinstance(info.provider, RefusalReporter):
                self._unsubs.append(
                    info.provider.async_listen_refused(self._refused_callback(lock_id))
                )
        await self.async_apply_changes()

    async def async_stop(self) -> None:
        """
        Cancel timers and let passes in flight finish and save.

        A reload must not start the next runtime (which loads the store) while
        this one is still writing to a lock or about to save.
        """
        self._closed = True
        if self.bookings is not None:
            await self.bookings.async_stop()
        await self._idle.wait()
        for unsub in self._unsubs:
            unsub()
        self._unsubs.clear()
        if self._timer_unsub:
            self._timer_unsub()
            self._timer_unsub = None
        # What the last passes wrote (on disk as pending writes until now).
        with contextlib.suppress(StoreWriteError):
            await self.async_save()
        for sync in self.syncs.values():
            sync.stop()

    async def async_save(self) -> None:
        """Persist the site now (raise StoreWriteError when it could not be)."""
        await self._saver.async_save()

    async def async_save_at_stop(self, _event: Event) -> None:
        """
        Save what the last passes wrote when Home Assistant stops.

        Sites are not unloaded then; the write waits for Home Assistant's final
        write like every store's.
        """
        await self._idle.wait()
        with contextlib.suppress(StoreWriteError):
            await self.async_save()

    async def async_apply_changes(
        self,
        lock_ids: set[str] | None = None,
        *,
        keys: Iterable[str] = (),
        keyholders: Iterable[str] = (),
    ) -> None:
        """
        Sync the given locks (all by default), save, and re-arm the timer.

        ``keys`` and ``keyholders`` name what changed, so that the index of the
        next transition recomputes just those, and only their entities are
        written. A removed key is no longer in the site: unless its keyholder is
        named too, every entity is written.
        """
        keyholders = tuple(keyholders)
        for key_id in keys:
            self._index.refresh_key(key_id)
            if (key := self.site.keys.get(key_id)) is not None:
                self.touch((key.keyholder_id,))
            elif not keyholders:  # a key removed, and nobody said whose it was
                self._stale = None
        for keyholder_id in keyholders:
            self._index.refresh_keyholder(keyholder_id)
            self.touch((keyholder_id,))
        # Each lock's writes wait for a write of the site that holds the change;
        # the change is answered as done once one has succeeded (the last
        # pass's results go with it), or undone.
        mark = self._saver.mark()
        self._busy += 1
        self._idle.clear()
        try:
            targets = (
                self.locks.keys() if lock_ids is None else lock_ids & self.locks.keys()
            )
            self.touch(targets)
            await asyncio.gather(
                *(self.syncs[lock_id].async_sync() for lock_id in targets)
            )
            await self._saver.async_saved_or_undone(mark, self.entry_id)
        finally:
            self._busy -= 1
            if not self._busy:
                self._idle.set()
            # Whatever happened, the next transition stays armed.
            self._arm_timer()
            self._notify()

    @callback
    def _undone(self) -> None:
        """Show everywhere that a change which could not be saved was undone."""
        self._index.rebuild(dt_util.utcnow())
        self._stale = None

    # -- timer ---------------------------------------------------------------

    @callback
    def _arm_timer(self) -> None:
        """Arm the single timer for the site's next transition."""
        if self._timer_unsub:
            self._timer_unsub()
            self._timer_unsub = None
        if self._closed:
            return
        # Arm from the stalest lock's plan, not from now: an edge that passed
        # while a slow lock was being written must still be applied (at once).
        after = min(
            (sync.planned_at for sync in self.syncs.values() if sync.planned_at),
            default=dt_util.utcnow(),
        )
        self.next_transition = self._index.next_change(after)
        self.touch(self._index.take_passed())
        if self.next_transition is None:
            return
        LOGGER.debug("Next transition at %s", self.next_transition.isoformat())
        self._timer_unsub = async_track_point_in_utc_time(
            self.hass, self._async_on_transition, self.next_transition
        )

    async def _async_on_transition(self, _now: datetime) -> None:
        self._timer_unsub = None
        await self.async_apply_changes()

    async def async_retry_now(self, lock_id: str) -> None:
        """Retry a failed lock at once (repair flow, lock back online)."""
        # This attempt takes the place of the pending retry and counts like it.
        self.syncs[lock_id].cancel_retry()
        await self.async_apply_changes({lock_id})

    # -- access at a lock ------------------------------------------------------

    async def async_keypad_code(
        self, lock_id: str, ref: CredentialRef | None
    ) -> AccessEvent:
        """
        Record a code typed at a keypad Keyholder checks (the virtual lock).

        ``ref`` is where the lock holds the typed code (None: nowhere). The
        engine double-checks that its key is active right now.
        """
        key_id = self.site.owner_of(lock_id, ref) if ref is not None else None
        key = self.site.keys.get(key_id or "")
        if key is None or self.key_status(key) is not Status.ACTIVE:
            event = AccessEvent(lock_id, AccessResult.DENIED)
            self._fire_access(event)
            return event
        return await self._async_unlocked(lock_id, key.id)

    @callback
    def async_keypad_locked_out(self, lock_id: str) -> AccessEvent:
        """Record a code a keypad refused unchecked: it is locked out."""
        event = AccessEvent(lock_id, AccessResult.LOCKED_OUT)
        self._fire_access(event)
        return event

    def _refused_callback(self, lock_id: str) -> Callable[[Refusal], None]:
        @callback
        def _on_refused(refusal: Refusal) -> None:
            locked_out = refusal is Refusal.LOCKED_OUT
            result = AccessResult.LOCKED_OUT if locked_out else AccessResult.DENIED
            self._fire_access(AccessEvent(lock_id, result))

        return _on_refused

    def _back_callback(self, lock_id: str) -> Callable[[], None]:
        @callback
        def _on_back() -> None:
            if self.lock_status[lock_id].failures and not self._closed:
                LOGGER.debug("%s is reachable again", self.locks[lock_id].name)
                self.hass.async_create_task(self.async_retry_now(lock_id))

        return _on_back

    def _usage_callback(self, lock_id: str) -> Callable[[CredentialRef], None]:
        @callback
        def _on_use(ref: CredentialRef) -> None:
            # The lock decided: the unlock is its key's, whoever's that is now.
            key_id = self.site.owner_of(lock_id, ref)
            self.hass.async_create_task(self._async_unlocked(lock_id, key_id))

        return _on_use

    async def _async_unlocked(self, lock_id: str, key_id: str | None) -> AccessEvent:
        """
        Attribute an unlock, count the key's use and sync a used-up key away.

        A slot Keyholder did not write is reported as unlocked by someone unknown.
        """
        if key_id is None or key_id not in self.site.keys:
            event = AccessEvent(lock_id, AccessResult.UNLOCKED)
            self._fire_access(event)
            return event
        key = record_use(self.site, key_id)
        event = AccessEvent(lock_id, AccessResult.UNLOCKED, key.keyholder_id, key.id)
        self._fire_access(event)
        await self.async_apply_changes(set(key.lock_ids), keys=[key.id])
        return event

    @callback
    def _fire_access(self, event: AccessEvent) -> None:
        self.hass.bus.async_fire(
            EVENT_ACCESS,
            {
                ATTR_LOCK_ID: event.lock_id,
                ATTR_LOCK: self.locks[event.lock_id].name,
                ATTR_RESULT: event.result.value,
                ATTR_METHOD: event.method,
                ATTR_KEYHOLDER_ID: event.keyholder_id,
                ATTR_KEYHOLDER: self.keyholder_name(event.keyholder_id),
                ATTR_KEY_ID: event.key_id,
            },
        )
        for listener in list(self._access_listeners):
            listener(event)

    # -- keyholders ------------------------------------------------------------

    def keyholder(self, keyholder_id: str) -> Keyholder:
        """Return a keyholder (KeyError if unknown)."""
        return self.site.keyholders[keyholder_id]


type KeyholderConfigEntry = ConfigEntry[KeyholderRuntime]
