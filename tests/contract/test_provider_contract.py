"""What every lock provider must do, checked against each family's device.

Every test drives the provider only through the ``LockProvider`` protocol and
checks the result on the device itself (``family.async_held``), so a provider
that says it wrote a code but did not fails here.
"""

from __future__ import annotations

import pytest

from custom_components.keyholder.providers import LockProvider, ProviderError

from .families import Family, family_names

every_family = pytest.mark.parametrize("family", family_names(), indirect=True)


def _shown(family: Family, code: str) -> str | None:
    """What a read shows for ``code``: the code, or None where the lock masks it."""
    return None if family.masks_codes else code


async def _built(family: Family) -> LockProvider:
    """Build the provider and read once (some learn the slot count by reading)."""
    provider = await family.async_build()
    assert provider.available
    assert await provider.async_read_slots() == {}
    return provider


@every_family
async def test_set_codes_land_on_the_lock_and_read_back(family: Family) -> None:
    provider = await _built(family)
    caps = provider.capabilities
    low, high = "4826" + "1" * (caps.pin_min - 4), "7" * caps.pin_max
    await provider.async_set_code(caps.slot_min, low)
    await provider.async_set_code(caps.slot_max, high)
    assert await family.async_held() == {caps.slot_min: low, caps.slot_max: high}
    assert await provider.async_read_slots() == {
        caps.slot_min: _shown(family, low),
        caps.slot_max: _shown(family, high),
    }
    # Masked codes are known only after a read shows one; then it stays honest.
    assert provider.capabilities.can_read_back is not family.masks_codes
    # Overwriting a slot replaces its code.
    await provider.async_set_code(caps.slot_min, "5938")
    assert await family.async_held() == {caps.slot_min: "5938", caps.slot_max: high}
    assert (await provider.async_read_slots())[caps.slot_min] == _shown(family, "5938")


@every_family
async def test_clear_empties_only_that_slot(family: Family) -> None:
    provider = await _built(family)
    first = provider.capabilities.slot_min
    await provider.async_set_code(first, "4826")
    await provider.async_set_code(first + 1, "5937")
    await provider.async_read_slots()
    await provider.async_clear_code(first)
    assert await family.async_held() == {first + 1: "5937"}
    assert await provider.async_read_slots() == {first + 1: _shown(family, "5937")}
    # Clearing an empty slot is not an error.
    await provider.async_clear_code(first)
    assert await provider.async_read_slots() == {first + 1: _shown(family, "5937")}


@every_family
async def test_codes_written_by_others_are_reported(family: Family) -> None:
    provider = await family.async_build()
    slot = provider.capabilities.slot_min + 2
    await family.async_seed(slot, "9911")
    reported = await provider.async_read_slots()
    if not family.sees_foreign_codes:
        # A family that cannot read slots must not pretend to (nor touch the code).
        assert reported == {}
    else:
        if not family.numbered_slots:
            # The lock has no slot numbers: the code gets one slot of the provider's.
            assert list(reported.values()) == [_shown(family, "9911")]
            slot = next(iter(reported))
        assert reported == {slot: _shown(family, "9911")}
    assert provider.capabilities.can_read_back is not family.masks_codes
    assert await family.async_held() == {slot: "9911"}


@every_family
async def test_slots_outside_the_lock_are_refused(family: Family) -> None:
    provider = await _built(family)
    caps = provider.capabilities
    assert caps.slot_min <= caps.slot_max
    for slot in (caps.slot_min - 1, caps.slot_max + 1):
        with pytest.raises(ProviderError) as err:
            await provider.async_set_code(slot, "4826")
        assert err.value.reason == "slot_out_of_range"
    assert await family.async_held() == {}


@every_family
async def test_codes_of_a_length_the_lock_refuses_are_refused(family: Family) -> None:
    provider = await _built(family)
    caps = provider.capabilities
    for code in ("4" * (caps.pin_min - 1), "4" * (caps.pin_max + 1)):
        with pytest.raises(ProviderError) as err:
            await provider.async_set_code(caps.slot_min, code)
        assert err.value.reason == "code_rejected"
    assert await family.async_held() == {}


@every_family
async def test_offline_lock_fails_every_operation_until_it_is_back(
    family: Family,
) -> None:
    provider = await _built(family)
    slot = provider.capabilities.slot_min
    await provider.async_set_code(slot, "4826")
    # The lock has the code before it goes away (a write still on its way to
    # a lock that goes offline is lost, as it would be).
    assert await family.async_held() == {slot: "4826"}
    backs: list[str] = []
    unsub = provider.async_listen_available(lambda: backs.append("back"))

    await family.async_set_online(online=False)
    assert not provider.available
    for operation in (
        provider.async_read_slots(),
        provider.async_set_code(slot + 1, "5937"),
        provider.async_clear_code(slot),
    ):
        with pytest.raises(ProviderError) as err:
            await operation
        assert err.value.reason == "lock_offline"
    assert backs == []

    await family.async_set_online(online=True)
    assert provider.available
    assert backs == (["back"] if family.announces_return else [])
    assert await provider.async_read_slots() == {slot: _shown(family, "4826")}
    assert await family.async_held() == {slot: "4826"}
    unsub()


@pytest.mark.parametrize("family", family_names(reports_keypad=True), indirect=True)
async def test_keypad_unlocks_are_reported_with_their_slot(family: Family) -> None:
    provider = await _built(family)
    slot = provider.capabilities.slot_min + 1
    await provider.async_set_code(slot, "4826")
    used: list[int] = []
    unsub = provider.async_listen_usage(used.append)
    await family.async_press_keypad(slot)
    assert used == [slot]
    # Opening by hand is no keypad use, even where the report names a user.
    await family.async_unlock_by_hand(slot)
    assert used == [slot]
    unsub()
    await family.async_press_keypad(slot)
    assert used == [slot]
