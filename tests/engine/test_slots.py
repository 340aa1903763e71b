from __future__ import annotations

from hypothesis import given, strategies as st

from custom_components.keyholder.engine.model import LockCapabilities
from custom_components.keyholder.engine.slots import (
    SlotPool,
    allocate_slot,
    slot_usable,
)

from .strategies import PROPERTY_SETTINGS


def test_allocate_lowest_free_slot() -> None:
    caps = LockCapabilities(slot_min=1, slot_max=5)
    assert allocate_slot(caps, []) == 1
    assert allocate_slot(caps, {1, 2, 4}) == 3
    assert allocate_slot(caps, {1, 2, 3, 4, 5}) is None


def test_reserved_slots_are_skipped() -> None:
    caps = LockCapabilities(slot_min=1, slot_max=5, reserved_slots=frozenset({1, 2}))
    assert allocate_slot(caps, []) == 3
    assert not slot_usable(caps, 1)
    assert not slot_usable(caps, 6)
    assert not slot_usable(caps, 0)
    assert slot_usable(caps, 5)


@PROPERTY_SETTINGS
@given(
    st.integers(0, 5),
    st.integers(0, 12),
    st.frozensets(st.integers(0, 15), max_size=6),
    st.sets(st.integers(0, 15), max_size=8),
    st.integers(0, 15),
)
def test_pool_equals_repeated_allocate(
    slot_min: int, span: int, reserved: frozenset[int], used: set[int], takes: int
) -> None:
    caps = LockCapabilities(
        slot_min=slot_min, slot_max=slot_min + span, reserved_slots=reserved
    )
    pool = SlotPool(caps, used)
    simple_used = set(used)
    for _ in range(takes):
        expected = allocate_slot(caps, simple_used)
        assert pool.take() == expected
        if expected is not None:
            simple_used.add(expected)
