"""
One description of keyholders, keys and locks, for every adapter.

The actions, the websocket, the sensors, the diagnostics and the calendar
describe what the runtime holds through these functions; each adapter takes
the fields it shows, under the names it has always shown them. A description
never holds a secret: no passcode, no tag UID (a passcode is only returned
once, by the action that makes it).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from homeassistant.util import dt as dt_util

from ..model.status import (
    Status,
    key_status,
    keyholder_next_change,
    keyholder_status,
    next_status_change,
)
from ..model.values import Key, KeyKind, Role, Schedule
from ..sync.runtime import KeyholderRuntime
from ..sync.state import SyncState
from .grants import personal_grant_id


def lock_names(runtime: KeyholderRuntime, lock_ids: Iterable[str]) -> list[str]:
    """Return the names of the site's locks among ``lock_ids``, sorted."""
    locks = runtime.locks
    return sorted(locks[lock_id].name for lock_id in lock_ids if lock_id in locks)


def iso(value: datetime | date | None) -> str | None:
    """Return an instant or a day as ISO text (None stays None)."""
    return value.isoformat() if value else None


@dataclass(frozen=True, slots=True)
class KeyDescription:
    """A key as every adapter shows it (never its code or tag)."""

    id: str
    name: str
    kind: KeyKind
    keyholder_id: str
    keyholder: str
    """The keyholder's full name."""
    status: Status
    next_change: datetime | None
    """When the status changes next with the passage of time (None: never)."""
    cancelled: bool
    lock_ids: tuple[str, ...]
    """The site's locks the key is for, by id, sorted."""
    locks: tuple[str, ...]
    """The names of those locks, sorted."""
    not_on_locks: tuple[dict[str, str], ...]
    """Locks the key should be on now but is not: lock, lock_id, reason."""
    uses: int
    max_uses: int | None
    schedule: Schedule
    """The key's own schedule (a limit on its keyholder's access)."""
    follows_access: bool = False
    """The key opens whatever its keyholder's access allows (no locks of its own)."""
    lock_statuses: tuple[tuple[str, str, Status], ...] = ()
    """(lock id, lock name, status) for each of ``lock_ids``: its access there."""


@dataclass(frozen=True, slots=True)
class KeyholderDescription:
    """A keyholder with their keys (live keys first, then cancelled; by id)."""

    id: str
    name: str
    role: Role
    blocked: bool
    active_from: datetime | None
    expires_on: date | None
    status: Status
    next_change: datetime | None
    """The first change of the keyholder's status or of any key's."""
    keys: tuple[KeyDescription, ...]

    @property
    def live_keys(self) -> tuple[KeyDescription, ...]:
        """Return the keys that were not cancelled."""
        return tuple(key for key in self.keys if not key.cancelled)

    @property
    def locks(self) -> list[str]:
        """Return the names of the locks the live keys are for, sorted."""
        return sorted({name for key in self.live_keys for name in key.locks})

    @property
    def not_on_locks(self) -> list[dict[str, str]]:
        """Return each (lock name, reason) a live key is not on a lock for."""
        found = {
            (item["lock"], item["reason"])
            for key in self.live_keys
            for item in key.not_on_locks
        }
        return [{"lock": lock, "reason": reason} for lock, reason in sorted(found)]


@dataclass(frozen=True, slots=True)
class LockDescription:
    """A lock's sync state: counts, errors, retries (never a code)."""

    id: str
    name: str
    state: SyncState
    desired: int
    confirmed: int
    failures: int
    last_error: str | None
    next_retry: datetime | None
    unmanaged_slots: tuple[int, ...]
    """Passcode slots holding codes Keyholder does not manage (numbers only)."""
    not_fitting: int
    """How many keys the lock should hold but cannot."""
    not_fitting_reasons: dict[str, int]
    """Reason -> how many keys are not on the lock for it."""


