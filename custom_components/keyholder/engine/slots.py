"""
Slot allocation on a lock.

A lock offers numbered slots ``[slot_min, slot_max]``; some are reserved (the
user keeps them for themselves) and some hold codes Keyholder did not write.
Keyholder writes only to the lowest free slot and keys keep their slot while
they stay on a lock (see :func:`.plan.desired_state`).
"""

from __future__ import annotations

from collections.abc import Collection

from .model import LockCapabilities


def slot_usable(caps: LockCapabilities, slot: int) -> bool:
    """Return True when ``slot`` is within the lock's range and not reserved."""
    return caps.slot_min <= slot <= caps.slot_max and slot not in caps.reserved_slots


def allocate_slot(caps: LockCapabilities, used: Collection[int]) -> int | None:
    """Return the lowest usable slot that is not in ``used`` (None if full)."""
    for slot in range(caps.slot_min, caps.slot_max + 1):
        if slot not in caps.reserved_slots and slot not in used:
            return slot
    return None


class SlotPool:
    """
    Hands out the lowest free slots of one lock, one after another.

    Equivalent to calling :func:`allocate_slot` repeatedly and adding each result
    to ``used``, but linear in the number of slots overall.
    """

    __slots__ = ("_caps", "_next", "_used")

    def __init__(self, caps: LockCapabilities, used: Collection[int]) -> None:
        """Start a pool for ``caps`` with the ``used`` slots taken."""
        self._caps = caps
        self._used = set(used)
        self._next = caps.slot_min

    def take(self) -> int | None:
        """Return the lowest free slot and mark it used (None if full)."""
        caps = self._caps
        slot = self._next
        while slot <= caps.slot_max:
            if slot not in caps.reserved_slots and slot not in self._used:
                self._used.add(slot)
                self._next = slot + 1
                return slot
            slot += 1
        self._next = slot
        return None
