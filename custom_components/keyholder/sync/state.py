"""What Keyholder tells about a lock: its sync state and what happened at it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from ..families import LockProvider
from ..model.values import CredentialRef


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
    unmanaged: tuple[CredentialRef, ...] = ()
    """What the lock holds that Keyholder did not write (where, never what)."""
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


def issue_id(lock_id: str) -> str:
    """Return the repair issue id of a lock that keeps failing."""
    return f"lock_unreachable_{lock_id}"
