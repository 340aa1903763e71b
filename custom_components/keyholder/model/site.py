"""
The mutable state of one site: keyholders, keys, access and slots.

:class:`Site` is the one mutable container of the model; everything in it is an
immutable value (:mod:`.values`) replaced through its methods, which keep the
indexes (each keyholder's keys, the keys on each lock, what each key opens)
and note what changed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from .access import Term, covers, term_locks
from .access_index import AccessIndex
from .values import (
    AccessGroup,
    CredentialRef,
    Grant,
    Key,
    Keyholder,
    Membership,
)


@dataclass(slots=True)
class Site:
    """
    The mutable state of one site.

    ``slots`` maps lock id -> key id -> index: where each key is held on each
    lock, among the credentials of the key's kind (a key has one kind, so the
    index names one :class:`CredentialRef`). The planner
    (:func:`.plan.desired_state`) maintains it.

    ``access`` holds the access groups, memberships and personal grants; a key
    opens its keyholder's access within its own limits (:meth:`terms_of`).

    Keyholders, keys and access are added, replaced and removed through the
    methods below, which keep the indexes (each keyholder's keys, the keys that
    open each lock), note which records changed (:meth:`take_changed`) and
    count ``revision`` up (what is computed from them may be kept until it
    moves); the dicts themselves are read freely.
    """

    keyholders: dict[str, Keyholder] = field(default_factory=dict)
    keys: dict[str, Key] = field(default_factory=dict)
    slots: dict[str, dict[str, int]] = field(default_factory=dict)
    access: AccessIndex = field(default_factory=AccessIndex)
    # keyholder id -> ids of their keys, lock id -> ids of the keys opening it,
    # key id -> what it opens (kept by the methods), the highest serial put
    _by_holder: dict[str, set[str]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    _by_lock: dict[str, set[str]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    _terms: dict[str, tuple[tuple[Term, ...], frozenset[str]]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    _max_serial: int = field(default=0, init=False, repr=False, compare=False)
    # ids of the records put or removed since take_changed (None: any of them
    # may have)
    _changed: set[str] | None = field(
        default=None, init=False, repr=False, compare=False
    )
    revision: int = field(default=0, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        """Index the keys given."""
        self._reindex()

    @property
    def groups(self) -> dict[str, AccessGroup]:
        """Return the access groups by id (read only: use :meth:`put_group`)."""
        return self.access.groups

    @property
    def memberships(self) -> dict[str, Membership]:
        """Return the memberships by id (read only)."""
        return self.access.memberships

    @property
    def grants(self) -> dict[str, Grant]:
        """Return the personal grants by id (read only)."""
        return self.access.grants

    def _reindex(self) -> None:
        self._by_holder = {}
        self._by_lock = {}
        self._terms = {}
        self._max_serial = 0
        self._changed = None
        self.revision += 1
        self.access.forget_terms()
        for key in self.keys.values():
            self._index(key)

    def _index(self, key: Key) -> None:
        self._by_holder.setdefault(key.keyholder_id, set()).add(key.id)
        terms = self.access.key_terms(key)
        locks = term_locks(terms)
        self._terms[key.id] = (terms, locks)
        for lock_id in locks:
            self._by_lock.setdefault(lock_id, set()).add(key.id)
        self._max_serial = max(self._max_serial, key.serial)

    def _unindex(self, key: Key) -> None:
        _terms, locks = self._terms.pop(key.id, ((), frozenset()))
        for index, scope in (
            *((self._by_lock, lock_id) for lock_id in locks),
            (self._by_holder, key.keyholder_id),
        ):
            ids = index.get(scope)
            if ids is not None:
                ids.discard(key.id)
                if not ids:
                    del index[scope]

    def replace_all(self, other: Site) -> None:
        """Take over another site's keyholders, keys, access and slots (in place)."""
        self.keyholders, self.keys, self.slots, self.access = (
            other.keyholders,
            other.keys,
            other.slots,
            other.access,
        )
        self._reindex()

    def terms_of(self, key: Key) -> tuple[Term, ...]:
        """Return what ``key`` opens: its keyholder's access within its limits."""
        hit = self._terms.get(key.id)
        return hit[0] if hit is not None else self.access.key_terms(key)

    def locks_of(self, key: Key) -> frozenset[str]:
        """Return the locks ``key`` opens at some time (its access's locks)."""
        hit = self._terms.get(key.id)
        return hit[1] if hit is not None else term_locks(self.access.key_terms(key))

    def keys_of(self, keyholder_id: str) -> list[Key]:
        """Return the keys of one keyholder, sorted by key id."""
        return [
            self.keys[key_id]
            for key_id in sorted(self._by_holder.get(keyholder_id, ()))
        ]

    def keys_on(self, lock_id: str) -> list[Key]:
        """Return the keys that open ``lock_id`` at some time, sorted by key id."""
        return [self.keys[key_id] for key_id in sorted(self._by_lock.get(lock_id, ()))]

    def keys_for(self, lock_ids: Iterable[str]) -> list[Key]:
        """
        Return the keys that open any of ``lock_ids`` (in no particular order).

        Costs what those locks hold, not what the whole site holds.
        """
        found: set[str] = set()
        for lock_id in lock_ids:
            found.update(self._by_lock.get(lock_id, ()))
        if len(found) * 2 > len(self.keys):
            return [key for key in self.keys.values() if key.id in found]
        return [self.keys[key_id] for key_id in found]

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
        Return (and forget) the ids of the records put or removed since.

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
        """Remove a keyholder together with all of their keys and access."""
        for key in self.keys_of(keyholder_id):
            self.remove_key(key.id)
        for access_id in self.access.access_ids_of(keyholder_id):
            self.access.remove_membership(access_id)
            self.access.remove_grant(access_id)
            self._touch(access_id)
        self._touch(keyholder_id)
        return self.keyholders.pop(keyholder_id, None)

    def _reaccess(
        self, holders: set[str], changed: str | None, source: str | None
    ) -> set[str]:
        """Look again at what the keys of ``holders`` open (``source`` changed)."""
        for holder in holders:
            for key in self.keys_of(holder):
                terms = self._terms[key.id][0]
                # A key its own access covers stays as it is when another changes.
                if (
                    len(terms) == 1
                    and terms[0].source != source
                    and covers(terms[0], key)
                ):
                    continue
                self._unindex(key)
                self._index(key)
        if changed is not None:
            self._touch(changed)
        self.revision += 1
        return holders

    def put_group(self, group: AccessGroup) -> set[str]:
        """Add or replace an access group; return the keyholders it changed."""
        return self._reaccess(self.access.put_group(group), None, group.id)

    def remove_group(self, group_id: str) -> set[str]:
        """Remove an access group and its memberships; return who it changed."""
        holders = self.access.remove_group(group_id, self._touch)
        return self._reaccess(holders, None, group_id)

    def put_membership(self, membership: Membership) -> set[str]:
        """Add or replace a membership; return the keyholder it changed."""
        holders = self.access.put_membership(membership)
        return self._reaccess(holders, membership.id, membership.group_id)

    def remove_membership(self, membership_id: str) -> set[str]:
        """Remove a membership; return the keyholder it changed."""
        old = self.access.memberships.get(membership_id)
        holders = self.access.remove_membership(membership_id)
        return self._reaccess(holders, membership_id, old.group_id if old else None)

    def put_grant(self, grant: Grant) -> set[str]:
        """Add or replace personal access; return the keyholders it changed."""
        return self._reaccess(self.access.put_grant(grant), grant.id, grant.id)

    def remove_grant(self, grant_id: str) -> set[str]:
        """Remove personal access; return the keyholder it changed."""
        return self._reaccess(self.access.remove_grant(grant_id), grant_id, grant_id)
