"""
Plan what every lock should hold, and the operations to get there.

:func:`make_plan` (and its shortcut :func:`desired_state`) computes, for an instant,
the credential each lock should hold where (a :class:`.model.CredentialRef`: kind
and index); :func:`diff` compares that with what a lock holds and returns the
operations to apply.

Slot rules, for each lock and credential kind on its own (``site.slots`` is
updated in place by the planner):

* A key is wanted on a lock while it is active and some of its access opens that
  lock right now (:mod:`.access`).
* A key keeps its slot on a lock while its access still names the lock, the lock can hold
  it (kind supported, secret present, passcode length in range) and its status is
  not terminal (cancelled, used up, expired). So a blocked key, or a weekly key
  between windows, keeps its slot and comes back to the same one.
* A slot is freed when its key is deleted, leaves the lock, becomes terminal, or
  the slot became unusable (reserved, out of range, or reported occupied by a code
  Keyholder did not write).
* A key that is effective and has no slot gets the lowest free slot of its
  kind; when those are full it takes over the lowest slot of its kind held by a
  key that is not effective right now; when that fails too it is reported in
  :attr:`Plan.unplaced`. Keys
  waiting for a slot get one in the order they were issued (``Key.serial``).
* A key whose code the lock refused (``refused``: it already holds that code) is
  not planned on that lock and is reported with reason ``code_duplicate``; so is
  a key whose secret an earlier-issued key wanted on the lock already has.
* App keys never go on locks. Locks missing from ``locks`` are left untouched.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, tzinfo
from enum import StrEnum

from .access import Moment
from .credentials import CREDENTIAL_KINDS
from .site import Site
from .slots import SlotPool
from .status import TERMINAL_STATUSES, Status, key_status
from .values import CredentialRef, Key, KeyKind, LockCapabilities


@dataclass(frozen=True, slots=True)
class Credential:
    """A key's credential as written to one place of a lock."""

    ref: CredentialRef
    secret: str
    key_id: str

    @property
    def kind(self) -> KeyKind:
        """Return the credential's kind."""
        return self.ref.kind


class UnplacedReason(StrEnum):
    """Why an effective key is not on a lock it lists."""

    NO_FREE_SLOT = "no_free_slot"
    UNSUPPORTED_KIND = "unsupported_kind"
    NO_SECRET = "no_secret"  # noqa: S105 - a reason, not a password
    PASSCODE_REJECTED = "passcode_rejected"
    CODE_DUPLICATE = "code_duplicate"


@dataclass(frozen=True, slots=True)
class Unplaced:
    """An effective key that could not be placed on a lock."""

    key_id: str
    lock_id: str
    reason: UnplacedReason


@dataclass(frozen=True, slots=True)
class Plan:
    """
    The result of planning at one instant.

    ``desired`` maps lock id -> ref -> credential; ``statuses`` holds the status
    of every key (with a keyholder) whose access names a lock planned; ``unplaced`` lists
    effective keys that are missing from a lock they list, sorted by lock then key.
    """

    desired: dict[str, dict[CredentialRef, Credential]]
    unplaced: tuple[Unplaced, ...]
    statuses: dict[str, Status]


def _unfit(key: Key, caps: LockCapabilities) -> UnplacedReason | None:
    """Return why ``key`` cannot be written to a lock with ``caps`` (or None)."""
    if not CREDENTIAL_KINDS[key.kind].can_hold(caps):
        return UnplacedReason.UNSUPPORTED_KIND
    secret = key.secret
    if not secret:
        return UnplacedReason.NO_SECRET
    if key.kind is KeyKind.PASSCODE and not (
        caps.pin_min <= len(secret) <= caps.pin_max
        and secret.isascii()
        and secret.isdigit()
    ):
        return UnplacedReason.PASSCODE_REJECTED
    return None


type _Fits = dict[tuple[str, int], UnplacedReason | None]
"""(key id, id of a lock's capabilities) -> why the key does not fit there."""


def _fit(fits: _Fits, key: Key, caps: LockCapabilities) -> UnplacedReason | None:
    """Return :func:`_unfit`, remembered: locks often share their capabilities."""
    mark = (key.id, id(caps))
    if mark not in fits:
        fits[mark] = _unfit(key, caps)
    return fits[mark]


