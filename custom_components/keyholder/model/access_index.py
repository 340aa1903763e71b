"""
A site's access, indexed: groups, memberships, grants, and what each key opens.

:class:`AccessIndex` holds the records and keeps, for every keyholder, their
terms (:func:`.access.holder_terms`) and, for every key, the terms it opens
(:func:`.access.key_terms`). A change to a group, a membership or a grant
recomputes just the keyholders it touches and tells the site which of their
keys to look at again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from .access import Term, holder_terms, key_terms
from .values import AccessGroup, Grant, Key, Membership


def _add(index: dict[str, set[str]], scope: str, item_id: str) -> None:
    index.setdefault(scope, set()).add(item_id)


def _discard(index: dict[str, set[str]], scope: str, item_id: str) -> None:
    ids = index.get(scope)
    if ids is not None:
        ids.discard(item_id)
        if not ids:
            del index[scope]


@dataclass(slots=True)
class AccessIndex:
    """The access records of a site and the terms they give (see the module)."""

    groups: dict[str, AccessGroup] = field(default_factory=dict)
    memberships: dict[str, Membership] = field(default_factory=dict)
    grants: dict[str, Grant] = field(default_factory=dict)
    # keyholder id -> ids of their memberships / grants; group id -> membership ids
    _holder_memberships: dict[str, set[str]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    _holder_grants: dict[str, set[str]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    _group_members: dict[str, set[str]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    _terms: dict[str, tuple[Term, ...]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        """Index the records given."""
        for membership in self.memberships.values():
            self._index_membership(membership)
        for grant in self.grants.values():
            _add(self._holder_grants, grant.keyholder_id, grant.id)

    def _index_membership(self, membership: Membership) -> None:
        _add(self._holder_memberships, membership.keyholder_id, membership.id)
        _add(self._group_members, membership.group_id, membership.id)

    def memberships_of(self, keyholder_id: str) -> list[Membership]:
        """Return a keyholder's memberships, sorted by id."""
        ids = self._holder_memberships.get(keyholder_id, ())
        return [self.memberships[mid] for mid in sorted(ids)]

    def members_of(self, group_id: str) -> list[Membership]:
        """Return a group's memberships, sorted by id."""
        ids = self._group_members.get(group_id, ())
        return [self.memberships[mid] for mid in sorted(ids)]

    def grants_of(self, keyholder_id: str) -> list[Grant]:
        """Return a keyholder's personal access, sorted by id."""
        ids = self._holder_grants.get(keyholder_id, ())
        return [self.grants[gid] for gid in sorted(ids)]

    def terms_of(self, keyholder_id: str) -> tuple[Term, ...]:
        """Return a keyholder's access (computed once per change)."""
        terms = self._terms.get(keyholder_id)
        if terms is None:
            terms = holder_terms(
                self.groups,
                self.memberships_of(keyholder_id),
                self.grants_of(keyholder_id),
            )
            self._terms[keyholder_id] = terms
        return terms

    def key_terms(self, key: Key) -> tuple[Term, ...]:
        """Return what ``key`` opens."""
        return key_terms(self.terms_of(key.keyholder_id), key)

    def forget_terms(self) -> None:
        """Forget every keyholder's terms (the records were replaced)."""
        self._terms.clear()

    def _changed(self, holders: Iterable[str]) -> set[str]:
        holders = set(holders)
        for holder in holders:
            self._terms.pop(holder, None)
        return holders

    def put_group(self, group: AccessGroup) -> set[str]:
        """Add or replace a group; return the keyholders whose access changed."""
        self.groups[group.id] = group
        return self._changed(m.keyholder_id for m in self.members_of(group.id))

    def remove_group(
        self, group_id: str, on_removed: Callable[[str], None]
    ) -> set[str]:
        """
        Remove a group and its memberships (``on_removed`` gets each id).

        Returns the keyholders whose access changed.
        """
        self.groups.pop(group_id, None)
        holders: set[str] = set()
        for membership in self.members_of(group_id):
            self.remove_membership(membership.id)
            on_removed(membership.id)
            holders.add(membership.keyholder_id)
        return self._changed(holders)

    def put_membership(self, membership: Membership) -> set[str]:
        """Add or replace a membership; return the keyholder whose access changed."""
        self.memberships[membership.id] = membership
        self._index_membership(membership)
        return self._changed((membership.keyholder_id,))

    def remove_membership(self, membership_id: str) -> set[str]:
        """Remove a membership; return the keyholder whose access changed."""
        membership = self.memberships.pop(membership_id, None)
        if membership is None:
            return set()
        _discard(self._holder_memberships, membership.keyholder_id, membership_id)
        _discard(self._group_members, membership.group_id, membership_id)
        return self._changed((membership.keyholder_id,))

    def put_grant(self, grant: Grant) -> set[str]:
        """Add or replace a grant; return the keyholder whose access changed."""
        old = self.grants.get(grant.id)
        holders = {grant.keyholder_id}
        if old is not None and old.keyholder_id != grant.keyholder_id:
            _discard(self._holder_grants, old.keyholder_id, grant.id)
            holders.add(old.keyholder_id)
        self.grants[grant.id] = grant
        _add(self._holder_grants, grant.keyholder_id, grant.id)
        return self._changed(holders)

    def remove_grant(self, grant_id: str) -> set[str]:
        """Remove a grant; return the keyholder whose access changed."""
        grant = self.grants.pop(grant_id, None)
        if grant is None:
            return set()
        _discard(self._holder_grants, grant.keyholder_id, grant_id)
        return self._changed((grant.keyholder_id,))

    def access_ids_of(self, keyholder_id: str) -> list[str]:
        """Return the ids of a keyholder's memberships and grants."""
        return [
            *sorted(self._holder_memberships.get(keyholder_id, ())),
            *sorted(self._holder_grants.get(keyholder_id, ())),
        ]
