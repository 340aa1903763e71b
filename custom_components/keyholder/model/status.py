"""
Statuses of keys and keyholders, and when they change.

The status of a key at an instant combines the key's own schedule with its
keyholder (activation, expiration, blocked) and its flags (cancelled, uses). It
is decided in this order of precedence:

1. ``CANCELLED`` - the key was cancelled;
2. ``USED_UP`` - ``max_uses`` is set and reached;
3. ``EXPIRED`` - at or after the earlier of the key's ``valid_until`` and the end
   of the keyholder's expiration day;
4. ``BLOCKED`` - the keyholder is blocked;
5. ``UPCOMING`` - before the later of the key's ``valid_from`` and the keyholder's
   ``active_from``;
6. ``NO_ACCESS`` - none of the key's access (its keyholder's groups and
   personal access, within the key's own limits) can open a lock any more;
7. ``UPCOMING`` as well when every access still to come starts later;
8. ``OUTSIDE_SCHEDULE`` - none of the key's access is open right now;
9. ``ACTIVE`` - otherwise: the key opens at least one lock right now.

What a key opens comes as its *terms* (:mod:`.access`), which the caller takes
from the site (:meth:`.site.Site.terms_of`).

A keyholder's status (:func:`keyholder_status`) is built from these, plus
``NO_KEY`` for a person none of whose keys can ever work again (no key at all,
or every key cancelled): they must never look active.

For the one timer the integration arms, use :class:`.transitions.TransitionIndex`
(fast, incremental); :func:`next_site_change` is the simple reference version.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, tzinfo
from enum import StrEnum

from .access import Moment, Term, terms_next_change
from .schedule import end_of_day
from .site import Site
from .values import Key, Keyholder


class Status(StrEnum):
    """The status of a key or a keyholder."""

    UPCOMING = "upcoming"
    ACTIVE = "active"
    OUTSIDE_SCHEDULE = "outside_schedule"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    BLOCKED = "blocked"
    USED_UP = "used_up"
    NO_KEY = "no_key"
    """Keyholders only: no key that works now or later (none, or all cancelled)."""
    NO_ACCESS = "no_access"
    """The key (or every key of a keyholder) opens no lock now or later."""


TERMINAL_STATUSES: frozenset[Status] = frozenset(
    {Status.CANCELLED, Status.USED_UP, Status.EXPIRED}
)
"""Statuses a key never leaves by the passage of time alone."""


def keyholder_expiry(keyholder: Keyholder, tz: tzinfo) -> datetime | None:
    """Return the instant the keyholder expires (end of the expiration day)."""
    if keyholder.expires_on is None:
        return None
    return end_of_day(keyholder.expires_on, tz)


def key_expiry(key: Key, keyholder: Keyholder, tz: tzinfo) -> datetime | None:
    """Return the instant the key stops working for good (None if never)."""
    holder_end = keyholder_expiry(keyholder, tz)
    key_end = key.schedule.valid_until
    if holder_end is None:
        return key_end
    if key_end is None:
        return holder_end
    return min(holder_end, key_end)


def key_start(key: Key, keyholder: Keyholder) -> datetime | None:
    """Return the instant the key starts working (None if it always did)."""
    key_from = key.schedule.valid_from
    holder_from = keyholder.active_from
    if holder_from is None:
        return key_from
    if key_from is None:
        return holder_from
    return max(holder_from, key_from)


def key_status(
    key: Key,
    keyholder: Keyholder,
    at: datetime,
    tz: tzinfo,
    *,
    terms: tuple[Term, ...],
    moment: Moment | None = None,
) -> Status:
    """
    Return the status of ``key`` at the instant ``at``.

    ``terms`` is what the key opens; ``moment`` (at ``at``) shares the schedules
    looked at between the keys of one instant.
    """
    if key.cancelled:
        return Status.CANCELLED
    if key.used_up:
        return Status.USED_UP
    expiry = key_expiry(key, keyholder, tz)
    if expiry is not None and at >= expiry:
        return Status.EXPIRED
    if keyholder.blocked:
        return Status.BLOCKED
    start = key_start(key, keyholder)
    if start is not None and at < start:
        return Status.UPCOMING
    live = [t for t in terms if not t.empty and (t.end is None or at < t.end)]
    if not live:
        return Status.NO_ACCESS
    if all((begin := term.start) is not None and at < begin for term in live):
        return Status.UPCOMING
    moment = moment or Moment(at, tz)
    if any(moment.term_active(term) for term in live):
        return Status.ACTIVE
    return Status.OUTSIDE_SCHEDULE


def open_locks(
    key: Key, keyholder: Keyholder, terms: tuple[Term, ...], moment: Moment
) -> frozenset[str]:
    """Return the locks ``key`` opens at the moment (none unless it is active)."""
    status = key_status(
        key, keyholder, moment.at, moment.tz, terms=terms, moment=moment
    )
    if status is not Status.ACTIVE:
        return frozenset()
    return moment.open_locks(terms)


def next_possible_change(
    key: Key,
    keyholder: Keyholder,
    after: datetime,
    tz: tzinfo,
    *,
    terms: tuple[Term, ...],
) -> datetime | None:
    """
    Return the first instant > ``after`` at which the key's status may change.

    Never later than :func:`next_status_change` (what the key opens can only
    change where one of its schedules does, where the key begins, where one of
    its accesses begins or ends, or where it expires), and cheap: what the
    site's one timer is armed with. None: it never changes.
    """
    if key.cancelled or key.used_up:
        return None
    expiry = key_expiry(key, keyholder, tz)
    if expiry is not None and after >= expiry:
        return None
    if keyholder.blocked:
        return expiry
    found = terms_next_change(terms, after, tz)
    bounds = (
        key_start(key, keyholder),
        *(t.start for t in terms),
        *(t.end for t in terms),
    )
    for instant in (*bounds, expiry):
        if (
            instant is not None
            and instant > after
            and (found is None or instant < found)
        ):
            found = instant
    return found


_MAX_EDGES = 64
"""Edges looked past for a real change; then the last one is answered."""


def next_status_change(
    key: Key,
    keyholder: Keyholder,
    after: datetime,
    tz: tzinfo,
    *,
    terms: tuple[Term, ...],
) -> datetime | None:
    """
    Return the first instant > ``after`` where the key's status changes.

    Only the passage of time is considered; edits (cancel, block, uses,
    access) are changes the caller makes itself. None means the status never
    changes. A change is of the status or, while active, of the locks the key
    opens; an edge that changes neither (a group's hours opening outside the
    key's own) is passed over. After ``_MAX_EDGES`` such edges the last one
    is answered (look again there).
    """

    def seen(at: datetime) -> tuple[Status, frozenset[str]]:
        moment = Moment(at, tz)
        status = key_status(key, keyholder, at, tz, terms=terms, moment=moment)
        opened = moment.open_locks(terms) if status is Status.ACTIVE else frozenset()
        return status, opened

    shown = seen(after)
    edge, now = after, shown
    for _ in range(_MAX_EDGES):
        found = (
            _upcoming_until(key, keyholder, terms, edge, tz)
            if now[0] is Status.UPCOMING
            else next_possible_change(key, keyholder, edge, tz, terms=terms)
        )
        if found is None:
            return None
        edge, now = found, seen(found)
        if now != shown:
            return edge
    return edge


def _upcoming_until(
    key: Key, keyholder: Keyholder, terms: tuple[Term, ...], at: datetime, tz: tzinfo
) -> datetime | None:
    """
    Return when an upcoming key stops being upcoming (or expires), after ``at``.

    Nothing else changes before: the key begins, or its first access does.
    """
    start = key_start(key, keyholder)
    if start is not None and at < start:
        until: datetime | None = start
    else:
        live = [t for t in terms if not t.empty and (t.end is None or at < t.end)]
        until = min((t.start for t in live if t.start is not None), default=None)
    expiry = key_expiry(key, keyholder, tz)
    if until is None or (expiry is not None and expiry < until):
        return expiry
    return until


def keyholder_status(
    keyholder: Keyholder, key_statuses: Iterable[Status], at: datetime, tz: tzinfo
) -> Status:
    """
    Return the status of a keyholder at ``at``.

    The rule, in order:

    * ``BLOCKED`` when blocked;
    * ``EXPIRED`` at or after the end of the expiration day;
    * ``UPCOMING`` before ``active_from``;
    * from the statuses of the keys: ``ACTIVE`` if any key is active, else
      ``UPCOMING`` if any key is upcoming, else ``OUTSIDE_SCHEDULE`` if any key
      is outside its schedule, ``NO_ACCESS`` if a key has no access left;
    * otherwise no key works now or later: ``USED_UP`` when every key that was
      not cancelled is used up, ``EXPIRED`` when every such key expired, and
      ``NO_KEY`` when there is no key at all, every key was cancelled (a
      cancelled key is withdrawn, not expired), or the keys ended in both ways.
    """
    if keyholder.blocked:
        return Status.BLOCKED
    expiry = keyholder_expiry(keyholder, tz)
    if expiry is not None and at >= expiry:
        return Status.EXPIRED
    if keyholder.active_from is not None and at < keyholder.active_from:
        return Status.UPCOMING
    statuses = set(key_statuses)
    for status in (
        Status.ACTIVE,
        Status.UPCOMING,
        Status.OUTSIDE_SCHEDULE,
        Status.NO_ACCESS,
    ):
        if status in statuses:
            return status
    ended = statuses - {Status.CANCELLED}
    if ended in ({Status.USED_UP}, {Status.EXPIRED}):
        return ended.pop()
    return Status.NO_KEY


def keyholder_next_change(
    keyholder: Keyholder, after: datetime, tz: tzinfo
) -> datetime | None:
    """
    Return the next own boundary (activation or expiry) of a keyholder.

    Changes caused by the keyholder's keys are covered by
    :func:`next_possible_change` of each key.
    """
    candidates = [
        instant
        for instant in (keyholder.active_from, keyholder_expiry(keyholder, tz))
        if instant is not None and instant > after
    ]
    return min(candidates, default=None)


def next_site_change(site: Site, after: datetime, tz: tzinfo) -> datetime | None:
    """
    Return the earliest next status change of any key or keyholder in the site.

    This is the simple, O(keys) reference. The glue should keep a
    :class:`.transitions.TransitionIndex` instead, which answers the same
    question incrementally in microseconds.
    """
    candidates: list[datetime] = []
    for keyholder in site.keyholders.values():
        instant = keyholder_next_change(keyholder, after, tz)
        if instant is not None:
            candidates.append(instant)
    for key in site.keys.values():
        holder = site.keyholders.get(key.keyholder_id)
        if holder is None:
            continue
        instant = next_possible_change(key, holder, after, tz, terms=site.terms_of(key))
        if instant is not None:
            candidates.append(instant)
    return min(candidates, default=None)
