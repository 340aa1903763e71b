"""
Slot allocation on a lock, one credential kind at a time.

A lock numbers each kind of credential it holds on its own: indices
``[first, last]`` of that kind's :class:`.model.SlotRange`; some are reserved
(the user keeps them for themselves) and some hold credentials Keyholder did not
write. Keyholder writes only to the lowest free index of the key's kind, and
keys keep their index while they stay on a lock (see :func:`.plan.desired_state`).
"""

from __future__ import annotations

from collections.abc import Collection

from .values import CredentialRef, KeyKind, LockCapabilities, SlotRange


def slot_usable(caps: LockCapabilities, ref: CredentialRef) -> bool:
    """Return True when the lock holds ``ref``'s kind and its index is usable."""
    return caps.usable(ref)


def allocate_slot(
    caps: LockCapabilities, kind: KeyKind, used: Collection[int]
) -> int | None:
    """Return the lowest usable index of ``kind`` not in ``used`` (None if full)."""
    slots = caps.slots.get(kind)
    return None if slots is None else SlotPool(slots, used).take()


class SlotPool:
    """
    Hands out the lowest free indices of one kind on one lock, one after another.

    Equivalent to calling :func:`allocate_slot` repeatedly and adding each result
    to ``used``, but linear in the number of indices overall.
    """

    __slots__ = ("_next", "_range", "_used")

    def __init__(self, slots: SlotRange, used: Collection[int]) -> None:
        """Start a pool for ``slots`` with the ``used`` indices taken."""
        self._range = slots
        self._used = set(used)
        self._next = slots.first

    def take(self) -> int | None:
        """Return the lowest free index and mark it used (None if full)."""
        slots = self._range
        index = self._next
        while index <= slots.last:
            if index not in slots.reserved and index not in self._used:
                self._used.add(index)
                self._next = index + 1
                return index
            index += 1
        self._next = index
        return None
