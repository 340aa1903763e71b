"""
One lock of a site: everything Keyholder knows about it, and how it is brought in line.

A :class:`LockSync` holds that lock's state (its sync status, the guard that
serialises what is done to it, writes awaiting read-back, the windows written,
the codes of others read from it, its retry and read-back timers) and runs its
passes: read -> plan (engine) -> diff -> write, with bounded exponential backoff
and a repair issue after repeated failures. What it needs of the site it reads
through :class:`SiteContext` (the runtime).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol, cast

from homeassistant.core import CALLBACK_TYPE, HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.event import async_call_later
from homeassistant.util import dt as dt_util

from .const import DOMAIN, LOGGER, REPAIR_AFTER_FAILURES, RETRY_FIRST, RETRY_MAX
from .engine.plan import Credential, Operation, OpKind, diff, make_plan
from .engine.status import next_status_change
from .placement import Placements
from .providers import ProviderError, ScheduledLockProvider, Validity
from .slot_reports import (
    Unconfirmed,
    check_writes_landed,
    confirmed,
    take_back_interrupted,
    take_refused,
)
from .sync_state import LockInfo, LockStatus, issue_id

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from .store import SiteData


class SiteContext(Protocol):
    """What a lock's sync needs of its site (the runtime provides it)."""

    hass: HomeAssistant
    entry_id: str
    data: SiteData
    placement: Placements

    @property
    def tz(self) -> ZoneInfo:
        """The time zone schedules are evaluated in."""

    @property
    def closed(self) -> bool:
        """Whether the site is unloading (no timer is armed any more)."""

    async def async_save_pending(self) -> None:
        """Write the list of writes about to be made to disk."""

    def touch(self, scopes: Iterable[str]) -> None:
        """Mark keyholders whose entities must be written again."""

    async def async_apply_changes(self, lock_ids: set[str] | None = None) -> None:
        """Sync these locks now (and save, notify, re-arm the site's timer)."""


