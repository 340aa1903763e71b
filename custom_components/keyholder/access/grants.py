"""
Changes to who may open which doors when: group memberships and personal access.

Like every command, each validates first and changes nothing on bad input
(``ServiceValidationError`` with a translated message), then changes the site,
saves it and brings every lock concerned in line before returning. The keys of
the keyholders concerned follow at once: a key opens its keyholder's access.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
import uuid

from ..model.credentials import taken_secrets
from ..model.site import Site
from ..model.values import ALWAYS, Grant, Membership, Schedule, membership_id
from ..sync.runtime import KeyholderRuntime
from .errors import validation_error
from .keys import holder_locks


def _holder(runtime: KeyholderRuntime, keyholder_id: str) -> None:
    if keyholder_id not in runtime.site.keyholders:
        raise validation_error("unknown_keyholder", keyholder=keyholder_id)


def _group(runtime: KeyholderRuntime, group_id: str) -> None:
    if group_id not in runtime.site.groups:
        raise validation_error("unknown_group", group=group_id)


def _check_locks(runtime: KeyholderRuntime, lock_ids: frozenset[str]) -> None:
    if not lock_ids:
        raise validation_error("no_locks")
    if unknown := sorted(lock_ids - runtime.locks.keys()):
        raise validation_error("unknown_lock", lock=", ".join(unknown))


def _duplicate_lock(site: Site, keyholder_id: str) -> str | None:
    """
    Return a lock on which a key of the keyholder shares its secret with another key.

    Secrets are unique per lock: access that brings a key to a lock where
    another key already has its code is refused.
    """
    for key in site.keys_of(keyholder_id):
        if key.secret is None or key.cancelled:
            continue
        for lock_id in sorted(site.locks_of(key)):
            taken = taken_secrets(site, key.kind, {lock_id}, exclude_key_id=key.id)
            if key.secret in taken:
                return lock_id
    return None


async def _async_change(
    runtime: KeyholderRuntime, keyholder_id: str, change: Callable[[Site], object]
) -> None:
    """
    Change one keyholder's access, then sync the locks before and after.

    Refused (and undone) when one of their secrets would meet another key's
    on a lock.
    """
    site = runtime.site
    before = holder_locks(site, keyholder_id)
    undo = _snapshot(site, keyholder_id)
    change(site)
    if (lock_id := _duplicate_lock(site, keyholder_id)) is not None:
        undo()
        raise validation_error(
            "access_code_taken",
            keyholder=site.keyholders[keyholder_id].name,
            lock=runtime.locks[lock_id].name if lock_id in runtime.locks else lock_id,
        )
    await runtime.async_apply_changes(
        set(before | holder_locks(site, keyholder_id)), keyholders=[keyholder_id]
    )


def _snapshot(site: Site, keyholder_id: str) -> Callable[[], None]:
    """Return a function that puts a keyholder's access back as it is now."""
    memberships = site.access.memberships_of(keyholder_id)
    grants = site.access.grants_of(keyholder_id)

    def undo() -> None:
        for access_id in site.access.access_ids_of(keyholder_id):
            site.remove_membership(access_id)
            site.remove_grant(access_id)
        for membership in memberships:
            site.put_membership(membership)
        for grant in grants:
            site.put_grant(grant)

    return undo


async def async_join_group(
    runtime: KeyholderRuntime,
    keyholder_id: str,
    group_id: str,
    schedule: Schedule = ALWAYS,
) -> Membership:
    """
    Make a keyholder a member of a group (again: with a new reduced schedule).

    ``schedule`` reduces the membership (narrower times, member from ...
    until); it never widens the group's.
    """
    _holder(runtime, keyholder_id)
    _group(runtime, group_id)
    membership = Membership(group_id, keyholder_id, schedule)
    await _async_change(
        runtime, keyholder_id, lambda site: site.put_membership(membership)
    )
    return membership


async def async_leave_group(
    runtime: KeyholderRuntime, keyholder_id: str, group_id: str
) -> None:
    """End a keyholder's membership of a group (refused if not a member)."""
    _holder(runtime, keyholder_id)
    _group(runtime, group_id)
    ident = membership_id(group_id, keyholder_id)
    if ident not in runtime.site.memberships:
        raise validation_error(
            "not_a_member",
            keyholder=runtime.site.keyholders[keyholder_id].name,
            group=runtime.site.groups[group_id].name,
        )
    await _async_change(
        runtime, keyholder_id, lambda site: site.remove_membership(ident)
    )


async def async_grant_access(
    runtime: KeyholderRuntime,
    keyholder_id: str,
    lock_ids: frozenset[str],
    schedule: Schedule = ALWAYS,
    grant_id: str | None = None,
) -> Grant:
    """Give a keyholder personal access to some locks (or replace ``grant_id``'s)."""
    _holder(runtime, keyholder_id)
    _check_locks(runtime, lock_ids)
    grant = Grant(grant_id or uuid.uuid4().hex, keyholder_id, lock_ids, schedule)
    await _async_change(runtime, keyholder_id, lambda site: site.put_grant(grant))
    return grant


async def async_revoke_access(
    runtime: KeyholderRuntime,
    keyholder_id: str,
    lock_ids: frozenset[str] | None = None,
) -> None:
    """
    Take personal access away: to ``lock_ids``, or all of it (None).

    Access given through groups stays (end the membership for that).
    """
    _holder(runtime, keyholder_id)
    if lock_ids is not None:
        _check_locks(runtime, lock_ids)

    def revoke(site: Site) -> None:
        for grant in site.access.grants_of(keyholder_id):
            left = frozenset() if lock_ids is None else grant.lock_ids - lock_ids
            if not left:
                site.remove_grant(grant.id)
            elif left != grant.lock_ids:
                site.put_grant(Grant(grant.id, keyholder_id, left, grant.schedule))

    await _async_change(runtime, keyholder_id, revoke)


def personal_grant_id(keyholder_id: str) -> str:
    """Return the id of the personal access the keyholder flow and panel edit."""
    return f"{keyholder_id}.personal"


async def async_set_access(
    runtime: KeyholderRuntime,
    keyholder_id: str,
    *,
    groups: Mapping[str, Schedule],
    personal: tuple[frozenset[str], Schedule] | None,
) -> None:
    """
    Set a keyholder's access as a form shows it, in one change.

    ``groups`` maps each group they are a member of to the membership's
    reduced schedule (other memberships end); ``personal`` is the personal
    access the form edits (None: none). Personal access given with keys
    (``issue_key``) stays.
    """
    _holder(runtime, keyholder_id)
    for group_id in groups:
        _group(runtime, group_id)
    if personal is not None:
        _check_locks(runtime, personal[0])

    def apply(site: Site) -> None:
        for membership in site.access.memberships_of(keyholder_id):
            if membership.group_id not in groups:
                site.remove_membership(membership.id)
        for group_id, schedule in groups.items():
            site.put_membership(Membership(group_id, keyholder_id, schedule))
        own = personal_grant_id(keyholder_id)
        if personal is None:
            site.remove_grant(own)
        else:
            site.put_grant(Grant(own, keyholder_id, personal[0], personal[1]))

    await _async_change(runtime, keyholder_id, apply)
