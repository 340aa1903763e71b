"""
The Keyholder data model: keyholders, keys, schedules and lock capabilities.

Everything here is an immutable value (frozen, slotted dataclasses) except
:class:`Site`, the mutable container the rest of the integration edits. Changing a
key or keyholder means replacing it in the site with :func:`dataclasses.replace`.

Datetimes are always timezone-aware; times of day are naive wall-clock times that
are interpreted in the site's time zone (see :mod:`.schedule`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
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
    One credential of a keyholder, opening a set of locks under a schedule.

    ``secret`` is the PIN of a passcode key or the UID of a tag; app keys have
    none. ``max_uses`` limits the number of uses (one-time codes use 1).
    ``serial`` is the key's issue number in its site (see :meth:`Site.next_serial`):
    keys waiting for a free slot get one in that order. Keys stored before it
    existed have 0 and come first, by id.
    """

    id: str
    keyholder_id: str
    kind: KeyKind
    lock_ids: frozenset[str]
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


@dataclass(slots=True)
class Site:
    """
    The mutable state of one site.

    ``slots`` maps lock id -> key id -> index: where each key is held on each
    lock, among the credentials of the key's kind (a key has one kind, so the
    index names one :class:`CredentialRef`). The planner
    (:func:`.plan.desired_state`) maintains it.

    Keyholders and keys are added, replaced and removed through the methods
    below, which keep the index of each keyholder's and each lock's keys, note
    which ones changed (:meth:`take_changed`) and count ``revision`` up (what
    is computed from them may be kept until it moves); ``keyholders`` and
    ``keys`` themselves are read freely.
    """

    keyholders: dict[str, Keyholder] = field(default_factory=dict)
    keys: dict[str, Key] = field(default_factory=dict)
    slots: dict[str, dict[str, int]] = field(default_factory=dict)
    # keyholder id -> ids of their keys, lock id -> ids of the keys listing it
    # (kept by put_key / remove_key), and the highest serial ever put
    _by_holder: dict[str, set[str]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    _by_lock: dict[str, set[str]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    _max_serial: int = field(default=0, init=False, repr=False, compare=False)
    # ids of the keys and keyholders put or removed since take_changed (None:
    # any of them may have)
    _changed: set[str] | None = field(
        default=None, init=False, repr=False, compare=False
    )
    revision: int = field(default=0, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        """Index the keys given."""
        self._reindex()

    def _reindex(self) -> None:
        self._by_holder = {}
        self._by_lock = {}
        self._max_serial = 0
        self._changed = None
        self.revision += 1
        for key in self.keys.values():
            self._index(key)

    def _index(self, key: Key) -> None:
        self._by_holder.setdefault(key.keyholder_id, set()).add(key.id)
        for lock_id in key.lock_ids:
            self._by_lock.setdefault(lock_id, set()).add(key.id)
        self._max_serial = max(self._max_serial, key.serial)

    def replace_all(self, other: Site) -> None:
        """Take over another site's keyholders, keys and slots (in place)."""
        self.keyholders, self.keys, self.slots = (
            other.keyholders,
            other.keys,
            other.slots,
        )
        self._reindex()

    def keys_of(self, keyholder_id: str) -> list[Key]:
        """Return the keys of one keyholder, sorted by key id."""
        return [
            self.keys[key_id]
            for key_id in sorted(self._by_holder.get(keyholder_id, ()))
        ]

    def keys_on(self, lock_id: str) -> list[Key]:
        """Return the keys that list ``lock_id``, sorted by key id."""
        return [self.keys[key_id] for key_id in sorted(self._by_lock.get(lock_id, ()))]

    def keys_for(self, lock_ids: Iterable[str]) -> list[Key]:
        """
        Return the keys that list any of ``lock_ids`` (in no particular order).

        Costs what those locks hold, not what the whole site holds.
        """
        found: set[str] = set()
        for lock_id in lock_ids:
            found.update(self._by_lock.get(lock_id, ()))
        if len(found) * 2 > len(self.keys):
            return [key for key in self.keys.values() if key.id in found]
        return [self.keys[key_id] for key_id in found]

    def keyholder_of(self, key: Key) -> Keyholder | None:
        """Return the keyholder of ``key`` (None if it is missing)."""
        return self.keyholders.get(key.keyholder_id)

    def owner_of(self, lock_id: str, ref: CredentialRef) -> str | None:
        """Return the id of the key that ``ref`` on ``lock_id`` belongs to, if any."""
        for key_id, index in self.slots.get(lock_id, {}).items():
            if (
                index == ref.index
                and (key := self.keys.get(key_id)) is not None
                and key.kind is ref.kind
            ):
                return key_id
        return None

    def next_serial(self) -> int:
        """Return the issue number of a new key: after every key put in the site."""
        return self._max_serial + 1

    def take_changed(self) -> set[str] | None:
        """
        Return (and forget) the ids of keys and keyholders put or removed since.

        None: any of them may have changed (the site was built or replaced).
        For one reader (the store), which then looks at just those.
        """
        changed, self._changed = self._changed, set()
        return changed

    def _touch(self, item_id: str) -> None:
        self.revision += 1
        if self._changed is not None:
            self._changed.add(item_id)

    def put_key(self, key: Key) -> None:
        """Add or replace a key."""
        if (old := self.keys.get(key.id)) is not None:
            self._unindex(old)
        self.keys[key.id] = key
        self._index(key)
        self._touch(key.id)

    def _unindex(self, key: Key) -> None:
        for index, scope in (
            *((self._by_lock, lock_id) for lock_id in key.lock_ids),
            (self._by_holder, key.keyholder_id),
        ):
            ids = index.get(scope)
            if ids is not None:
                ids.discard(key.id)
                if not ids:
                    del index[scope]

    def put_keyholder(self, keyholder: Keyholder) -> None:
        """Add or replace a keyholder."""
        self.keyholders[keyholder.id] = keyholder
        self._touch(keyholder.id)

    def remove_key(self, key_id: str) -> Key | None:
        """Remove a key (and forget its slots); return it if it existed."""
        for lock_slots in self.slots.values():
            lock_slots.pop(key_id, None)
        key = self.keys.pop(key_id, None)
        if key is not None:
            self._unindex(key)
            self._touch(key_id)
        return key

    def remove_keyholder(self, keyholder_id: str) -> Keyholder | None:
        """Remove a keyholder together with all of its keys."""
        for key in self.keys_of(keyholder_id):
            self.remove_key(key.id)
        self._touch(keyholder_id)
        return self.keyholders.pop(keyholder_id, None)
