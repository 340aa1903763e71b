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
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol, cast
from zoneinfo import ZoneInfo

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.event import async_call_later, async_track_point_in_utc_time
from homeassistant.util import dt as dt_util

from .const import (
    ATTR_KEY_ID,
    ATTR_KEYHOLDER,
    ATTR_KEYHOLDER_ID,
    ATTR_LOCK,
    ATTR_LOCK_ID,
    ATTR_METHOD,
    ATTR_RESULT,
    DOMAIN,
    EVENT_ACCESS,
    LOGGER,
    REPAIR_AFTER_FAILURES,
    RETRY_FIRST,
    RETRY_MAX,
    SAVE_RETRY,
)
from .engine.model import Key, Keyholder, Site
from .engine.plan import Credential, Operation, OpKind, diff, make_plan, record_use
from .engine.serialize import site_from_dict
from .engine.status import Status, key_status, next_status_change
from .engine.transitions import TransitionIndex
from .placement import Placements
from .providers import (
    LockProvider,
    ProviderError,
    Refusal,
    RefusalReporter,
    ScheduledLockProvider,
    Validity,
)
from .store import KeyholderStore, SiteData
from .store_file import StoreWriteError


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


class SyncState(StrEnum):
    """How far a lock is from what it should hold."""

    IN_SYNC = "in_sync"
    PENDING = "pending"
    FAILED = "failed"
    INCOMPLETE = "incomplete"
    """The lock holds what it can, but keys it should hold do not fit."""


class AccessResult(StrEnum):
    """What happened at a lock."""

    UNLOCKED = "unlocked"
    DENIED = "denied"
    LOCKED_OUT = "locked_out"
    """Refused unchecked: the keypad is locked out after too many wrong codes."""


@dataclass(slots=True)
class LockStatus:
    """The sync status of one lock, shown by its sync sensor."""

    desired: int = 0
    confirmed: int = 0
    failures: int = 0
    last_error: str | None = None
    next_retry: datetime | None = None
    unmanaged_slots: tuple[int, ...] = ()
    unconfirmed: int = 0
    checked: bool = False
    """Whether a pass has reached the lock since the site started."""
    not_fitting: int = 0
    """How many keys the lock should hold but cannot (no free slot, refused)."""

    @property
    def state(self) -> SyncState:
        """Return in sync, pending, failed, or incomplete (keys do not fit)."""
        if self.failures:
            return SyncState.FAILED
        if not self.checked or self.confirmed != self.desired or self.unconfirmed:
            return SyncState.PENDING
        if self.not_fitting:
            return SyncState.INCOMPLETE
        return SyncState.IN_SYNC


@dataclass(frozen=True, slots=True)
class AccessEvent:
    """One attempt at a lock, as shown by the event entity and the logbook."""

    lock_id: str
    result: AccessResult
    keyholder_id: str | None = None
    key_id: str | None = None
    method: str = "passcode"


