"""
One lock of a site: everything Keyholder knows about it, and how it is brought in line.

A :class:`LockSync` holds that lock's state (its sync status, the guard that
serialises what is done to it, writes awaiting read-back, the codes of others
read from it) and runs its passes: read -> plan (engine) -> diff -> write. It
composes its retry and read-back timers with the repair issue
(:mod:`.lock_retry`) and, for locks that hold schedules, the windows written
(:mod:`.lock_windows`). What it needs of the site it reads through
:class:`~.site_context.SiteContext` (the runtime).
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from homeassistant.util import dt as dt_util

from ..const import LOGGER
from ..families import ProviderError
from ..model.operations import Operation, diff
from ..model.plan import Credential, make_plan
from ..model.values import CredentialRef
from .lock_retry import LockRetry
from .lock_windows import LockWindows
from .site_context import SiteContext
from .slot_reports import (
    Held,
    Reported,
    Unconfirmed,
    check_writes_landed,
    confirmed,
    take_back_interrupted,
    take_refused,
)
from .state import LockInfo, LockStatus


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
        self._windows = LockWindows(site, self.lock_id)
        # Codes read from credentials Keyholder does not manage (last read). Secrets
        # of others: in memory only, never logged, saved or shown.
        self.foreign: frozenset[str] = frozenset()
        self._retry = LockRetry(site, info, self.status)

    @property
    def retry_armed(self) -> bool:
        """Return True while the lock waits for its next retry."""
        return self._retry.armed

    def stop(self) -> None:
        """Cancel the lock's timers (the site unloads)."""
        self._retry.stop()

    def cancel_retry(self) -> None:
        """Drop the pending retry: an attempt now takes its place and counts."""
        self._retry.cancel()

    async def async_sync(self) -> None:
        """Make the lock hold exactly what it should now (serialised)."""
        try:
            await self._async_sync_guarded()
        except asyncio.CancelledError:
            # This pass itself was cancelled (unload, Home Assistant stopping, a
            # caller that gave up): that propagates, but what the lock still
            # lacks is retried like any failure (not once the site is closing).
            if not self._site.closed:
                self._retry.record_failure(_interrupted())
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
                self._retry.record_failure(_interrupted())
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
                self._retry.record_failure(err)
            else:
                self._retry.record_success(awaiting_read_back=bool(self._unconfirmed))

    async def _async_pass(self, now: datetime) -> bool:
        """Sync the lock once; return True when the lock refused a code meanwhile."""
        provider = self.info.provider
        data = self._site.data
        written = data.written.setdefault(self.lock_id, {})
        reported = await self._async_read(written, now)
        unconfirmed = self._unconfirmed
        # Read after reading: a first read can reveal that the lock masks codes.
        caps = provider.capabilities
        # Where codes are masked, our record stands for what we wrote.
        actual = reported if caps.can_read_back else {**reported, **written}
        self.status.unmanaged = tuple(
            sorted(ref for ref in actual if ref not in written)
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
            ops += self._windows.changes(desired, written, ops, now)
        if ops:
            # On disk before the lock changes: a crash mid-write must not leave
            # codes on the lock that Keyholder no longer knows it wrote.
            data.pending[self.lock_id] = {
                op.ref: op.credential.secret if op.credential else None for op in ops
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
            self._retry.read_back_in(provider.settle_seconds + 1)
        return refused

    async def _async_read(self, written: Held, now: datetime) -> Reported:
        """
        Read what the lock holds and settle Keyholder's earlier writes against it.

        Takes back the slots of an interrupted pass, notes the codes the lock
        refused, fails a lock that lacks a settled write, lets go of managed
        slots changed behind Keyholder's back, and keeps the codes of others.
        Returns the lock's report.
        """
        provider = self.info.provider
        reported = dict(await provider.async_read_credentials())
        unconfirmed = self._unconfirmed
        if interrupted := self._site.data.pending.pop(self.lock_id, None):
            take_back_interrupted(reported, written, interrupted)
            # What the lock holds now settles those slots: no read-back is due
            # (a driver restarted mid-pass may not know its last write; the
            # slot is simply written again).
            for ref in interrupted:
                unconfirmed.pop(ref, None)
        settle = timedelta(seconds=provider.settle_seconds)
        for ref, code in take_refused(
            reported, written, unconfirmed, now - settle, provider.refusal
        ).items():
            self._code_refused(ref, code)
        check_writes_landed(reported, written, unconfirmed, now - settle)
        # A managed slot emptied or given another code behind our back is no
        # longer ours: never overwrite a code someone else put there. (A slot we
        # are still writing or clearing stays ours until the lock confirms.)
        for ref in [
            ref
            for ref, code in written.items()
            if ref not in unconfirmed and reported.get(ref, "") not in (code, None)
        ]:
            del written[ref]
        self.foreign = frozenset(
            code
            for ref, code in reported.items()
            if code is not None and ref not in written
        )
        return reported

    async def _async_run(
        self, ops: list[Operation], written: dict[CredentialRef, str], now: datetime
    ) -> bool:
        """Make the writes; return True when the lock refused a code."""
        provider = self.info.provider
        refused = False
        for op in ops:
            ref, credential = op.ref, op.credential
            if credential is None:
                LOGGER.debug("Clearing %s on %s", ref, self.info.name)
                await provider.async_clear_credential(ref)
                self._windows.cleared(ref)
                if not provider.settle_seconds:
                    written.pop(ref, None)
            else:
                LOGGER.debug("Setting %s on %s", ref, self.info.name)
                try:
                    await self._async_set(credential, now)
                except ProviderError as err:
                    if not err.refuses_code:
                        raise
                    self._code_refused(ref, credential.secret)
                    refused = True
                    continue
                written[ref] = credential.secret
            if provider.settle_seconds:
                self._unconfirmed[ref] = (
                    credential.secret if credential else None,
                    dt_util.utcnow(),
                )
        return refused

    async def _async_set(self, credential: Credential, now: datetime) -> None:
        """Write one credential, with its window where the lock enforces windows."""
        provider, ref = self.info.provider, credential.ref
        schedules = provider.capabilities.native_schedule
        valid = self._windows.validity(credential.key_id, now) if schedules else None
        await provider.async_set_credential(ref, credential.secret, valid=valid)
        if valid is not None:
            self._windows.written(ref, valid)

    def _code_refused(self, ref: CredentialRef, code: str) -> None:
        """Remember that the lock refused the code of the key planned at ``ref``."""
        if (key_id := self._site.data.site.owner_of(self.lock_id, ref)) is not None:
            self._site.placement.refuse(self.lock_id, key_id, code)

    def desired(self, now: datetime) -> dict[CredentialRef, Credential]:
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
            occupied={self.lock_id: status.unmanaged},
            refused={self.lock_id: placement.refused_keys(site, self.lock_id)},
        )
        moved = placement.update(site, self.lock_id, self.info.name, plan.unplaced)
        self._site.listeners.touch(
            key.keyholder_id
            for key_id in moved
            if (key := site.keys.get(key_id)) is not None
        )
        status.not_fitting = len(placement.of_lock(self.lock_id))
        desired = plan.desired[self.lock_id]
        status.desired = len(desired)
        return desired


def _cancelling() -> bool:
    """Return True when the running task itself is being cancelled."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


def _interrupted() -> ProviderError:
    return ProviderError("interrupted", "The lock call was interrupted")
