"""The Matter provider against Home Assistant's matter integration and a simulated lock.

What the lock holds is read from the simulated DoorLock cluster itself; the
contract suite (tests/contract) covers what every provider must do.
"""

from __future__ import annotations

import logging

from homeassistant.const import MATCH_ALL
from homeassistant.core import HomeAssistant
import pytest

from custom_components.keyholder.families import ProviderError
from custom_components.keyholder.families.matter import MatterLock
from custom_components.keyholder.model.values import CredentialRef

from ..helpers import P, by_slot, pins
from .sim import (
    FAILURE,
    INVALID_FIELD,
    OCCUPIED,
    MatterFactory,
    MatterHarness,
    MatterServerSim,
)


async def _provider(
    make: MatterFactory, **lock: int
) -> tuple[MatterHarness, MatterLock]:
    harness = await make(**lock)
    return harness, MatterLock(harness.hass, harness.entity_id)


async def _refused(provider: MatterLock, slot: int, code: str) -> str:
    with pytest.raises(ProviderError) as err:
        await provider.async_set_credential(P(slot), code)
    # The PIN never travels in an error.
    assert code not in str(err.value)
    return err.value.reason


async def test_capabilities_come_from_the_lock(matter_lock: MatterFactory) -> None:
    _, provider = await _provider(matter_lock, users=12, pins=6, pin_min=6, pin_max=9)
    assert by_slot(await provider.async_read_credentials()) == {}
    caps = provider.capabilities
    assert (pins(caps).first, pins(caps).last) == (1, 6)
    assert (caps.pin_min, caps.pin_max) == (6, 9)
    assert caps.can_read_back is False
    assert caps.reports_slot is True
    assert caps.native_schedule is False


async def test_each_code_gets_a_user_of_its_own_and_leaves_with_it(
    matter_lock: MatterFactory,
) -> None:
    harness, provider = await _provider(matter_lock)
    lock = harness.lock
    foreign = lock.seed(1, "9911")
    assert by_slot(await provider.async_read_credentials()) == {1: None}

    await provider.async_set_credential(P(4), "4826")
    await provider.async_set_credential(P(5), "5937")
    assert lock.held() == {1: "9911", 4: "4826", 5: "5937"}
    users = {lock.owner(4), lock.owner(5)}
    assert len(users) == 2
    assert foreign not in users
    assert by_slot(await provider.async_read_credentials()) == {
        1: None,
        4: None,
        5: None,
    }

    # A new code for a slot stays with the slot's user.
    user = lock.owner(4)
    await provider.async_set_credential(P(4), "6048")
    assert lock.held()[4] == "6048"
    assert lock.owner(4) == user

    await provider.async_clear_credential(P(4))
    assert lock.held() == {1: "9911", 5: "5937"}
    assert user not in lock.users
    assert lock.commands[-2:] == ["ClearCredential", "ClearUser"]
    # Keyholder never touched the foreign user.
    assert lock.users[foreign].creds == [(1, 1)]


async def test_a_user_with_other_credentials_is_kept(
    matter_lock: MatterFactory,
) -> None:
    harness, provider = await _provider(matter_lock)
    lock = harness.lock
    user = lock.seed(2, "2468")
    lock.seed(3, "1357", user=user)
    assert by_slot(await provider.async_read_credentials()) == {2: None, 3: None}
    await provider.async_clear_credential(P(2))
    assert lock.held() == {3: "1357"}
    assert lock.users[user].creds == [(1, 3)]
    assert "ClearUser" not in lock.commands
    # Clearing an empty slot sends nothing that changes the lock.
    await provider.async_clear_credential(P(2))
    assert lock.commands[-1] == "GetCredentialStatus"


async def test_slots_are_checked_before_the_first_read(
    matter_lock: MatterFactory,
) -> None:
    harness, provider = await _provider(matter_lock, pins=5)
    for slot in (0, 6):
        assert await _refused(provider, slot, "4826") == "slot_out_of_range"
    assert await _refused(provider, 1, "123") == "code_rejected"
    assert harness.lock.held() == {}