@dataclass(frozen=True, slots=True)
class LockInfo:
    """A lock of the site: its name and the provider that drives it."""

    lock_id: str
    name: str
    provider: LockProvider


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
        self._store = store
        self.data = data
        self.locks = locks
        self.lock_status: dict[str, LockStatus] = {lid: LockStatus() for lid in locks}
        self._lock_guards = {lock_id: asyncio.Lock() for lock_id in locks}
        self._planned_at: dict[str, datetime] = {}
        # lock -> slot -> (value written, None if cleared; when) awaiting read-back
        self._unconfirmed: dict[str, dict[int, tuple[str | None, datetime]]] = {}
        # lock -> slot -> end of the window written (locks with native schedules)
        self._windows: dict[str, dict[int, datetime | None]] = {}
        # lock -> codes read from slots Keyholder does not manage (last read).
        # Secrets of others: in memory only, never logged, saved or shown.
        self._foreign: dict[str, frozenset[str]] = {}
        self._verify_unsubs: dict[str, CALLBACK_TYPE] = {}
        self._retry_unsubs: dict[str, CALLBACK_TYPE] = {}
        self._timer_unsub: CALLBACK_TYPE | None = None
        self._save_retry_unsub: CALLBACK_TYPE | None = None
        self.next_transition: datetime | None = None
        self._index = TransitionIndex(data.site, self.tz, dt_util.utcnow())
        # scope (a lock's or keyholder's id; None: the whole site) -> updates
        self._listeners: dict[str | None, list[Callable[[], None]]] = {}
        # Scopes whose entities show something that changed since the last
        # notification (None: all of them).
        self._stale: set[str] | None = set()
        self._access_listeners: list[Callable[[AccessEvent], None]] = []
        self._keyholder_listeners: list[Callable[[str], None]] = []
        self.signature: tuple[Any, ...] = ()
        # subentry id -> (data, title) each keyholder was last built from
        self.keyholder_sources: dict[str, tuple[Any, str]] = {}
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
            for code in self._foreign.get(lock_id, ()):
                found.setdefault(code, lock_id)
        return found

    def not_on_locks(self, key_id: str) -> list[dict[str, str]]:
        """Describe the locks a key should be on but is not (and why; no codes)."""
        names = {lock_id: info.name for lock_id, info in self.locks.items()}
        return self.placement.describe(key_id, names)

    def lock_guard(self, lock_id: str) -> asyncio.Lock:
        """Return the guard that serialises everything done to one lock."""
        return self._lock_guards[lock_id]

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

    @callback
    def _touch(self, scopes: Iterable[str]) -> None:
        """Mark locks or keyholders whose entities must be written again."""
        if self._stale is not None:
            self._stale.update(scopes)

    @callback
    def _notify(self) -> None:
        stale, self._stale = self._stale, set()
        for scope, updates in list(self._listeners.items()):
            if scope is None or stale is None or scope in stale:
                for update in list(updates):
                    update()

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
        if self._save_retry_unsub:
            # A save after a sync failed and waits for its retry: try it now.
            self._save_retry_unsub()
            self._save_retry_unsub = None
            with contextlib.suppress(StoreWriteError):
                await self.async_save()
        for unsubs in (self._retry_unsubs, self._verify_unsubs):
            for unsub in unsubs.values():
                unsub()
            unsubs.clear()

    async def async_save(self) -> None:
        """Persist the site now."""
        await self._store.async_save(self.data)

    async def async_apply_changes(
        self,
        lock_ids: set[str] | None = None,
        *,
        keys: Iterable[str] = (),
        keyholders: Iterable[str] = (),
    ) -> None:
        """
        Save, then sync the given locks (all by default) and re-arm the timer.

        ``keys`` and ``keyholders`` name what changed, so that the index of the
        next transition recomputes just those.
        """
        for key_id in keys:
            self._index.refresh_key(key_id)
            if (key := self.site.keys.get(key_id)) is not None:
                self._touch((key.keyholder_id,))
            else:  # a key removed: whose it was is not known any more
                self._stale = None
        for keyholder_id in keyholders:
            self._index.refresh_keyholder(keyholder_id)
            self._touch((keyholder_id,))
        self._busy += 1
        self._idle.clear()
        try:
            await self._async_save_or_undo()
            targets = (
                self.locks.keys() if lock_ids is None else lock_ids & self.locks.keys()
            )
            self._touch(targets)
            await asyncio.gather(
                *(self._async_sync_lock(lock_id) for lock_id in targets)
            )
            await self._async_save_after_pass()
        finally:
            self._busy -= 1
            if not self._busy:
                self._idle.set()
            # Whatever happened, the next transition stays armed.
            self._arm_timer()
            self._notify()

    async def _async_save_or_undo(self) -> None:
        """
        Save a change before any lock hears of it, or undo it.

        A change that is not on disk would be lost at the next restart while
        its key already opened doors: the model goes back to what the file
        holds and the caller is told (nothing is answered as done).
        """
        try:
            await self.async_save()
        except StoreWriteError as err:
            self.site.replace_all(site_from_dict(self._store.saved_site))
            self._index.rebuild(dt_util.utcnow())
            self._stale = None
            LOGGER.error(
                "Could not save %s (%s); the change was undone",
                self.entry_id,
                err.reason,
            )
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="save_failed",
                translation_placeholders={"error": err.reason},
            ) from err

    async def _async_save_after_pass(self) -> None:
        """Save what the locks now hold; a failure is tried again shortly."""
        if self._save_retry_unsub:
            self._save_retry_unsub()
            self._save_retry_unsub = None
        try:
            await self.async_save()
        except StoreWriteError as err:
            # The change itself is saved; what the locks hold is also in the
            # list of pending writes until this succeeds.
            LOGGER.error(
                "Could not save %s after a sync (%s); trying again in %d s",
                self.entry_id,
                err.reason,
                SAVE_RETRY,
            )
            if not self._closed:
                self._save_retry_unsub = async_call_later(
                    self.hass, SAVE_RETRY, self._async_retry_save
                )

    async def _async_retry_save(self, _now: datetime) -> None:
        self._save_retry_unsub = None
        await self._async_save_after_pass()

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
        after = min(self._planned_at.values(), default=dt_util.utcnow())
        self.next_transition = self._index.next_change(after)
        self._touch(self._index.take_passed())
        if self.next_transition is None:
            return
        LOGGER.debug("Next transition at %s", self.next_transition.isoformat())
        self._timer_unsub = async_track_point_in_utc_time(
            self.hass, self._async_on_transition, self.next_transition
        )

    async def _async_on_transition(self, _now: datetime) -> None:
        self._timer_unsub = None
        await self.async_apply_changes()

    # -- per-lock sync -------------------------------------------------------

    async def _async_sync_lock(self, lock_id: str) -> None:
        """Make one lock hold exactly what it should now (serialised per lock)."""
        status = self.lock_status[lock_id]
        try:
            await self._async_sync_lock_guarded(lock_id, status)
        except asyncio.CancelledError:
            # This pass itself was cancelled (unload, Home Assistant stopping, a
            # caller that gave up): that propagates, but what the lock still
            # lacks is retried like any failure (not once the site is closing).
            if not self._closed:
                self._record_failure(lock_id, status, _interrupted())
            raise

    async def _async_sync_lock_guarded(self, lock_id: str, status: LockStatus) -> None:
        async with self._lock_guards[lock_id]:
            # The instant this lock is planned for, failed or not (a failed lock
            # is retried by its own backoff timer, not by the transition timer).
            now = self._planned_at[lock_id] = dt_util.utcnow()
            status.checked = True
            try:
                await self._async_sync_lock_unguarded(lock_id, status, now)
            except asyncio.CancelledError, ConnectionError:
                if _cancelling():
                    raise
                # A lock call cancelled from below (the zwave_js client cancels
                # its commands in flight when its connection drops) or cut off
                # by the connection: a failure of this lock, retried, never a
                # pass that ends in silence.
                self._desired(lock_id, now)
                self._record_failure(lock_id, status, _interrupted())
            except Exception as err:  # noqa: BLE001
                if not isinstance(err, ProviderError):
                    # Anything else a lock family throws is a failure of that
                    # lock, retried like any other; its message may quote
                    # service data, so only its type is logged.
                    LOGGER.error(
                        "Unexpected %s while updating %s",
                        type(err).__name__,
                        self.locks[lock_id].name,
                    )
                    err = ProviderError("lock_error", type(err).__name__)
                # What the lock should hold is still worth showing.
                self._desired(lock_id, now)
                self._record_failure(lock_id, status, err)
            else:
                self._record_success(lock_id, status)

    async def _async_sync_lock_unguarded(
        self, lock_id: str, status: LockStatus, now: datetime
    ) -> None:
        # A code the lock refused leaves its slot to the next waiting key: plan
        # again at once (each round leaves out one more refused key, so it ends).
        while await self._async_pass(lock_id, status, now):
            pass

    async def _async_pass(
        self, lock_id: str, status: LockStatus, now: datetime
    ) -> bool:
        """Sync a lock once; return True when the lock refused a code meanwhile."""
        provider = self.locks[lock_id].provider
        written = self.data.written.setdefault(lock_id, {})
        reported = dict(await provider.async_read_slots())
        unconfirmed = self._unconfirmed.setdefault(lock_id, {})
        if interrupted := self.data.pending.pop(lock_id, None):
            _take_back_interrupted(reported, written, interrupted)
            # What the lock holds now settles those slots: no read-back is due
            # (a driver restarted mid-pass may not know its last write; the
            # slot is simply written again).
            for slot in interrupted:
                unconfirmed.pop(slot, None)
        settle = timedelta(seconds=provider.settle_seconds)
        for slot, code in _take_refused(
            reported, written, unconfirmed, now - settle, provider.refusal
        ).items():
            self._code_refused(lock_id, slot, code)
        _check_writes_landed(reported, written, unconfirmed, now - settle)
        # Read after reading: a first read can reveal that the lock masks codes.
        caps = provider.capabilities
        # A managed slot emptied or given another code behind our back is no
        # longer ours: never overwrite a code someone else put there. (A slot we
        # are still writing or clearing stays ours until the lock confirms.)
        for slot in [
            slot
            for slot, code in written.items()
            if slot not in unconfirmed and reported.get(slot, "") not in (code, None)
        ]:
            del written[slot]
        self._foreign[lock_id] = frozenset(
            code
            for slot, code in reported.items()
            if code is not None and slot not in written
        )
        # Where codes are masked, our record stands for what we wrote.
        actual = reported if caps.can_read_back else {**reported, **written}
        status.unmanaged_slots = tuple(
            sorted(slot for slot in actual if slot not in written)
        )
        desired = self._desired(lock_id, now)
        status.confirmed = self._confirmed(desired, written, unconfirmed)
        ops = diff(
            lock_id,
            desired,
            actual,
            managed=written.keys(),
            can_read_back=caps.can_read_back,
        )
        windows = self._windows.setdefault(lock_id, {})
        if caps.native_schedule:
            ops += self._window_changes(lock_id, desired, written, ops, now)
        if ops:
            # On disk before the lock changes: a crash mid-write must not leave
            # codes on the lock that Keyholder no longer knows it wrote.
            self.data.pending[lock_id] = {
                op.slot: op.credential.secret if op.credential else None for op in ops
            }
            await self._store.async_save_pending(self.data)
        refused = False
        for op in ops:
            slot, credential = op.slot, op.credential
            if credential is None:
                LOGGER.debug("Clearing slot %s on %s", slot, self.locks[lock_id].name)
                await provider.async_clear_code(slot)
                windows.pop(slot, None)
                if not provider.settle_seconds:
                    written.pop(slot, None)
            else:
                LOGGER.debug("Setting slot %s on %s", slot, self.locks[lock_id].name)
                try:
                    await self._async_set(lock_id, slot, credential, now)
                except ProviderError as err:
                    if not err.refuses_code:
                        raise
                    self._code_refused(lock_id, slot, credential.secret)
                    refused = True
                    continue
                written[slot] = credential.secret
            if provider.settle_seconds:
                unconfirmed[slot] = (
                    credential.secret if credential else None,
                    dt_util.utcnow(),
                )
        # Done: what was written is in ``written``, saved at the end of the pass
        # (the list of pending writes on disk is emptied only after that).
        self.data.pending.pop(lock_id, None)
        status.confirmed = self._confirmed(desired, written, unconfirmed)
        status.unconfirmed = len(unconfirmed)
        if ops and provider.settle_seconds:
            # Read back once the lock has had time to report what it now holds.
            self._sync_later(self._verify_unsubs, lock_id, provider.settle_seconds + 1)
        return refused

    async def _async_set(
        self, lock_id: str, slot: int, credential: Credential, now: datetime
    ) -> None:
        """Write one code, with its window where the lock enforces windows."""
        provider = self.locks[lock_id].provider
        if not provider.capabilities.native_schedule:
            await provider.async_set_code(slot, credential.secret)
            return
        valid = self._validity(credential.key_id, now)
        await cast("ScheduledLockProvider", provider).async_set_code(
            slot, credential.secret, valid=valid
        )
        self._windows.setdefault(lock_id, {})[slot] = valid[1]

    def _code_refused(self, lock_id: str, slot: int, code: str) -> None:
        """Remember that the lock refused the code of the key planned in ``slot``."""
        if (key_id := self.site.slot_owner(lock_id, slot)) is not None:
            self.placement.refuse(lock_id, key_id, code)

    def _validity(self, key_id: str, now: datetime) -> Validity:
        """Return the window of a key effective at ``now``: until it stops working."""
        key = self.site.keys[key_id]
        holder = self.site.keyholders[key.keyholder_id]
        return now, next_status_change(key, holder, now, self.tz)

    def _window_changes(
        self,
        lock_id: str,
        desired: dict[int, Credential],
        written: dict[int, str],
        ops: list[Operation],
        now: datetime,
    ) -> list[Operation]:
        """
        Rewrite codes whose window changed (or is not known since the start).

        The provider skips a write the lock already holds with that window.
        """
        windows = self._windows.setdefault(lock_id, {})
        touched = {op.slot for op in ops}
        return [
            Operation(OpKind.SET, lock_id, slot, credential)
            for slot, credential in sorted(desired.items())
            if slot not in touched
            and written.get(slot) == credential.secret
            and (
                slot not in windows
                or windows[slot] != self._validity(credential.key_id, now)[1]
            )
        ]

    def _desired(self, lock_id: str, now: datetime) -> dict[int, Credential]:
        """Plan what the lock should hold now, around its last known foreign codes."""
        status = self.lock_status[lock_id]
        plan = make_plan(
            self.site,
            {lock_id: self.locks[lock_id].provider.capabilities},
            now,
            self.tz,
            occupied={lock_id: status.unmanaged_slots},
            refused={lock_id: self.placement.refused_keys(self.site, lock_id)},
        )
        moved = self.placement.update(
            self.site, lock_id, self.locks[lock_id].name, plan.unplaced
        )
        self._touch(
            key.keyholder_id
            for key_id in moved
            if (key := self.site.keys.get(key_id)) is not None
        )
        status.not_fitting = len(self.placement.of_lock(lock_id))
        desired = plan.desired[lock_id]
        status.desired = len(desired)
        return desired

    @staticmethod
    def _confirmed(
        desired: dict[int, Credential],
        written: dict[int, str],
        unconfirmed: dict[int, tuple[str | None, datetime]],
    ) -> int:
        return sum(
            1
            for slot, cred in desired.items()
            if written.get(slot) == cred.secret and slot not in unconfirmed
        )

    def _sync_later(
        self, timers: dict[str, CALLBACK_TYPE], lock_id: str, delay: float
    ) -> None:
        """(Re)arm one of a lock's timers (retry or read-back) to sync it later."""
        if unsub := timers.pop(lock_id, None):
            unsub()
        if self._closed:
            return

        async def _sync(_now: datetime) -> None:
            timers.pop(lock_id, None)
            await self.async_apply_changes({lock_id})

        timers[lock_id] = async_call_later(self.hass, delay, _sync)

    def _record_failure(
        self, lock_id: str, status: LockStatus, err: ProviderError
    ) -> None:
        status.last_error = err.reason
        if lock_id in self._retry_unsubs:
            # A pass for another reason (an action, a schedule edge) reached a
            # lock that is already waiting for its retry: the backoff stands, so
            # an outage costs a bounded number of attempts however busy the site.
            LOGGER.debug(
                "%s still cannot be updated (%s); retry %d stands",
                self.locks[lock_id].name,
                err,
                status.failures,
            )
            return
        status.failures += 1
        delay = min(RETRY_FIRST * 2 ** (status.failures - 1), RETRY_MAX)
        status.next_retry = dt_util.utcnow() + timedelta(seconds=delay)
        name = self.locks[lock_id].name
        LOGGER.warning(
            "%s could not be updated (%s); retry %d in %d s",
            name,
            err,
            status.failures,
            delay,
        )
        self._sync_later(self._retry_unsubs, lock_id, delay)
        if status.failures >= REPAIR_AFTER_FAILURES:
            ir.async_create_issue(
                self.hass,
                DOMAIN,
                issue_id(lock_id),
                is_fixable=True,
                is_persistent=False,
                severity=ir.IssueSeverity.ERROR,
                translation_key="lock_unreachable",
                translation_placeholders={"lock": name, "error": err.reason},
                data={"entry_id": self.entry_id, "lock_id": lock_id},
            )

    def _record_success(self, lock_id: str, status: LockStatus) -> None:
        if unsub := self._retry_unsubs.pop(lock_id, None):
            unsub()
        if self._unconfirmed.get(lock_id):
            # Only acknowledged so far: the read-back (already scheduled) decides
            # whether the lock is fine, so earlier failures still count.
            status.next_retry = None
            return
        if status.failures:
            LOGGER.info("%s is in sync again", self.locks[lock_id].name)
        status.failures = 0
        status.last_error = None
        status.next_retry = None
        ir.async_delete_issue(self.hass, DOMAIN, issue_id(lock_id))

    async def async_retry_now(self, lock_id: str) -> None:
        """Retry a failed lock at once (repair flow, lock back online)."""
        # This attempt takes the place of the pending retry and counts like it.
        if unsub := self._retry_unsubs.pop(lock_id, None):
            unsub()
        await self.async_apply_changes({lock_id})

    # -- access at a lock ------------------------------------------------------

    async def async_keypad_code(self, lock_id: str, slot: int | None) -> AccessEvent:
        """
        Record a code typed at a keypad Keyholder checks (the virtual lock).

        ``slot`` is where the lock holds the typed code (None: nowhere). The
        engine double-checks that the slot's key is active right now.
        """
        key_id = self.site.slot_owner(lock_id, slot) if slot is not None else None
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

    def _usage_callback(self, lock_id: str) -> Callable[[int], None]:
        @callback
        def _on_use(slot: int) -> None:
            self.hass.async_create_task(self.async_lock_reported_use(lock_id, slot))

        return _on_use

    async def async_lock_reported_use(self, lock_id: str, slot: int) -> AccessEvent:
        """Record that a lock opened with the code in ``slot`` (the lock decided)."""
        return await self._async_unlocked(lock_id, self.site.slot_owner(lock_id, slot))

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