def _credential(key: Key, ref: CredentialRef) -> Credential:
    """Return the credential of ``key`` at ``ref`` (the key has a secret)."""
    return Credential(ref=ref, secret=key.secret or "", key_id=key.id)


def make_plan(
    site: Site,
    locks: Mapping[str, LockCapabilities],
    at: datetime,
    tz: tzinfo,
    *,
    occupied: Mapping[str, Collection[CredentialRef]] | None = None,
    refused: Mapping[str, Collection[str]] | None = None,
) -> Plan:
    """
    Compute the desired credentials of every lock at ``at``.

    ``occupied`` lists, per lock, credentials Keyholder did not write;
    they are never chosen. ``refused`` lists, per lock, keys whose current code
    the lock refused as a duplicate. MUTATES ``site.slots`` (see the module
    docstring).
    """
    statuses: dict[str, Status] = {}
    by_lock: dict[str, list[Key]] = {lock_id: [] for lock_id in locks}
    opened: dict[str, frozenset[str]] = {}
    moment = Moment(at, tz)
    for key in site.keys_for(locks):
        planned = [
            by_lock[lock_id] for lock_id in site.locks_of(key) if lock_id in by_lock
        ]
        if not planned:
            continue
        holder = site.keyholders.get(key.keyholder_id)
        if holder is None:
            continue
        terms = site.terms_of(key)
        status = key_status(key, holder, at, tz, terms=terms, moment=moment)
        statuses[key.id] = status
        if not CREDENTIAL_KINDS[key.kind].held_by_lock:
            continue
        if status is Status.ACTIVE:
            opened[key.id] = moment.open_locks(terms)
        for lock_keys in planned:
            lock_keys.append(key)

    desired: dict[str, dict[CredentialRef, Credential]] = {}
    unplaced: list[Unplaced] = []
    fits: _Fits = {}
    for lock_id, caps in locks.items():
        foreign = frozenset(occupied.get(lock_id, ())) if occupied else frozenset()
        desired[lock_id] = _plan_lock(
            site,
            lock_id,
            caps=caps,
            lock_keys=by_lock[lock_id],
            statuses=statuses,
            opened=opened,
            fits=fits,
            foreign=foreign,
            refused=frozenset(refused.get(lock_id, ())) if refused else frozenset(),
            unplaced=unplaced,
        )
    unplaced.sort(key=lambda item: (item.lock_id, item.key_id))
    return Plan(desired=desired, unplaced=tuple(unplaced), statuses=statuses)


def _plan_lock(
    site: Site,
    lock_id: str,
    *,
    caps: LockCapabilities,
    lock_keys: list[Key],
    statuses: Mapping[str, Status],
    opened: Mapping[str, frozenset[str]],
    fits: _Fits,
    foreign: frozenset[CredentialRef],
    refused: frozenset[str],
    unplaced: list[Unplaced],
) -> dict[CredentialRef, Credential]:
    """Plan one lock: keep, free and allocate its slots; return ref -> credential."""
    wanted: list[Key] = []
    keepers: dict[str, Key] = {}
    for key in lock_keys:
        if statuses[key.id] in TERMINAL_STATUSES:
            continue  # neither kept nor wanted anywhere
        open_here = lock_id in opened.get(key.id, ())
        reason = _fit(fits, key, caps)
        if reason is None and key.id in refused:
            reason = UnplacedReason.CODE_DUPLICATE
        if reason is None:
            keepers[key.id] = key
            if open_here:
                wanted.append(key)
        elif open_here:
            unplaced.append(Unplaced(key.id, lock_id, reason))

    wanted = _unique(wanted, lock_id, unplaced)
    kept = _kept(site.slots.get(lock_id, {}), keepers, caps, foreign)
    result: dict[CredentialRef, Credential] = {}
    pending: list[Key] = []
    for key in wanted:
        kept_ref = kept.get(key.id)
        if kept_ref is None:
            pending.append(key)
        else:
            result[kept_ref] = _credential(key, kept_ref)
    if pending:
        _allocate(
            lock_id,
            caps,
            pending=pending,
            idle=kept.keys() - {key.id for key in wanted},
            kept=kept,
            foreign=foreign,
            result=result,
            unplaced=unplaced,
        )

    if kept:
        site.slots[lock_id] = {key_id: ref.index for key_id, ref in kept.items()}
    else:
        site.slots.pop(lock_id, None)
    return result