async def test_answers_of_the_lock_become_reasons(
    matter_lock: MatterFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    harness, provider = await _provider(matter_lock, users=3)
    lock = harness.lock
    lock.seed(1, "9911")
    await provider.async_read_credentials()
    # The same PIN as another user's.
    assert await _refused(provider, 2, "9911") == "code_duplicate"
    # The lock's own rules refuse the PIN, the slot was taken meanwhile, or the
    # lock fails.
    for status, reason in (
        (INVALID_FIELD, "code_rejected"),
        (OCCUPIED, "slot_occupied"),
        (FAILURE, "lock_error"),
    ):
        lock.next_set_status = status
        assert await _refused(provider, 2, "4826") == reason
    assert lock.held() == {1: "9911"}
    # Every user is taken: no room for another code.
    lock.seed(5, "5555")
    lock.seed(6, "6666")
    assert await _refused(provider, 2, "4826") == "lock_full"
    assert lock.held() == {1: "9911", 5: "5555", 6: "6666"}
    assert "4826" not in caplog.text
    assert "9911" not in caplog.text


async def test_offline_and_unanswered(
    matter_lock: MatterFactory, matter_server: MatterServerSim
) -> None:
    harness, provider = await _provider(matter_lock)
    await provider.async_read_credentials()
    sent = len(harness.lock.commands)
    matter_server.set_online(online=False)
    await harness.async_delivered()
    assert not provider.available
    assert await _refused(provider, 2, "4826") == "lock_offline"
    assert len(harness.lock.commands) == sent

    # The server lost the node before Home Assistant heard of it.
    matter_server.node["available"] = False
    matter_server.set_online(online=True)
    await harness.async_delivered()
    matter_server.node["available"] = False
    with pytest.raises(ProviderError) as err:
        await provider.async_read_credentials()
    assert err.value.reason == "lock_not_answering"


async def test_lock_without_user_management(
    matter_lock: MatterFactory, matter_server: MatterServerSim
) -> None:
    matter_server.node["attributes"]["1/257/65532"] = 0  # no USR, no PIN feature
    _, provider = await _provider(matter_lock)
    with pytest.raises(ProviderError) as err:
        await provider.async_read_credentials()
    assert err.value.reason == "pins_not_supported"


async def test_matter_not_set_up(hass: HomeAssistant) -> None:
    hass.states.async_set("lock.front_lock", "locked")
    provider = MatterLock(hass, "lock.front_lock")
    with pytest.raises(ProviderError) as err:
        await provider.async_read_credentials()
    assert err.value.reason == "integration_not_loaded"
    # Listening to a lock matter does not know is quiet, not an error.
    provider.async_listen_usage(lambda ref: None)()
    assert not MatterLock(hass, "lock.gone").available


async def test_keypad_use_is_attributed_through_reloads(
    hass: HomeAssistant, matter_lock: MatterFactory, matter_server: MatterServerSim
) -> None:
    harness, provider = await _provider(matter_lock)
    await provider.async_set_credential(P(3), "4826")
    await provider.async_set_credential(P(7), "5937")
    await provider.async_read_credentials()
    used: list[CredentialRef] = []
    unsub = provider.async_listen_usage(used.append)

    matter_server.press_keypad(7)
    await harness.async_delivered()
    # Locks that name only the user: its PIN slot, as last read.
    matter_server.press_keypad(3, name_credential=False)
    await harness.async_delivered()
    assert used == [P(7), P(3)]
    # The entity still shows who opened it, the way matter does.
    state = hass.states.get(harness.entity_id)
    assert state is not None
    assert state.attributes["changed_by"] == "Keypad"

    # matter reloads: a new client, the provider follows it.
    assert await hass.config_entries.async_reload(harness.entry.entry_id)
    await hass.async_block_till_done()
    matter_server.press_keypad(3)
    await harness.async_delivered()
    assert used == [P(7), P(3), P(3)]

    unsub()
    matter_server.press_keypad(3)
    await harness.async_delivered()
    assert used == [P(7), P(3), P(3)]


async def test_failed_commands_become_reasons(matter_lock: MatterFactory) -> None:
    harness, provider = await _provider(matter_lock)
    lock = harness.lock
    await provider.async_read_credentials()
    lock.fail_next["GetUser"] = "Timeout while waiting for a response"
    with pytest.raises(ProviderError) as err:
        await provider.async_read_credentials()
    assert err.value.reason == "lock_not_answering"
    lock.fail_next["GetCredentialStatus"] = "InteractionModelError: Failure (0x1)"
    assert await _refused(provider, 2, "4826") == "lock_error"
    assert lock.held() == {}

    # The lock drops a user with its last credential; should it refuse the
    # ClearUser that follows, the slot is empty all the same.
    await provider.async_set_credential(P(2), "4826")
    lock.fail_next["ClearUser"] = "InteractionModelError: Failure (0x1)"
    await provider.async_clear_credential(P(2))
    assert lock.held() == {}
    assert lock.users == {}


async def test_changed_limits_are_the_locks_to_enforce(
    matter_lock: MatterFactory, matter_server: MatterServerSim
) -> None:
    harness, provider = await _provider(matter_lock)
    await provider.async_read_credentials()
    assert provider.capabilities.pin_max == 8
    # The lock now takes at most 6 digits; Keyholder learns it at the next read,
    # matter refuses longer PINs before that.
    harness.lock.pin_max = 6
    matter_server.update_attribute("1/257/23", 6)
    await harness.async_delivered()
    assert await _refused(provider, 2, "4826157") == "code_rejected"
    await provider.async_read_credentials()
    assert provider.capabilities.pin_max == 6
    # The lock stops offering user management.
    matter_server.update_attribute("1/257/65532", 1)
    await harness.async_delivered()
    assert await _refused(provider, 2, "4826") == "pins_not_supported"
    assert harness.lock.held() == {}


async def test_only_keypad_openings_with_a_known_slot_count(
    matter_lock: MatterFactory, matter_server: MatterServerSim
) -> None:
    harness, provider = await _provider(matter_lock)
    user = harness.lock.seed(4, "2468")
    harness.lock.seed(5, "1357", user=user)
    used: list[CredentialRef] = []
    unsub = provider.async_listen_usage(used.append)
    await provider.async_read_credentials()
    # Locking at the keypad is no use of a code.
    matter_server.press_keypad(4, operation=0)
    # A user with two PINs, the event naming none of them: which one is unknown.
    matter_server.press_keypad(4, name_credential=False)
    await harness.async_delivered()
    assert used == []
    matter_server.press_keypad(5)
    await harness.async_delivered()
    assert used == [P(5)]
    unsub()


async def test_the_pin_travels_on_no_event_and_in_no_log(
    hass: HomeAssistant,
    matter_lock: MatterFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    harness, provider = await _provider(matter_lock)
    seen: list[str] = []
    unsub = hass.bus.async_listen(MATCH_ALL, lambda event: seen.append(repr(event)))
    await provider.async_read_credentials()
    await provider.async_set_credential(P(3), "48261597")
    await provider.async_set_credential(P(3), "59372684")
    await provider.async_clear_credential(P(3))
    await hass.async_block_till_done()
    unsub()
    assert harness.lock.commands.count("SetCredential") == 2
    # Home Assistant records every action call (the call_service event, kept by
    # the recorder): the PIN must not be in one.
    assert any("call_service" in event for event in seen)
    for pin in ("48261597", "59372684"):
        assert not [event for event in seen if pin in event]
        assert pin not in caplog.text
