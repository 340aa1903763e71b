"""What every lock provider must do, checked against each family's device.

Every test drives the provider only through the ``LockProvider`` protocol and
checks the result on the device itself (``family.async_held``), so a provider
that says it wrote a code but did not fails here.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from custom_components.keyholder.families import LockProvider, ProviderError
from custom_components.keyholder.model.values import (
    CredentialRef,
    KeyKind,
    SlotRange,
)

from ..helpers import P
from .families import Family, family_names

every_family = pytest.mark.parametrize("family", family_names(), indirect=True)
EXCEPTIONS = json.loads(
    (
        Path(__file__).resolve().parents[2]
        / "custom_components/keyholder/translations/en.json"
    ).read_text()
)["exceptions"]


def _shown(family: Family, code: str) -> str | None:
    """What a read shows for ``code``: the code, or None where the lock masks it."""
    return None if family.masks_codes else code


def _pins(provider: LockProvider) -> SlotRange:
    """Return the lock's passcode slots (every family holds passcodes)."""
    return provider.capabilities.slots[KeyKind.PASSCODE]


async def _built(family: Family) -> LockProvider:
    """Build the provider and read once (some learn the slot count by reading)."""
    provider = await family.async_build()
    assert provider.available
    assert await provider.async_read_credentials() == {}
    return provider


@every_family
async def test_set_codes_land_on_the_lock_and_read_back(family: Family) -> None:
    provider = await _built(family)
    caps, pins = provider.capabilities, _pins(provider)
    low, high = "4826" + "1" * (caps.pin_min - 4), "7" * caps.pin_max
    await provider.async_set_credential(P(pins.first), low)
    await provider.async_set_credential(P(pins.last), high, valid=None)
    assert await family.async_held() == {pins.first: low, pins.last: high}
    assert await provider.async_read_credentials() == {
        P(pins.first): _shown(family, low),
        P(pins.last): _shown(family, high),
    }
    # Masked codes are known only after a read shows one; then it stays honest.
    assert provider.capabilities.can_read_back is not family.masks_codes
    # Overwriting a slot replaces its code.
    await provider.async_set_credential(P(pins.first), "5938")
    assert await family.async_held() == {pins.first: "5938", pins.last: high}
    read = await provider.async_read_credentials()
    assert read[P(pins.first)] == _shown(family, "5938")


@every_family
async def test_clear_empties_only_that_slot(family: Family) -> None:
    provider = await _built(family)
    first = _pins(provider).first
    await provider.async_set_credential(P(first), "4826")
    await provider.async_set_credential(P(first + 1), "5937")
    await provider.async_read_credentials()
    await provider.async_clear_credential(P(first))
    assert await family.async_held() == {first + 1: "5937"}
    expected = {P(first + 1): _shown(family, "5937")}
    assert await provider.async_read_credentials() == expected
    # Clearing an empty slot is not an error.
    await provider.async_clear_credential(P(first))
    assert await provider.async_read_credentials() == expected


@every_family
async def test_codes_written_by_others_are_reported(family: Family) -> None:
    provider = await family.async_build()
    slot = _pins(provider).first + 2
    await family.async_seed(slot, "9911")
    reported = await provider.async_read_credentials()
    if not family.sees_foreign_codes:
        # A family that cannot read slots must not pretend to (nor touch the code).
        assert reported == {}
    else:
        if not family.numbered_slots:
            # The lock has no slot numbers: the code gets one slot of the provider's.
            assert list(reported.values()) == [_shown(family, "9911")]
            slot = next(iter(reported)).index
        assert reported == {P(slot): _shown(family, "9911")}
    assert provider.capabilities.can_read_back is not family.masks_codes
    assert await family.async_held() == {slot: "9911"}


@every_family
async def test_slots_outside_the_lock_are_refused(family: Family) -> None:
    provider = await _built(family)
    pins = _pins(provider)
    assert pins.first <= pins.last
    for slot in (pins.first - 1, pins.last + 1):
        with pytest.raises(ProviderError) as err:
            await provider.async_set_credential(P(slot), "4826")
        assert err.value.reason == "slot_out_of_range"
    assert await family.async_held() == {}


@every_family
async def test_kinds_the_lock_does_not_hold_are_refused(family: Family) -> None:
    """Asked for a credential of a kind it does not hold, a family says so."""
    provider = await _built(family)
    caps = provider.capabilities
    assert KeyKind.PASSCODE in caps.credential_kinds
    assert set(caps.slots) == caps.credential_kinds
    for kind in set(KeyKind) - caps.credential_kinds:
        ref = CredentialRef(kind, _pins(provider).first)
        for operation in (
            provider.async_set_credential(ref, "04A1B2C3"),
            provider.async_clear_credential(ref),
        ):
            with pytest.raises(ProviderError) as err:
                await operation
            assert err.value.reason == "kind_not_held"
            assert "04A1B2C3" not in str(err.value)
    assert "kind_not_held" in EXCEPTIONS
    assert await family.async_held() == {}
    assert await provider.async_read_credentials() == {}


@every_family
async def test_codes_of_a_length_the_lock_refuses_are_refused(family: Family) -> None:
    provider = await _built(family)
    caps, first = provider.capabilities, _pins(provider).first
    for code in ("4" * (caps.pin_min - 1), "4" * (caps.pin_max + 1)):
        with pytest.raises(ProviderError) as err:
            await provider.async_set_credential(P(first), code)
        assert err.value.reason == "code_rejected"
    assert await family.async_held() == {}


@every_family
async def test_offline_lock_fails_every_operation_until_it_is_back(
    family: Family,
) -> None:
    provider = await _built(family)
    slot = _pins(provider).first
    await provider.async_set_credential(P(slot), "4826")
    # The lock has the code before it goes away (a write still on its way to
    # a lock that goes offline is lost, as it would be).
    assert await family.async_held() == {slot: "4826"}
    backs: list[str] = []
    unsub = provider.async_listen_available(lambda: backs.append("back"))

    await family.async_set_online(online=False)
    assert not provider.available
    for operation in (
        provider.async_read_credentials(),
        provider.async_set_credential(P(slot + 1), "5937"),
        provider.async_clear_credential(P(slot)),
    ):
        with pytest.raises(ProviderError) as err:
            await operation
        assert err.value.reason == "lock_offline"
    assert backs == []

    await family.async_set_online(online=True)
    assert provider.available
    assert backs == (["back"] if family.announces_return else [])
    assert await provider.async_read_credentials() == {P(slot): _shown(family, "4826")}
    assert await family.async_held() == {slot: "4826"}
    unsub()


@pytest.mark.parametrize("family", family_names(reports_keypad=True), indirect=True)
async def test_keypad_unlocks_are_reported_with_their_credential(
    family: Family,
) -> None:
    provider = await _built(family)
    slot = _pins(provider).first + 1
    await provider.async_set_credential(P(slot), "4826")
    used: list[CredentialRef] = []
    unsub = provider.async_listen_usage(used.append)
    await family.async_press_keypad(slot)
    assert used == [P(slot)]
    # Opening by hand is no keypad use, even where the report names a user.
    await family.async_unlock_by_hand(slot)
    assert used == [P(slot)]
    unsub()
    await family.async_press_keypad(slot)
    assert used == [P(slot)]
