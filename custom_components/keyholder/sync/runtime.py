"""
The reconciler: keeps every lock of a site in line with what should be true now.

A change (action, flow, keypad use) or a schedule edge leads to one pass:
plan (engine) -> diff against what each lock holds -> operations, serialised per
lock and run in parallel across locks. Exactly one timer is armed, for the
site's next transition; failed locks are retried with bounded exponential
backoff and raise a repair issue after repeated failures.

The runtime owns the parts of a site: each lock's sync (:mod:`.lock_sync`), its
listeners (:mod:`.site_listeners`), the access at its locks
(:mod:`.lock_access`), the timer for its next transition (:mod:`.site_timer`),
the questions asked of it (:mod:`.site_queries`) and its writes
(:mod:`.site_saver`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
import contextlib
from datetime import datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.util import dt as dt_util

from ..const import LOGGER
from ..families import ProviderError, RefusalReporter
from ..model.site import Site
from ..storage.files import StoreWriteError
from ..storage.store import KeyholderStore, SiteData
from .lock_access import LockAccess
from .lock_sync import LockSync
from .placement import Placements
from .site_listeners import SiteListeners
from .site_queries import SiteQueries
from .site_saver import SiteSaver
from .site_timer import TransitionTimer
from .state import LockInfo, LockStatus
from .subentry_changes import SubentryChanges


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
        self._saver = SiteSaver(hass, store, data, self._undone)
        self.timer = TransitionTimer(
            hass, data.site, self.tz, self._async_on_transition
        )
        """The site's transitions, and the timer for the next one."""
        self.listeners = SiteListeners()
        """Who is called when something of the site changed."""
        self.access = LockAccess(self)
        """Access attempts at the site's locks."""
        self.queries = SiteQueries(self)
        """Questions about the site (names, statuses, what is not on a lock)."""
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

    def lock_guard(self, lock_id: str) -> asyncio.Lock:
        """Return the guard that serialises everything done to one lock."""
        return self.syncs[lock_id].guard

    async def async_keyholders_changed(
        self, changed: set[str], *, added: set[str], locks: set[str]
    ) -> None:
        """
        Apply keyholders added, changed or removed while the site runs.

        New keyholders (``added``) get their entities; only ``locks``, those
        the keys of the keyholders ``changed`` list, are synced.
        """
        self.listeners.keyholders_added(sorted(added))
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

    # -- lifecycle -----------------------------------------------------------

    async def async_start(self) -> None:
        """Listen to the locks' keypads, then bring every lock in line at once."""
        if self._closed:  # unloaded before the first pass began
            return
        for lock_id, info in self.locks.items():
            self._unsubs.append(
                info.provider.async_listen_usage(self.access.usage_callback(lock_id))
            )
            self._unsubs.append(
                info.provider.async_listen_available(self._back_callback(lock_id))
            )
            if isinstance(info.provider, RefusalReporter):
                self._unsubs.append(
                    info.provider.async_listen_refused(
                        self.access.refused_callback(lock_id)
                    )
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
        self.timer.cancel()
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
            self.timer.index.refresh_key(key_id)
            if (key := self.site.keys.get(key_id)) is not None:
                self.listeners.touch((key.keyholder_id,))
            elif not keyholders:  # a key removed, and nobody said whose it was
                self.listeners.touch_all()
        for keyholder_id in keyholders:
            self.timer.index.refresh_keyholder(keyholder_id)
            self.listeners.touch((keyholder_id,))
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
            self.listeners.touch(targets)
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
            self.listeners.notify()

    @callback
    def _undone(self) -> None:
        """Show everywhere that a change which could not be saved was undone."""
        self.timer.index.rebuild(dt_util.utcnow())
        self.listeners.touch_all()

    # -- timer ---------------------------------------------------------------

    @callback
    def _arm_timer(self) -> None:
        """Arm the single timer for the site's next transition."""
        self.timer.cancel()
        if self._closed:
            return
        # Arm from the stalest lock's plan, not from now: an edge that passed
        # while a slow lock was being written must still be applied (at once).
        after = min(
            (sync.planned_at for sync in self.syncs.values() if sync.planned_at),
            default=dt_util.utcnow(),
        )
        self.listeners.touch(self.timer.arm(after))

    async def _async_on_transition(self, _now: datetime) -> None:
        self.timer.due()
        await self.async_apply_changes()

    async def async_retry_now(self, lock_id: str) -> None:
        """Retry a failed lock at once (repair flow, lock back online)."""
        # This attempt takes the place of the pending retry and counts like it.
        self.syncs[lock_id].cancel_retry()
        await self.async_apply_changes({lock_id})

    def _back_callback(self, lock_id: str) -> Callable[[], None]:
        @callback
        def _on_back() -> None:
            if self.lock_status[lock_id].failures and not self._closed:
                LOGGER.debug("%s is reachable again", self.locks[lock_id].name)
                self.hass.async_create_task(self.async_retry_now(lock_id))

        return _on_back


type KeyholderConfigEntry = ConfigEntry[KeyholderRuntime]
