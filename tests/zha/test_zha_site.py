"""A site managing a ZHA lock end to end: the plumber's Thursday key.

Home Assistant's zha integration runs for real over a simulated radio; what the
lock holds is read from the simulated lock, keypad use comes from its
operation event notifications.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
)

from custom_components.keyholder.const import DOMAIN, EVENT_ACCESS, EVENT_ALERT
from custom_components.keyholder.sync.alerts import alert_issue_id

from ..helpers import async_setup_plumber_site, front_door_sync, move_to
from ..zha_sim import ZhaFactory, ZhaHarness

BERLIN = ZoneInfo("Europe/Berlin")
# Thursday 3 December 2026.
THURSDAY = datetime(2026, 12, 3, tzinfo=BERLIN)
LOCK_ID = "lock_zha"


def at(hour: int, minute: int = 0) -> datetime:
    return THURSDAY.replace(hour=hour, minute=minute)


async def _site(
    hass: HomeAssistant, zha: ZhaHarness, *, first_slot: int = 1
) -> MockConfigEntry:
    return await async_setup_plumber_site(
        hass,
        "site_zha",
        LOCK_ID,
        {
            "provider": "zha",
            "lock_entity": zha.entity_id,
            "first_slot": first_slot,
            "slots": 11 - first_slot,
            "pin_min": 4,
            "pin_max": 8,
        },
    )


async def test_plumber_key_through_a_zha_lock(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    berlin: None,
    zha_lock: ZhaFactory,
) -> None:
    freezer.move_to(at(9) - timedelta(days=1))  # Wednesday
    # The owner programmed a code at the lock in slot 1: ZHA cannot show it,
    # so the lock's settings give Keyholder slots 2 to 10 only.
    zha = await zha_lock()
    zha.lock.seed(1, "9911")
    entry = await _site(hass, zha, first_slot=2)
    assert front_door_sync(hass).state == "in_sync"
    accesses = async_capture_events(hass, EVENT_ACCESS)

    response = await hass.services.async_call(
        DOMAIN,
        "issue_key",
        {
            "keyholder": "Plumber",
            "locks": ["Front door"],
            "weekdays": ["thu"],
            "start_time": "13:00",
            "end_time": "17:00",
            "valid_from": at(0).isoformat(),
            "valid_until": (at(0) + timedelta(days=7)).isoformat(),
        },
        blocking=True,
        return_response=True,
    )
    assert response is not None
    code = response["passcode"]
    assert zha.lock.codes() == {1: "9911"}

    await move_to(hass, freezer, at(12, 59))
    assert zha.lock.codes() == {1: "9911"}
    await move_to(hass, freezer, at(13))
    await zha.async_air()
    held = zha.lock.codes()
    assert held == {1: "9911", 2: code}
    slot = 2
    assert front_door_sync(hass).state == "in_sync"

    # The plumber opens the door at the keypad: attributed to them.
    await move_to(hass, freezer, at(14))
    zha.lock.press_keypad(slot)
    await zha.async_air()
    assert [(e.data["keyholder"], e.data["result"]) for e in accesses] == [
        ("Plumber", "unlocked")
    ]
    assert entry.runtime_data.site.keys[response["key_id"]].uses == 1
    # Someone else's keypad code is nobody Keyholder knows.
    zha.lock.press_keypad(1)
    await zha.async_air()
    assert len(accesses) == 2
    assert accesses[-1].data["keyholder"] is None

    await move_to(hass, freezer, at(17))
    await zha.async_air()
    assert zha.lock.codes() == {1: "9911"}
    assert front_door_sync(hass).state == "in_sync"
    # Keyholder only ever wrote to its own slot.
    assert zha.lock.received == ["set_pin_code", "clear_pin_code"]
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_a_lock_that_is_away_gets_its_code_when_back(
    hass: HomeAssistant, zha_lock: ZhaFactory
) -> None:
    zha = await zha_lock()
    entry = await _site(hass, zha)
    await zha.async_set_online(online=False)
    response = await hass.services.async_call(
        DOMAIN,
        "issue_key",
        {"keyholder": "Plumber", "locks": ["Front door"]},
        blocking=True,
        return_response=True,
    )
    assert response is not None
    sync = front_door_sync(hass)
    assert sync.state == "failed"
    assert sync.attributes["last_error"] == "lock_offline"
    assert zha.lock.codes() == {}
    # zha sees the lock again: Keyholder writes at once.
    await zha.async_set_online(online=True)
    await zha.async_air()
    assert zha.lock.codes() == {1: response["passcode"]}
    assert front_door_sync(hass).state == "in_sync"
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_wrong_codes_at_a_zha_keypad_raise_an_alert(
    hass: HomeAssistant, zha_lock: ZhaFactory
) -> None:
    """The lock's wrong-PIN reports are denied attempts; five in a row alert."""
    zha = await zha_lock()
    entry = await _site(hass, zha)
    accesses = async_capture_events(hass, EVENT_ACCESS)
    alerts = async_capture_events(hass, EVENT_ALERT)
    # (Each report names another user: identical frames arrive only once here.)
    for slot in range(1, 5):
        zha.lock.press_keypad(slot, operation="UnlockFailureInvalidPINorID")
        await zha.async_air()
    # A right code outside its schedule is no guess, and the thumb turn no code.
    zha.lock.press_keypad(3, operation="UnlockFailureInvalidSchedule")
    zha.lock.unlock_by_hand(3)
    await zha.async_air()
    assert [e.data["result"] for e in accesses] == ["denied"] * 4
    assert accesses[0].data["keyholder"] is None
    assert alerts == []
    zha.lock.press_keypad(6, operation="LockFailureInvalidPINorID")
    await zha.async_air()
    assert [(a.data["lock"], a.data["attempts"]) for a in alerts] == [("Front door", 5)]
    assert ir.async_get(hass).async_get_issue(DOMAIN, alert_issue_id(LOCK_ID))
    assert (
        hass.states.get("event.front_door_access").attributes["event_type"] == "denied"
    )
    assert await hass.config_entries.async_unload(entry.entry_id)
