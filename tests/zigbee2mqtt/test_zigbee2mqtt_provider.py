"""The Zigbee2MQTT provider's own behaviour, against the simulated lock on a real broker.

What every provider must do is in tests/contract; this covers what is particular
to Zigbee2MQTT: the exact payloads, its state merging, action styles, the bridge
and the broker going away, and locks that do not answer or refuse a code.
"""

from __future__ import annotations

from homeassistant.components import mqtt
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.keyholder.families import (
    ProviderError,
    zigbee2mqtt_link as z2m_link,
)
from custom_components.keyholder.families.zigbee2mqtt import Zigbee2MqttLock
from custom_components.keyholder.model.values import CredentialRef

from ..helpers import P, by_slot, pins
from ..zigbee2mqtt_sim import BASE, DEVICE, Broker, Z2MFactory, until


def _provider(hass: HomeAssistant, slots: int = 10) -> Zigbee2MqttLock:
    return Zigbee2MqttLock(
        hass, base_topic=BASE, device=DEVICE, slots=slots, pin_min=4, pin_max=8
    )


async def test_payloads_are_the_documented_ones(
    hass: HomeAssistant, z2m_lock: Z2MFactory
) -> None:
    z2m = await z2m_lock()
    provider = _provider(hass, slots=4)
    assert pins(provider.capabilities).first == 0
    assert pins(provider.capabilities).last == 3
    assert by_slot(await provider.async_read_credentials()) == {}
    # One question per managed user, none beyond them.
    assert z2m.lock.commands == [("get", {"user": user}) for user in range(4)]
    z2m.lock.commands.clear()

    await provider.async_set_credential(P(3), "0472")  # a leading zero must survive
    await provider.async_clear_credential(P(3))
    await z2m.async_barrier()
    assert z2m.lock.commands == [
        (
            "set",
            {
                "user": 3,
                "user_type": "unrestricted",
                "user_enabled": True,
                "pin_code": "0472",
            },
        ),
        ("set", {"user": 3, "pin_code": None}),
    ]
    assert z2m.lock.errors == []


async def test_only_slots_written_or_changed_are_asked_again(
    hass: HomeAssistant, z2m_lock: Z2MFactory
) -> None:
    z2m = await z2m_lock()
    provider = _provider(hass)
    await provider.async_read_credentials()
    z2m.lock.commands.clear()
    await provider.async_set_credential(P(2), "4826")
    assert by_slot(await provider.async_read_credentials()) == {2: "4826"}
    assert by_slot(await provider.async_read_credentials()) == {2: "4826"}
    assert [c for c in z2m.lock.commands if c[0] == "get"] == [("get", {"user": 2})]

    # A code programmed at the lock is announced; the next read asks about it.
    z2m.lock.program_at_keypad(5, "7351")
    await z2m.async_delivered()
    assert by_slot(await provider.async_read_credentials()) == {2: "4826", 5: "7351"}


async def test_cleared_user_with_a_stale_pin_in_the_state_is_empty(
    hass: HomeAssistant, z2m_lock: Z2MFactory
) -> None:
    z2m = await z2m_lock()
    provider = _provider(hass)
    await provider.async_set_credential(P(1), "4826")
    assert by_slot(await provider.async_read_credentials()) == {1: "4826"}
    await provider.async_clear_credential(P(1))
    assert by_slot(await provider.async_read_credentials()) == {}
    # Zigbee2MQTT's merged state still carries the old code next to the status.
    assert z2m.lock.cache["users"]["1"] == {"status": "available", "pin_code": "4826"}


async def test_keypad_unlock_styles_and_old_actions(
    hass: HomeAssistant, z2m_lock: Z2MFactory
) -> None:
    z2m = await z2m_lock()
    # The device's state is retained and its last message was a keypad unlock.
    z2m.lock.retain_state = True
    z2m.lock.press_keypad(4)
    provider = _provider(hass)
    used: list[CredentialRef] = []
    unsub = provider.async_listen_usage(used.append)
    by_slot(
        await provider.async_read_credentials()
    )  # subscribes: the retained state arrives
    await z2m.async_delivered()
    assert used == []  # an old action replayed on subscribing is no new use
    z2m.lock.press_keypad(4, style="keypad_unlock")
    await z2m.async_delivered()
    assert used == [P(4)]
    z2m.lock.program_at_keypad(5, "7351")  # an action, but no unlock
    await z2m.async_delivered()
    assert used == [P(4)]
    unsub()


async def test_bridge_offline_and_back(
    hass: HomeAssistant, z2m_lock: Z2MFactory
) -> None:
    z2m = await z2m_lock()
    provider = _provider(hass)
    backs: list[bool] = []
    unsub = provider.async_listen_available(lambda: backs.append(True))
    await provider.async_read_credentials()
    z2m.lock.set_bridge(online=False)
    await z2m.async_delivered()
    assert not provider.available
    with pytest.raises(ProviderError) as err:
        await provider.async_set_credential(P(1), "4826")
    assert err.value.reason == "lock_offline"
    # Zigbee2MQTT comes back; codes may have changed meanwhile: all are asked.
    z2m.lock.seed(3, "9911")
    z2m.lock.set_bridge(online=True)
    await z2m.async_delivered()
    assert backs == [True]
    assert by_slot(await provider.async_read_credentials()) == {3: "9911"}
    unsub()


async def test_broker_gone(
    hass: HomeAssistant, z2m_lock: Z2MFactory, mosquitto: Broker
) -> None:
    await z2m_lock()
    provider = _provider(hass)
    await provider.async_read_credentials()
    assert provider.available
    mosquitto.stop()
    await until(lambda: not provider.available, "the provider to notice")
    with pytest.raises(ProviderError) as err:
        await provider.async_read_credentials()
    assert err.value.reason == "lock_offline"


