"""Keyholder managing a Zigbee2MQTT lock end to end: real broker, real time.

Home Assistant's mqtt integration talks to Mosquitto; the simulated lock answers
like Zigbee2MQTT. What the lock holds is read from the simulated lock itself.
"""

from __future__ import annotations

from typing import Any

from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
)

from custom_components.keyholder.const import DOMAIN, EVENT_ACCESS
from custom_components.keyholder.families import zigbee2mqtt_link as z2m_link

from ..helpers import async_setup_plumber_site, front_door_sync, issue
from ..zigbee2mqtt_sim import BASE, DEVICE, Z2MFactory, Z2MHarness, until

LOCK_ID = "lock_zigbee"


async def _site(hass: HomeAssistant) -> MockConfigEntry:
    return await async_setup_plumber_site(
        hass,
        "site_z2m",
        LOCK_ID,
        {
            "provider": "zigbee2mqtt",
            "base_topic": BASE,
            "device": DEVICE,
            "slots": 10,
            "pin_min": 4,
            "pin_max": 8,
        },
    )


async def _in_sync(hass: HomeAssistant) -> None:
    """Wait (real time) for the read-back after the provider's settle time."""
    await until(
        lambda: front_door_sync(hass).state == "in_sync", "the lock to be in sync"
    )


async def test_keys_reach_the_lock_and_keypad_use_is_attributed(
    hass: HomeAssistant, z2m_lock: Z2MFactory
) -> None:
    z2m: Z2MHarness = await z2m_lock()
    z2m.lock.seed(0, "9911")  # someone else's code, user 0
    entry = await _site(hass)
    assert front_door_sync(hass).state == "in_sync"
    assert front_door_sync(hass).attributes["unmanaged_slots"] == [0]

    key = await issue(hass)
    code = key["passcode"]
    assert front_door_sync(hass).state == "pending"  # written, not yet read back
    assert await z2m.async_held() == {0: "9911", 1: code}
    await _in_sync(hass)
    assert front_door_sync(hass).attributes["codes_confirmed"] == 1

    accesses = async_capture_events(hass, EVENT_ACCESS)
    z2m.lock.press_keypad(1)
    await z2m.async_delivered()
    await hass.async_block_till_done()
    assert [(e.data["keyholder"], e.data["result"]) for e in accesses] == [
        ("Plumber", "unlocked")
    ]
    assert entry.runtime_data.site.keys[key["key_id"]].uses == 1
    z2m.lock.press_keypad(0)  # the foreign code: unlocked by someone unknown
    await z2m.async_delivered()
    await hass.async_block_till_done()
    assert accesses[-1].data["keyholder"] is None

    await hass.services.async_call(
        DOMAIN, "cancel_key", {"key_id": key["key_id"]}, blocking=True
    )
    assert await z2m.async_held() == {0: "9911"}
    await _in_sync(hass)
    # Keyholder never wrote to user 0.
    assert all(cmd[1]["user"] != 0 for cmd in z2m.lock.commands if cmd[0] == "set")


async def test_unreachable_lock_gets_its_codes_when_back(
    hass: HomeAssistant, z2m_lock: Z2MFactory
) -> None:
    z2m = await z2m_lock()
    await _site(hass)
    z2m.lock.set_online(online=False)
    await z2m.async_delivered()
    key = await issue(hass)
    sync = front_door_sync(hass)
    assert sync.state == "failed"
    assert sync.attributes["last_error"] == "lock_offline"
    assert z2m.lock.held() == {}
    # Zigbee2MQTT sees the lock again: Keyholder retries at once.
    z2m.lock.set_online(online=True)
    await z2m.async_delivered()
    await until(lambda: z2m.lock.held() == {0: key["passcode"]}, "the code")
    await _in_sync(hass)


async def test_code_the_lock_refuses_is_a_failure(
    hass: HomeAssistant, z2m_lock: Z2MFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(z2m_link, "MISMATCH_GRACE", 0.2)
    z2m = await z2m_lock()
    z2m.lock.takes_codes = False
    await _site(hass)
    await issue(hass)
    await until(lambda: front_door_sync(hass).state == "failed", "the read-back")
    attributes: dict[str, Any] = dict(front_door_sync(hass).attributes)
    assert attributes["last_error"] == "write_not_confirmed"
    assert z2m.lock.held() == {}