def describe_key(
    runtime: KeyholderRuntime, key: Key, now: datetime | None = None
) -> KeyDescription:
    """Describe one key of the site at ``now`` (default: now)."""
    now = now or dt_util.utcnow()
    holder = runtime.site.keyholders[key.keyholder_id]
    site = runtime.site
    terms = site.terms_of(key)
    lock_ids = sorted(site.locks_of(key) & runtime.locks.keys())
    status = key_status(key, holder, now, runtime.tz, terms=terms)
    return KeyDescription(
        id=key.id,
        name=key.name,
        kind=key.kind,
        keyholder_id=holder.id,
        keyholder=holder.name,
        status=status,
        next_change=next_status_change(key, holder, now, runtime.tz, terms=terms),
        cancelled=key.cancelled,
        lock_ids=tuple(lock_ids),
        locks=tuple(lock_names(runtime, lock_ids)),
        not_on_locks=tuple(runtime.queries.not_on_locks(key.id)),
        uses=key.uses,
        max_uses=key.max_uses,
        schedule=key.schedule,
        follows_access=key.lock_ids is None,
        lock_statuses=tuple(
            (
                lock_id,
                runtime.locks[lock_id].name,
                key_status(
                    key,
                    holder,
                    now,
                    runtime.tz,
                    terms=tuple(t for t in terms if lock_id in t.lock_ids),
                )
                if len(lock_ids) > 1
                else status,
            )
            for lock_id in lock_ids
        ),
    )


def describe_keys(
    runtime: KeyholderRuntime, keyholder_id: str | None = None
) -> list[KeyDescription]:
    """Describe the site's keys (of one keyholder when given), by id."""
    site, now = runtime.site, dt_util.utcnow()
    keys = (
        sorted(site.keys.values(), key=lambda k: k.id)
        if keyholder_id is None
        else site.keys_of(keyholder_id)  # sorted by id too
    )
    return [
        describe_key(runtime, key, now)
        for key in keys
        if key.keyholder_id in site.keyholders
    ]


def keyholder_status_now(runtime: KeyholderRuntime, keyholder_id: str) -> Status:
    """Return a keyholder's status now (what their status sensor shows)."""
    site = runtime.site
    holder, now, tz = site.keyholders[keyholder_id], dt_util.utcnow(), runtime.tz
    statuses = (
        key_status(key, holder, now, tz, terms=site.terms_of(key))
        for key in site.keys_of(keyholder_id)
    )
    return keyholder_status(holder, statuses, now, tz)


def describe_keyholder(
    runtime: KeyholderRuntime, keyholder_id: str, now: datetime | None = None
) -> KeyholderDescription:
    """Describe one keyholder and their keys at ``now`` (default: now)."""
    now, tz = now or dt_util.utcnow(), runtime.tz
    holder = runtime.site.keyholders[keyholder_id]
    keys = sorted(runtime.site.keys_of(holder.id), key=lambda k: (k.cancelled, k.id))
    described = tuple(describe_key(runtime, key, now) for key in keys)
    changes = [keyholder_next_change(holder, now, tz)] + [
        key.next_change for key in described
    ]
    return KeyholderDescription(
        id=holder.id,
        name=holder.name,
        role=holder.role,
        blocked=holder.blocked,
        active_from=holder.active_from,
        expires_on=holder.expires_on,
        status=keyholder_status(holder, (k.status for k in described), now, tz),
        next_change=min((c for c in changes if c is not None), default=None),
        keys=described,
    )


def describe_keyholders(
    runtime: KeyholderRuntime, now: datetime | None = None
) -> list[KeyholderDescription]:
    """Describe every keyholder of the site at ``now`` (default: now), by name."""
    now = now or dt_util.utcnow()
    holders = sorted(
        runtime.site.keyholders.values(), key=lambda h: (h.name.casefold(), h.id)
    )
    return [describe_keyholder(runtime, holder.id, now) for holder in holders]


