from __future__ import annotations

from hypothesis import given, strategies as st

from custom_components.keyholder.model.slots import (
    SlotPool,
    allocate_slot,
    slot_usable,
)
from custom_components.keyholder.model.values import (
    CredentialRef,
    KeyKind,
    LockCapabilities,
    SlotRange,
)

from .strategies import PROPERTY_SETTINGS

PASSCODE, TAG = KeyKind.PASSCODE, KeyKind.TAG


def test_allocate_lowest_free_slot() -> None:
    caps = LockCapabilities(slots={PASSCODE: SlotRange(1, 5)})
    assert allocate_slot(caps, PASSCODE, []) == 1
    assert allocate_slot(caps, PASSCODE, {1, 2, 4}) == 3
    assert allocate_slot(caps, PASSCODE, {1, 2, 3, 4, 5}) is None
    # A kind the lock does not hold has no slot at all.
    assert allocate_slot(caps, TAG, []) is None


def test_each_kind_is_numbered_on_its_own() -> None:
    caps = LockCapabilities(slots={PASSCODE: SlotRange(1, 5), TAG: SlotRange(0, 1)})
    assert allocate_slot(caps, TAG, []) == 0
    assert allocate_slot(caps, TAG, {0, 1}) is None
    assert allocate_slot(caps, PASSCODE, {1}) == 2
    assert slot_usable(caps, CredentialRef(TAG, 0))
    assert not slot_usable(caps, CredentialRef(PASSCODE, 0))


def test_reserved_slots_are_skipped() -> None:
    caps = LockCapabilities(slots={PASSCODE: SlotRange(1, 5, frozenset({1, 2}))})
    assert allocate_slot(caps, PASSCODE, []) == 3
    assert not slot_usable(caps, CredentialRef(PASSCODE, 1))
    assert not slot_usable(caps, CredentialRef(PASSCODE, 6))
    assert not slot_usable(caps, CredentialRef(PASSCODE, 0))
    assert slot_usable(caps, CredentialRef(PASSCODE, 5))
    assert not slot_usable(caps, CredentialRef(TAG, 5))


@PROPERTY_SETTINGS
@given(
    st.integers(0, 5),
    st.integers(0, 12),
    st.frozensets(st.integers(0, 15), max_size=6),
    st.sets(st.integers(0, 15), max_size=8),
    st.integers(0, 15),
)
def test_pool_equals_repeated_allocate(
    first: int, span: int, reserved: frozenset[int], used: set[int], takes: int
) -> None:
    slots = SlotRange(first, first + span, reserved)
    caps = LockCapabilities(slots={PASSCODE: slots})
    pool = SlotPool(slots, used)
    simple_used = set(used)
    for _ in range(takes):
        expected = allocate_slot(caps, PASSCODE, simple_used)
        assert pool.take() == expected
        if expected is not None:
            simple_used.add(expected)