class LockSync:
    """The state and the passes of one lock."""

    def __init__(self, site: SiteContext, info: LockInfo) -> None:
        """Start knowing nothing of what the lock holds."""
        self._site = site
        self.info = info
        self.lock_id = info.lock_id
        self.status = LockStatus()
        self.guard = asyncio.Lock()
        """Serialises everything done to the lock."""
        self.planned_at: datetime | None = None
        """The instant the lock was last planned for, failed or not."""
        self._unconfirmed: Unconfirmed = {}
        # slot -> end of the window written (locks with native schedules)
        self._windows: dict[int, datetime | None] = {}
        # Codes read from slots Keyholder does not manage (last read). Secrets
        # of others: in memory only, never logged, saved or shown.
        self.foreign: frozenset[str] = frozenset()
        self._retry_unsub: CALLBACK_TYPE | None = None
        self._verify_unsub: CALLBACK_TYPE | None = None

    @property
    def retry_armed(self) -> bool:
        """Return True while the lock waits for its next retry."""
        return self._retry_unsub is not None

    def stop(self) -> None:
        """Cancel the lock's timers (the site unloads)."""
        for unsub in (self._retry_unsub, self._verify_unsub):
            if unsub:
                unsub()
        self._retry_unsub = self._verify_unsub = None

    def cancel_retry(self) -> None:
        """Drop the pending retry: an attempt now takes its place and counts."""
        if self._retry_unsub:
            self._retry_unsub()
            self._retry_unsub = None

    async def async_sync(self) -> None:
        """Make the lock hold exactly what it should now (serialised)."""
        try:
            await self._async_sync_guarded()
        except asyncio.CancelledError:
            # This pass itself was cancelled (unload, Home Assistant stopping, a
            # caller that gave up): that propagates, but what the lock still
            # lacks is retried like any failure (not once the site is closing).
            if not self._site.closed:
                self._record_failure(_interrupted())
            raise

    async def _async_sync_guarded(self) -> None:
        async with self.guard:
            # The instant this lock is planned for, failed or not (a failed lock
            # is retried by its own backoff timer, not by the transition timer).
            now = self.planned_at = dt_util.utcnow()
            self.status.checked = True
            try:
                # A code the lock refused leaves its slot to the next waiting
                # key: plan again at once (each round leaves out one more
                # refused key, so it ends).
                while await self._async_pass(now):
                    pass
            except asyncio.CancelledError, ConnectionError:
                if _cancelling():
                    raise
                # A lock call cancelled from below (the zwave_js client cancels
                # its commands in flight when its connection drops) or cut off
                # by the connection: a failure of this lock, retried, never a
                # pass that ends in silence.
                self.desired(now)
                self._record_failure(_interrupted())
            except Exception as err:  # noqa: BLE001
                if not isinstance(err, ProviderError):
                    # Anything else a lock family throws is a failure of that
                    # lock, retried like any other; its message may quote
                    # service data, so only its type is logged.
                    LOGGER.error(
                        "Unexpected %s while updating %s",
                        type(err).__name__,
                        self.info.name,
                    )
                    err = ProviderError("lock_error", type(err).__name__)
                # What the lock should hold is still worth showing.
                self.desired(now)
                self._record_failure(err)
            else:
                self._record_success()

    async def _async_pass(self, now: datetime) -> bool:
        """Sync the lock once; return True when the lock refused a code meanwhile."""
        provider = self.info.provider
        data = self._site.data
        written = data.written.setdefault(self.lock_id, {})
        reported = dict(await provider.async_read_slots())
        unconfirmed = self._unconfirmed
        if interrupted := data.pending.pop(self.lock_id, None):
            take_back_interrupted(reported, written, interrupted)
            # What the lock holds now settles those slots: no read-back is due
            # (a driver restarted mid-pass may not know its last write; the
            # slot is simply written again).
            for slot in interrupted:
                unconfirmed.pop(slot, None)
        settle = timedelta(seconds=provider.settle_seconds)
        for slot, code in take_refused(
            reported, written, unconfirmed, now - settle, provider.refusal
        ).items():
            self._code_refused(slot, code)
        check_writes_landed(reported, written, unconfirmed, now - settle)
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
        self.foreign = frozenset(
            code
            for slot, code in reported.items()
            if code is not None and slot not in written
        )
        # Where codes are masked, our record stands for what we wrote.
        actual = reported if caps.can_read_back else {**reported, **written}
        self.status.unmanaged_slots = tuple(
            sorted(slot for slot in actual if slot not in written)
        )
        desired = self.desired(now)
        self.status.confirmed = confirmed(desired, written, unconfirmed)
        ops = diff(
            self.lock_id,
            desired,
            actual,
            managed=written.keys(),
            can_read_back=caps.can_read_back,
        )
        if caps.native_schedule:
            ops += self._window_changes(desired, written, ops, now)
        if ops:
            # On disk before the lock changes: a crash mid-write must not leave
            # codes on the lock that Keyholder no longer knows it wrote.
            data.pending[self.lock_id] = {
                op.slot: op.credential.secret if op.credential else None for op in ops
            }
            await self._site.async_save_pending()
        refused = await self._async_run(ops, written, now)
        # Done: what was written is in ``written``, saved with the site's next
        # write (the pending writes on disk stand for it until then).
        data.pending.pop(self.lock_id, None)
        self.status.confirmed = confirmed(desired, written, unconfirmed)
        self.status.unconfirmed = len(unconfirmed)
        if ops and provider.settle_seconds:
            # Read back once the lock has had time to report what it now holds.
            self._verify_unsub = self._sync_later(
                self._verify_unsub, provider.settle_seconds + 1, verify=True
            )
        return refused

    async def _async_run(
        self, ops: list[Operation], written: dict[int, str], now: datetime
    ) -> bool:
        """Make the writes; return True when the lock refused a code."""
        provider = self.info.provider
        refused = False
        for op in ops:
            slot, credential = op.slot, op.credential
            if credential is None:
                LOGGER.debug("Clearing slot %s on %s", slot, self.info.name)
                await provider.async_clear_code(slot)
                self._windows.pop(slot, None)
                if not provider.settle_seconds:
                    written.pop(slot, None)
            else:
                LOGGER.debug("Setting slot %s on %s", slot, self.info.name)
                try:
                    await self._async_set(slot, credential, now)
                except ProviderError as err:
                    if not err.refuses_code:
                        raise
                    self._code_refused(slot, credential.secret)
                    refused = True
                    continue
                written[slot] = credential.secret
            if provider.settle_seconds:
                self._unconfirmed[slot] = (
                    credential.secret if credential else None,
                    dt_util.utcnow(),
                )
        return refused

    async def _async_set(
        self, slot: int, credential: Credential, now: datetime
    ) -> None:
        """Write one code, with its window where the lock enforces windows."""
        provider = self.info.provider
        if not provider.capabilities.native_schedule:
            await provider.async_set_code(slot, credential.secret)
            return
        valid = self._validity(credential.key_id, now)
        await cast("ScheduledLockProvider", provider).async_set_code(
            slot, credential.secret, valid=valid
        )
        self._windows[slot] = valid[1]

    def _code_refused(self, slot: int, code: str) -> None:
        """Remember that the lock refused the code of the key planned in ``slot``."""
        if (key_id := self._site.data.site.slot_owner(self.lock_id, slot)) is not None:
            self._site.placement.refuse(self.lock_id, key_id, code)

    def _validity(self, key_id: str, now: datetime) -> Validity:
        """Return the window of a key effective at ``now``: until it stops working."""
        site = self._site.data.site
        key = site.keys[key_id]
        holder = site.keyholders[key.keyholder_id]
        return now, next_status_change(key, holder, now, self._site.tz)

    def _window_changes(
        self,
        desired: dict[int, Credential],
        written: dict[int, str],
        ops: list[Operation],
        now: datetime,
    ) -> list[Operation]:
        """
        Rewrite codes whose window changed (or is not known since the start).

        The provider skips a write the lock already holds with that window.
        """
        windows = self._windows
        touched = {op.slot for op in ops}
        return [
            Operation(OpKind.SET, self.lock_id, slot, credential)
            for slot, credential in sorted(desired.items())
            if slot not in touched
            and written.get(slot) == credential.secret
            and (
                slot not in windows
                or windows[slot] != self._validity(credential.key_id, now)[1]
            )
        ]

    def desired(self, now: datetime) -> dict[int, Credential]:
        """Plan what the lock should hold now, around its last known foreign codes."""
        site, placement, status = (
            self._site.data.site,
            self._site.placement,
            self.status,
        )
        plan = make_plan(
            site,
            {self.lock_id: self.info.provider.capabilities},
            now,
            self._site.tz,
            occupied={self.lock_id: status.unmanaged_slots},
            refused={self.lock_id: placement.refused_keys(site, self.lock_id)},
        )
        moved = placement.update(site, self.lock_id, self.info.name, plan.unplaced)
        self._site.touch(
            key.keyholder_id
            for key_id in moved
            if (key := site.keys.get(key_id)) is not None
        )
        status.not_fitting = len(placement.of_lock(self.lock_id))
        desired = plan.desired[self.lock_id]
        status.desired = len(desired)
        return desired

    def _sync_later(
        self, unsub: CALLBACK_TYPE | None, delay: float, *, verify: bool
    ) -> CALLBACK_TYPE | None:
        """(Re)arm one of the lock's timers (retry or read-back); return it."""
        if unsub:
            unsub()
        if self._site.closed:
            return None

        async def _sync(_now: datetime) -> None:
            if verify:
                self._verify_unsub = None
            else:
                self._retry_unsub = None
            await self._site.async_apply_changes({self.lock_id})

        return async_call_later(self._site.hass, delay, _sync)

    def _record_failure(self, err: ProviderError) -> None:
        status = self.status
        status.last_error = err.reason
        if self._retry_unsub is not None:
            # A pass for another reason (an action, a schedule edge) reached a
            # lock that is already waiting for its retry: the backoff stands, so
            # an outage costs a bounded number of attempts however busy the site.
            LOGGER.debug(
                "%s still cannot be updated (%s); retry %d stands",
                self.info.name,
                err,
                status.failures,
            )
            return
        status.failures += 1
        delay = min(RETRY_FIRST * 2 ** (status.failures - 1), RETRY_MAX)
        status.next_retry = dt_util.utcnow() + timedelta(seconds=delay)
        name = self.info.name
        LOGGER.warning(
            "%s could not be updated (%s); retry %d in %d s",
            name,
            err,
            status.failures,
            delay,
        )
        self._retry_unsub = self._sync_later(None, delay, verify=False)
        if status.failures >= REPAIR_AFTER_FAILURES:
            ir.async_create_issue(
                self._site.hass,
                DOMAIN,
                issue_id(self.lock_id),
                is_fixable=True,
                is_persistent=False,
                severity=ir.IssueSeverity.ERROR,
                translation_key="lock_unreachable",
                translation_placeholders={"lock": name, "error": err.reason},
                data={"entry_id": self._site.entry_id, "lock_id": self.lock_id},
            )

    def _record_success(self) -> None:
        self.cancel_retry()
        status = self.status
        if self._unconfirmed:
            # Only acknowledged so far: the read-back (already scheduled) decides
            # whether the lock is fine, so earlier failures still count.
            status.next_retry = None
            return
        if status.failures:
            LOGGER.info("%s is in sync again", self.info.name)
        status.failures = 0
        status.last_error = None
        status.next_retry = None
        ir.async_delete_issue(self._site.hass, DOMAIN, issue_id(self.lock_id))


def _cancelling() -> bool:
    """Return True when the running task itself is being cancelled."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


def _interrupted() -> ProviderError:
    return ProviderError("interrupted", "The lock call was interrupted")