async def test_lock_that_does_not_answer(
    hass: HomeAssistant, z2m_lock: Z2MFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(z2m_link, "REPLY_TIMEOUT", 0.3)
    z2m = await z2m_lock()
    z2m.lock.answering = False  # asleep or out of range, yet not marked offline
    provider = _provider(hass)
    with pytest.raises(ProviderError) as err:
        await provider.async_read_credentials()
    assert err.value.reason == "lock_not_answering"
    # Once it answers, reading works again.
    z2m.lock.answering = True
    assert by_slot(await provider.async_read_credentials()) == {}


async def test_lock_that_refuses_a_code(
    hass: HomeAssistant, z2m_lock: Z2MFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(z2m_link, "MISMATCH_GRACE", 0.2)
    z2m = await z2m_lock()
    z2m.lock.takes_codes = False
    provider = _provider(hass)
    await provider.async_set_credential(P(1), "4826")  # accepted by Zigbee2MQTT...
    # ...but the lock's answer is what counts: the slot stays empty.
    assert by_slot(await provider.async_read_credentials()) == {}
    assert await z2m.async_held() == {}


async def test_out_of_range_users_in_the_state_are_ignored(
    hass: HomeAssistant, z2m_lock: Z2MFactory
) -> None:
    z2m = await z2m_lock()
    z2m.lock.seed(12, "9911")  # user 12 exists on the lock, Keyholder uses 0-9
    provider = _provider(hass)
    await provider.async_read_credentials()
    z2m.lock.commands.clear()
    # Some other client asks Zigbee2MQTT for every user.
    await mqtt.async_publish(hass, f"{BASE}/{DEVICE}/get", '{"pin_code": ""}', qos=1)
    await z2m.async_barrier()
    await z2m.async_delivered()
    assert by_slot(await provider.async_read_credentials()) == {}


async def test_listeners_gone_release_the_subscriptions(
    hass: HomeAssistant, z2m_lock: Z2MFactory
) -> None:
    z2m = await z2m_lock()
    provider = _provider(hass)
    unsubs = [
        provider.async_listen_usage(lambda ref: None),
        provider.async_listen_available(lambda: None),
    ]
    await provider.async_read_credentials()
    assert provider._link._unsubs
    for unsub in unsubs:
        unsub()
    assert provider._link._unsubs == []
    # Used again later, it subscribes again and asks everything anew.
    z2m.lock.seed(4, "9911")
    assert by_slot(await provider.async_read_credentials()) == {4: "9911"}


async def test_without_mqtt(hass: HomeAssistant) -> None:
    provider = _provider(hass)
    assert not provider.available
    with pytest.raises(ProviderError) as err:
        await provider.async_read_credentials()
    assert err.value.reason == "integration_not_loaded"


async def test_mqtt_entry_not_loaded(hass: HomeAssistant) -> None:
    MockConfigEntry(domain="mqtt", data={"broker": "127.0.0.1"}).add_to_hass(hass)
    hass.config.components.add("mqtt")
    provider = _provider(hass)
    assert not provider.available
    with pytest.raises(ProviderError) as err:
        await provider.async_set_credential(P(1), "4826")
    assert err.value.reason == "integration_not_loaded"


async def test_lock_going_offline_while_asked(
    hass: HomeAssistant, z2m_lock: Z2MFactory
) -> None:
    z2m = await z2m_lock()
    z2m.lock.answering = False
    provider = _provider(hass)
    read = hass.async_create_task(provider.async_read_credentials())
    await until(lambda: bool(z2m.lock.commands), "the first question")
    assert not read.done()
    z2m.lock.set_online(online=False)
    with pytest.raises(ProviderError) as err:
        await read  # at once, not after the reply timeout
    assert err.value.reason == "lock_offline"


async def test_legacy_and_malformed_messages(
    hass: HomeAssistant, z2m_lock: Z2MFactory
) -> None:
    z2m = await z2m_lock()
    provider = _provider(hass)
    await provider.async_read_credentials()
    topic = f"{BASE}/{DEVICE}"
    # Zigbee2MQTT 1.x published availability as a bare word.
    await mqtt.async_publish(hass, f"{topic}/availability", "offline", qos=1)
    await until(lambda: not provider.available, "legacy offline")
    await mqtt.async_publish(hass, f"{topic}/availability", "online", qos=1)
    await until(lambda: provider.available, "legacy online")
    # An empty availability (device renamed or removed) is no verdict.
    await mqtt.async_publish(hass, f"{topic}/availability", "", qos=1)
    # Nonsense on the state topic changes nothing.
    used: list[CredentialRef] = []
    unsub = provider.async_listen_usage(used.append)
    for payload in (
        "not json",
        "[1, 2]",
        '{"users": {"x": {"status": "enabled"}, "3": "enabled", "-1": {}}}',
        '{"action": "unlock", "action_source_name": "keypad", "action_user": true}',
        '{"action": "keypad_unlock", "action_user": "2"}',
    ):
        await mqtt.async_publish(hass, topic, payload, qos=1)
    await z2m.async_delivered()
    assert provider.available
    assert used == []
    assert by_slot(await provider.async_read_credentials()) == {}
    unsub()


async def test_publish_failure_names_no_code(
    hass: HomeAssistant, z2m_lock: Z2MFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    await z2m_lock()
    provider = _provider(hass)
    await provider.async_read_credentials()

    async def fail(*args: object, **kwargs: object) -> None:
        raise HomeAssistantError(f"could not send {args[2]}")

    monkeypatch.setattr(mqtt, "async_publish", fail)
    with pytest.raises(ProviderError) as err:
        await provider.async_set_credential(P(1), "4826")
    assert err.value.reason == "lock_error"
    assert "4826" not in str(err.value)
