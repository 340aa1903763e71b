"""
The Keyholder data model: keyholders, keys, schedules and lock capabilities.

Everything here is an immutable value (frozen, slotted dataclasses) except
:class:`Site`, the mutable container the rest of the integration edits. Changing a
key or keyholder means replacing it in the site with :func:`dataclasses.replace`.

Datetimes are always timezone-aware; times of day are naive wall-clock times that
are interpreted in the site's time zone (see :mod:`.schedule`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from enum import StrEnum
from typing import NamedTuple

ALL_DAYS: frozenset[int] = frozenset(range(7))
"""Every day of the week, Monday (0) to Sunday (6)."""


class KeyKind(StrEnum):
    """What kind of credential a key is."""

    PASSCODE = "passcode"
    TAG = "tag"
    APP = "app"


class Role(StrEnum):
    """The role of a keyholder in the site."""

    MANAGER = "manager"
    KEYHOLDER = "keyholder"


def _require_aware(value: datetime | None, name: str) -> None:
    """Raise ValueError when ``value`` is a naive datetime."""
    if value is not None and value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime")


@dataclass(frozen=True, slots=True)
class Window:
    """
    A weekly time window.

    ``days`` holds the weekdays (0 = Monday .. 6 = Sunday) on which the window
    *starts*. When ``end <= start`` the window crosses midnight and ends on the next
    day; ``end == start`` means a full 24 hours from ``start``.
    """

    days: frozenset[int]
    start: time
    end: time

    def __post_init__(self) -> None:
        """Validate the weekdays and that both times are naive."""
        if not self.days <= ALL_DAYS:
            raise ValueError("window days must be within 0 (Monday) .. 6 (Sunday)")
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError("window times must be naive wall-clock times")

    @property
    def crosses_midnight(self) -> bool:
        """Return True when the window ends on the day after it starts."""
        return self.end <= self.start


@dataclass(frozen=True, slots=True)
class Schedule:
    """
    When a key works: weekly windows inside an optional date range.

    No windows means "always" (within the range). The range is half-open:
    ``[valid_from, valid_until)``.
    """

    windows: tuple[Window, ...] = ()
    valid_from: datetime | None = None
    valid_until: datetime | None = None

    def __post_init__(self) -> None:
        """Validate that the range bounds are aware datetimes."""
        _require_aware(self.valid_from, "valid_from")
        _require_aware(self.valid_until, "valid_until")


ALWAYS = Schedule()
"""A schedule that is always active."""


@dataclass(frozen=True, slots=True)
class Keyholder:
    """
    A person who may hold keys.

    ``expires_on`` is the last day of validity: the keyholder is valid until the
    local midnight that ends that day.
    """

    id: str
    given_name: str
    family_name: str = ""
    email: str | None = None
    role: Role = Role.KEYHOLDER
    active_from: datetime | None = None
    expires_on: date | None = None
    blocked: bool = False

    def __post_init__(self) -> None:
        """Validate that the activation time is an aware datetime."""
        _require_aware(self.active_from, "active_from")

    @property
    def name(self) -> str:
        """Return the full name, "Given Family"."""
        return f"{self.given_name} {self.family_name}".strip()


@dataclass(frozen=True, slots=True)
class Key:
    """
    One credential of a keyholder: it opens what the keyholder's access allows.

    ``lock_ids`` and ``schedule`` are the key's own limits on that access:
    ``None`` for every lock the access gives, :data:`ALWAYS` for every time it
    gives (see :mod:`.access`). ``secret`` is the PIN of a passcode key or the UID of a tag; app keys have
    none. ``max_uses`` limits the number of uses (one-time codes use 1).
    ``serial`` is the key's issue number in its site (see :meth:`Site.next_serial`):
    keys waiting for a free slot get one in that order. Keys stored before it
    existed have 0 and come first, by id.
    """

    id: str
    keyholder_id: str
    kind: KeyKind
    lock_ids: frozenset[str] | None
    schedule: Schedule = ALWAYS
    secret: str | None = None
    max_uses: int | None = None
    uses: int = 0
    cancelled: bool = False
    name: str = ""
    serial: int = 0

    @property
    def used_up(self) -> bool:
        """Return True when the key has no uses left."""
        return self.max_uses is not None and self.uses >= self.max_uses


@dataclass(frozen=True, slots=True)
class AccessGroup:
    """
    A named set of locks with a schedule ("Cleaners: Front door, Mon and Fri 9-12").

    Keyholders are its members (:class:`Membership`).
    """

    id: str
    name: str
    lock_ids: frozenset[str]
    schedule: Schedule = ALWAYS


@dataclass(frozen=True, slots=True)
class Membership:
    """
    A keyholder's membership of an access group.

    ``schedule`` reduces it: the member has the group's access only while both
    the group's schedule and this one are active (a narrower schedule, or member
    from ... until), so a membership never gives more than its group.
    """

    group_id: str
    keyholder_id: str
    schedule: Schedule = ALWAYS

    @property
    def id(self) -> str:
        """Return the membership's id: its group's and its keyholder's."""
        return membership_id(self.group_id, self.keyholder_id)


def membership_id(group_id: str, keyholder_id: str) -> str:
    """Return the id of a keyholder's membership of a group."""
    return f"{group_id}:{keyholder_id}"


@dataclass(frozen=True, slots=True)
class Grant:
    """Personal access: locks and a schedule of one keyholder's own."""

    id: str
    keyholder_id: str
    lock_ids: frozenset[str]
    schedule: Schedule = ALWAYS


class CredentialRef(NamedTuple):
    """
    Where a lock holds one credential: its kind and its index among that kind.

    Locks number each kind on its own (Matter and Z-Wave User Credential locks
    have PIN 3 and RFID tag 3 side by side); a lock with one numbering for
    everything simply holds one kind. Immutable and sorted by kind, then
    index; a named tuple, so hashing and comparing stay cheap in the planner.
    """

    kind: KeyKind
    # Shadows tuple.index(), which nothing calls on a ref.
    index: int  # type: ignore[assignment]

    def __str__(self) -> str:
        """Return e.g. ``passcode 3`` (what log lines name)."""
        return f"{self.kind.value} {self.index}"


@dataclass(frozen=True, slots=True)
class SlotRange:
    """The indices a lock numbers one kind of credential with."""

    first: int = 1
    last: int = 30
    reserved: frozenset[int] = frozenset()
    """Indices the user keeps for themselves: never written by Keyholder."""

    def usable(self, index: int) -> bool:
        """Return True when ``index`` is within the range and not reserved."""
        return self.first <= index <= self.last and index not in self.reserved


def _passcodes_only() -> dict[KeyKind, SlotRange]:
    return {KeyKind.PASSCODE: SlotRange()}


@dataclass(frozen=True, slots=True)
class LockCapabilities:
    """
    What a lock (through its provider) can do.

    ``slots`` says which credential kinds the lock holds and how many of each
    (never modified once built). ``pin_min``/``pin_max`` bound passcodes.
    """

    slots: Mapping[KeyKind, SlotRange] = field(
        default_factory=_passcodes_only, hash=False
    )
    pin_min: int = 4
    pin_max: int = 8
    can_read_back: bool = True
    reports_slot: bool = True
    native_schedule: bool = False

    @property
    def credential_kinds(self) -> frozenset[KeyKind]:
        """Return the kinds of credential the lock holds."""
        return frozenset(self.slots)

    def usable(self, ref: CredentialRef) -> bool:
        """Return True when the lock holds ``ref``'s kind and may use its index."""
        slots = self.slots.get(ref.kind)
        return slots is not None and slots.usable(ref.index)