def _unique(wanted: list[Key], lock_id: str, unplaced: list[Unplaced]) -> list[Key]:
    """
    Return the keys of ``wanted`` whose secret no earlier-issued key has.

    A secret opens one key's way on a lock: a later key with the same one
    (two accesses meeting on a lock) is reported ``code_duplicate``.
    """
    if len(wanted) < 2:
        return wanted
    seen: set[tuple[KeyKind, str | None]] = set()
    unique: list[Key] = []
    for key in sorted(wanted, key=lambda key: (key.serial, key.id)):
        mark = (key.kind, key.secret)
        if mark in seen:
            unplaced.append(Unplaced(key.id, lock_id, UnplacedReason.CODE_DUPLICATE))
        else:
            seen.add(mark)
            unique.append(key)
    return unique


def _kept(
    held: Mapping[str, int],
    keepers: Mapping[str, Key],
    caps: LockCapabilities,
    foreign: frozenset[CredentialRef],
) -> dict[str, CredentialRef]:
    """Return key id -> ref of the slots their keys keep (see the module docstring)."""
    kept: dict[str, CredentialRef] = {}
    taken: set[CredentialRef] = set()
    for key_id, index in sorted(held.items()):
        key = keepers.get(key_id)
        if key is None or not caps.slots[key.kind].usable(index):
            continue
        ref = CredentialRef(key.kind, index)
        if ref not in taken and not (foreign and ref in foreign):
            kept[key_id] = ref
            taken.add(ref)
    return kept


def _allocate(
    lock_id: str,
    caps: LockCapabilities,
    *,
    pending: list[Key],
    idle: set[str],
    kept: dict[str, CredentialRef],
    foreign: frozenset[CredentialRef],
    result: dict[CredentialRef, Credential],
    unplaced: list[Unplaced],
) -> None:
    """
    Give each pending key a free slot of its kind, or one an ``idle`` key keeps.

    Updates ``kept`` and ``result``; keys left without one go to ``unplaced``.
    """
    pools: dict[KeyKind, SlotPool] = {}
    idle_slots: dict[KeyKind, Iterator[tuple[CredentialRef, str]]] = {}
    for key in sorted(pending, key=lambda key: (key.serial, key.id)):
        kind = key.kind
        if kind not in pools:
            used = {ref.index for ref in (*kept.values(), *foreign) if ref.kind is kind}
            pools[kind] = SlotPool(caps.slots[kind], used)
            idle_slots[kind] = iter(
                sorted(
                    (ref, key_id)
                    for key_id, ref in kept.items()
                    if ref.kind is kind and key_id in idle
                )
            )
        index = pools[kind].take()
        if index is not None:
            ref = CredentialRef(kind, index)
        elif (taken_over := next(idle_slots[kind], None)) is not None:
            ref = taken_over[0]
            del kept[taken_over[1]]
        else:
            unplaced.append(Unplaced(key.id, lock_id, UnplacedReason.NO_FREE_SLOT))
            continue
        kept[key.id] = ref
        result[ref] = _credential(key, ref)


def desired_state(
    site: Site,
    locks: Mapping[str, LockCapabilities],
    at: datetime,
    tz: tzinfo,
    *,
    occupied: Mapping[str, Collection[CredentialRef]] | None = None,
) -> dict[str, dict[CredentialRef, Credential]]:
    """
    Return lock id -> ref -> credential for every key effective at ``at``.

    Shortcut for ``make_plan(...).desired``; use :func:`make_plan` to also learn
    which effective keys could not be placed. MUTATES ``site.slots``.
    """
    return make_plan(site, locks, at, tz, occupied=occupied).desired


def record_use(site: Site, key_id: str) -> Key:
    """
    Count one use of a key; replace it in ``site.keys`` and return it.

    Raises KeyError for an unknown key.
    """
    key = replace(site.keys[key_id], uses=site.keys[key_id].uses + 1)
    site.put_key(key)
    return key