def describe_lock(runtime: KeyholderRuntime, lock_id: str) -> LockDescription:
    """Describe one lock's sync state."""
    status = runtime.lock_status[lock_id]
    return LockDescription(
        id=lock_id,
        name=runtime.locks[lock_id].name,
        state=status.state,
        desired=status.desired,
        confirmed=status.confirmed,
        failures=status.failures,
        last_error=status.last_error,
        next_retry=status.next_retry,
        unmanaged_slots=tuple(
            ref.index for ref in status.unmanaged if ref.kind is KeyKind.PASSCODE
        ),
        not_fitting=status.not_fitting,
        not_fitting_reasons=runtime.placement.reasons(lock_id),
    )


def describe_locks(runtime: KeyholderRuntime) -> list[LockDescription]:
    """Describe every lock of the site, by name."""
    locks = [describe_lock(runtime, lock_id) for lock_id in runtime.locks]
    return sorted(locks, key=lambda lock: (lock.name.casefold(), lock.id))


def sync_attributes(lock: LockDescription) -> dict[str, Any]:
    """Return a lock's sync fields as its sync sensor and the panel show them."""
    return {
        "codes_wanted": lock.desired,
        "codes_confirmed": lock.confirmed,
        "failures": lock.failures,
        "last_error": lock.last_error,
        "next_retry": iso(lock.next_retry),
        "unmanaged_slots": list(lock.unmanaged_slots),
        "keys_not_fitting": lock.not_fitting,
    }


@dataclass(frozen=True, slots=True)
class MemberDescription:
    """A member of an access group, with the membership's own (reducing) schedule."""

    keyholder_id: str
    name: str
    schedule: Schedule


@dataclass(frozen=True, slots=True)
class GroupDescription:
    """An access group: its locks, its schedule and its members (by name)."""

    id: str
    name: str
    lock_ids: tuple[str, ...]
    locks: tuple[str, ...]
    schedule: Schedule
    members: tuple[MemberDescription, ...]


def describe_groups(runtime: KeyholderRuntime) -> list[GroupDescription]:
    """Describe the site's access groups, by name."""
    site = runtime.site
    described = []
    for group in site.groups.values():
        members = [
            MemberDescription(m.keyholder_id, holder.name, m.schedule)
            for m in site.access.members_of(group.id)
            if (holder := site.keyholders.get(m.keyholder_id)) is not None
        ]
        lock_ids = sorted(group.lock_ids)
        described.append(
            GroupDescription(
                id=group.id,
                name=group.name,
                lock_ids=tuple(lock_ids),
                locks=tuple(lock_names(runtime, lock_ids)),
                schedule=group.schedule,
                members=tuple(sorted(members, key=lambda m: m.name.casefold())),
            )
        )
    return sorted(described, key=lambda g: (g.name.casefold(), g.id))


@dataclass(frozen=True, slots=True)
class MembershipDescription:
    """One of a keyholder's memberships: the group and the reduced schedule."""

    group_id: str
    group: str
    schedule: Schedule


@dataclass(frozen=True, slots=True)
class GrantDescription:
    """
    Personal access of a keyholder: locks and a schedule.

    ``personal`` marks the one the access forms edit; others came with keys.
    """

    id: str
    lock_ids: tuple[str, ...]
    locks: tuple[str, ...]
    schedule: Schedule
    personal: bool


@dataclass(frozen=True, slots=True)
class AccessDescription:
    """A keyholder's access: memberships and personal access (no secrets)."""

    memberships: tuple[MembershipDescription, ...]
    grants: tuple[GrantDescription, ...]


def describe_access(runtime: KeyholderRuntime, keyholder_id: str) -> AccessDescription:
    """Describe a keyholder's memberships and personal access."""
    site = runtime.site
    memberships = tuple(
        MembershipDescription(m.group_id, site.groups[m.group_id].name, m.schedule)
        for m in site.access.memberships_of(keyholder_id)
        if m.group_id in site.groups
    )
    personal = personal_grant_id(keyholder_id)
    grants = tuple(
        GrantDescription(
            id=grant.id,
            lock_ids=tuple(sorted(grant.lock_ids)),
            locks=tuple(lock_names(runtime, grant.lock_ids)),
            schedule=grant.schedule,
            personal=grant.id == personal,
        )
        for grant in site.access.grants_of(keyholder_id)
    )
    return AccessDescription(memberships, grants)