def _check_writes_landed(
    reported: dict[int, str | None],
    written: dict[int, str],
    unconfirmed: dict[int, tuple[str | None, datetime]],
    settled_before: datetime,
) -> None:
    """
    Fail a lock whose report, once settled, lacks what Keyholder wrote.

    A lock can acknowledge a write and still not take it (rejected code,
    unreachable node holding the write); only reading back tells. Writes made
    before ``settled_before`` are checked and forgotten. A cleared slot stays
    Keyholder's until the lock confirms it is empty, so a lost clear is retried
    instead of the code being taken for someone else's.
    """
    missing = []
    for slot, (value, when) in list(unconfirmed.items()):
        if when > settled_before:
            continue
        del unconfirmed[slot]
        if value is None:
            if slot in reported:
                missing.append(slot)
            else:
                written.pop(slot, None)
        elif slot not in reported or reported[slot] not in (value, None):
            missing.append(slot)
    if missing:
        raise ProviderError(
            "write_not_confirmed", f"The lock did not confirm slots {sorted(missing)}"
        )


def _take_refused(
    reported: dict[int, str | None],
    written: dict[int, str],
    unconfirmed: dict[int, tuple[str | None, datetime]],
    settled_before: datetime,
    refusal: Callable[[int], str | None],
) -> dict[int, str]:
    """
    Take the settled writes the lock did not take and said it refused.

    Returns slot -> code refused. Such a slot keeps what it held before the
    write (Keyholder's, so a code left there is cleared), and is no failure.
    """
    refused: dict[int, str] = {}
    for slot, (value, when) in list(unconfirmed.items()):
        held = reported.get(slot)
        landed = slot in reported and held in (value, None)
        if value is None or when > settled_before or landed or not refusal(slot):
            continue
        del unconfirmed[slot]
        refused[slot] = value
        if held is None:
            written.pop(slot, None)
        else:
            written[slot] = held
    return refused


def _take_back_interrupted(
    reported: dict[int, str | None],
    written: dict[int, str],
    interrupted: dict[int, str | None],
) -> None:
    """
    Settle the slots of writes a pass started but may not have finished.

    Each slot holds either what Keyholder had there or what it was writing
    (a masked slot may hold either): both are Keyholder's. An emptied slot is
    no longer managed; a third code is someone else's and is left alone.
    """
    for slot, code in interrupted.items():
        if slot not in reported:
            written.pop(slot, None)
            continue
        held = reported[slot]
        if code is not None and held in (code, None):
            written[slot] = code
        elif held is not None and held != written.get(slot):
            written.pop(slot, None)


def _cancelling() -> bool:
    """Return True when the running task itself is being cancelled."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


def _interrupted() -> ProviderError:
    return ProviderError("interrupted", "The lock call was interrupted")


def issue_id(lock_id: str) -> str:
    """Return the repair issue id of a lock that keeps failing."""
    return f"lock_unreachable_{lock_id}"
