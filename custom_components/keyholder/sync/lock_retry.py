"""
When a lock is synced again by itself: after a failure, and to read writes back.

A :class:`LockRetry` holds the two timers of one lock's sync
(:class:`~.lock_sync.LockSync`): the retry after a failure, with bounded
exponential backoff (``RETRY_FIRST`` doubling up to ``RETRY_MAX``; a pass for
another reason does not move it), and the read-back once a lock whose report
trails its writes has had time to report. It keeps the lock's failure count in
its status and raises the repair issue after ``REPAIR_AFTER_FAILURES`` failures
in a row, withdrawn once the lock is in sync again.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from homeassistant.core import CALLBACK_TYPE
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.event import async_call_later
from homeassistant.util import dt as dt_util

from ..const import DOMAIN, LOGGER, REPAIR_AFTER_FAILURES, RETRY_FIRST, RETRY_MAX
from ..families import ProviderError
from .site_context import SiteContext
from .state import LockInfo, LockStatus, issue_id


class LockRetry:
    """The retry and read-back timers of one lock, and its repair issue."""

    def __init__(self, site: SiteContext, info: LockInfo, status: LockStatus) -> None:
        """Start with no timer armed."""
        self._site = site
        self._info = info
        self._status = status
        self._retry_unsub: CALLBACK_TYPE | None = None
        self._verify_unsub: CALLBACK_TYPE | None = None

    @property
    def armed(self) -> bool:
        """Return True while the lock waits for its next retry."""
        return self._retry_unsub is not None

    def stop(self) -> None:
        """Cancel both timers (the site unloads)."""
        for unsub in (self._retry_unsub, self._verify_unsub):
            if unsub:
                unsub()
        self._retry_unsub = self._verify_unsub = None

    def cancel(self) -> None:
        """Drop the pending retry: an attempt now takes its place and counts."""
        if self._retry_unsub:
            self._retry_unsub()
            self._retry_unsub = None

    def read_back_in(self, delay: float) -> None:
        """(Re)arm the read-back: sync the lock again in ``delay`` seconds."""
        self._verify_unsub = self._sync_later(self._verify_unsub, delay, verify=True)

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
            await self._site.async_apply_changes({self._info.lock_id})

        return async_call_later(self._site.hass, delay, _sync)

    def record_failure(self, err: ProviderError) -> None:
        """Count a failed pass, arm the retry, and raise the repair issue if due."""
        status = self._status
        status.last_error = err.reason
        if self._retry_unsub is not None:
            # A pass for another reason (an action, a schedule edge) reached a
            # lock that is already waiting for its retry: the backoff stands, so
            # an outage costs a bounded number of attempts however busy the site.
            LOGGER.debug(
                "%s still cannot be updated (%s); retry %d stands",
                self._info.name,
                err,
                status.failures,
            )
            return
        status.failures += 1
        delay = min(RETRY_FIRST * 2 ** (status.failures - 1), RETRY_MAX)
        status.next_retry = dt_util.utcnow() + timedelta(seconds=delay)
        name = self._info.name
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
                issue_id(self._info.lock_id),
                is_fixable=True,
                is_persistent=False,
                severity=ir.IssueSeverity.ERROR,
                translation_key="lock_unreachable",
                translation_placeholders={"lock": name, "error": err.reason},
                data={"entry_id": self._site.entry_id, "lock_id": self._info.lock_id},
            )

    def record_success(self, *, awaiting_read_back: bool) -> None:
        """End the failures of a pass that went through (once it is confirmed)."""
        self.cancel()
        status = self._status
        if awaiting_read_back:
            # Only acknowledged so far: the read-back (already scheduled) decides
            # whether the lock is fine, so earlier failures still count.
            status.next_retry = None
            return
        if status.failures:
            LOGGER.info("%s is in sync again", self._info.name)
        status.failures = 0
        status.last_error = None
        status.next_retry = None
        ir.async_delete_issue(self._site.hass, DOMAIN, issue_id(self._info.lock_id))
