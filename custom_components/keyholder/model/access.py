"""
Access: which locks a keyholder's keys open, and when.

A keyholder's access is the union of their *terms*: one per membership of an
access group (the group's locks, while the group's schedule and the
membership's own are both active) and one per personal grant. A key opens the
union of its keyholder's terms, each cut down to the key's own limits (its
locks, its schedule): :func:`key_terms`. Who is blocked, activated or expired,
and a key's uses, are the statuses' business (:mod:`.status`).

A term is active at an instant when all of its schedules are; evaluating many
keys at one instant shares the work through :class:`Moment` (the schedule of a
group with 500 members is looked at once).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, tzinfo

from .schedule import Interval, active_intervals, is_active, next_change
from .values import ALWAYS, AccessGroup, Grant, Key, Membership, Schedule


@dataclass(frozen=True, slots=True)
class Term:
    """
    Some locks, open while every one of ``schedules`` is active.

    ``source`` is the id of the group or grant the term comes from.
    """

    lock_ids: frozenset[str]
    schedules: tuple[Schedule, ...]
    source: str
    start: datetime | None = field(init=False, compare=False)
    """The instant before which the term never opens (None: no such)."""
    end: datetime | None = field(init=False, compare=False)
    """The instant from which the term never opens again (None: never)."""
    empty: bool = field(init=False, compare=False)
    """Its dates leave no time at all: it never opens."""

    def __post_init__(self) -> None:
        """Work out when the term can open at all (looked at for every plan)."""
        starts = [s.valid_from for s in self.schedules if s.valid_from is not None]
        ends = [s.valid_until for s in self.schedules if s.valid_until is not None]
        object.__setattr__(self, "start", max(starts, default=None))
        end = min(ends, default=None)
        object.__setattr__(self, "end", end)
        object.__setattr__(
            self, "empty", bool(starts and end is not None and end <= max(starts))
        )


def _schedules(*schedules: Schedule) -> tuple[Schedule, ...]:
    """Return the schedules that limit anything (every one but "always")."""
    return tuple(schedule for schedule in schedules if schedule != ALWAYS)


def holder_terms(
    groups: Mapping[str, AccessGroup],
    memberships: Iterable[Membership],
    grants: Iterable[Grant],
) -> tuple[Term, ...]:
    """Return a keyholder's access: one term per membership and per grant."""
    terms: list[Term] = []
    for membership in memberships:
        group = groups.get(membership.group_id)
        if group is not None and group.lock_ids:
            terms.append(
                Term(
                    group.lock_ids,
                    _schedules(group.schedule, membership.schedule),
                    group.id,
                )
            )
    terms.extend(
        Term(grant.lock_ids, _schedules(grant.schedule), grant.id)
        for grant in grants
        if grant.lock_ids
    )
    return tuple(terms)


def covers(term: Term, key: Key) -> bool:
    """
    Return True when ``term`` gives all that ``key``'s own limits allow.

    Every term of a key is within its limits, so such a term is all the key
    opens (the personal access ``issue_key`` gives with a key is one).
    """
    return term.lock_ids == key.lock_ids and set(term.schedules) <= set(
        _schedules(key.schedule)
    )


def key_terms(terms: tuple[Term, ...], key: Key) -> tuple[Term, ...]:
    """Return what ``key`` opens: its keyholder's ``terms`` within its limits."""
    own = _schedules(key.schedule)
    if key.lock_ids is None and not own:
        return terms
    out: list[Term] = []
    for term in terms:
        locks = term.lock_ids if key.lock_ids is None else term.lock_ids & key.lock_ids
        if locks:
            # The key's own schedule adds nothing where the term has it already
            # (the personal access issue_key gives with a key).
            extra = tuple(s for s in own if s not in term.schedules)
            limited = Term(locks, term.schedules + extra, term.source)
            if covers(limited, key):
                return (limited,)  # the others are within it
            out.append(limited)
    return tuple(out)


def term_locks(terms: Iterable[Term]) -> frozenset[str]:
    """Return every lock some term names."""
    return frozenset().union(*(term.lock_ids for term in terms))


def grant_for_key(key: Key, grant_id: str) -> Grant:
    """
    Return the personal access a key stored before access existed stands for.

    Such a key listed its locks and schedule itself; the grant gives exactly
    those and the key keeps them as its limits, so it opens what it opened.
    """
    return Grant(
        id=grant_id,
        keyholder_id=key.keyholder_id,
        lock_ids=key.lock_ids or frozenset(),
        schedule=key.schedule,
    )


class Moment:
    """One instant in a time zone, remembering which schedules are active at it."""

    __slots__ = ("_active", "_open", "at", "tz")

    def __init__(self, at: datetime, tz: tzinfo) -> None:
        """Look at ``at`` in ``tz``."""
        self.at = at
        self.tz = tz
        # id(schedule or term) -> (it, whether open): the object is kept so
        # that its id is not reused while the moment lives
        self._active: dict[int, tuple[Schedule, bool]] = {}
        self._open: dict[int, tuple[Term, bool]] = {}

    def active(self, schedule: Schedule) -> bool:
        """Return whether ``schedule`` is active at this instant."""
        hit = self._active.get(id(schedule))
        if hit is None:
            hit = (schedule, is_active(schedule, self.at, self.tz))
            self._active[id(schedule)] = hit
        return hit[1]

    def term_active(self, term: Term) -> bool:
        """Return whether ``term`` is open at this instant."""
        hit = self._open.get(id(term))
        if hit is None:
            hit = (term, all(self.active(schedule) for schedule in term.schedules))
            self._open[id(term)] = hit
        return hit[1]

    def open_locks(self, terms: Iterable[Term]) -> frozenset[str]:
        """Return the locks some of ``terms`` opens at this instant."""
        found: set[str] = set()
        for term in terms:
            if self.term_active(term):
                found |= term.lock_ids
        return frozenset(found)


def terms_next_change(
    terms: Iterable[Term], after: datetime, tz: tzinfo
) -> datetime | None:
    """
    Return the first instant > ``after`` at which some term may open or close.

    The next change of any of the terms' schedules: a term is open while all of
    its schedules are, so it can only change when one of them does.
    """
    candidates = [
        instant
        for term in terms
        for schedule in term.schedules
        if (instant := next_change(schedule, after, tz)) is not None
    ]
    return min(candidates, default=None)


def _intersect(first: list[Interval], second: list[Interval]) -> list[Interval]:
    """Return the intersection of two sorted lists of disjoint intervals."""
    out: list[Interval] = []
    i = j = 0
    while i < len(first) and j < len(second):
        low = max(first[i][0], second[j][0])
        high = min(first[i][1], second[j][1])
        if low < high:
            out.append((low, high))
        if first[i][1] < second[j][1]:
            i += 1
        else:
            j += 1
    return out


def term_intervals(
    term: Term, start: datetime, end: datetime, tz: tzinfo
) -> list[Interval]:
    """Return when ``term`` is open within ``[start, end)``: sorted, disjoint."""
    intervals: list[Interval] = [(start, end)] if start < end else []
    for schedule in term.schedules:
        intervals = _intersect(intervals, active_intervals(schedule, start, end, tz))
    return intervals
