"""A site syncing the plumber's key through a Matter lock, end to end.

Home Assistant's matter integration runs with its client talking to the
simulated Matter server; what the lock holds is read from the simulated lock.
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

from custom_components.keyholder.const import DOMAIN, EVENT_ACCESS

from ..helpers import async_setup_plumber_site, front_door_sync, move_to
from .sim import MatterFactory, MatterHarness

BERLIN = ZoneInfo("Europe/Berlin")
THURSDAY = datetime(2026, 12, 3, tzinfo=BERLIN)
LOCK_ID = "lock_matter"


def at(hour: int, minute: int = 0, second: int = 0) -> datetime:
    return THURSDAY.replace(hour=hour, minute=minute, second=second)


async def _site(hass: HomeAssistant, harness: MatterHarness) -> MockConfigEntry:
    return await async_setup_plumber_site(
        hass,
        "site_matter",
        LOCK_ID,
        {
            "provider": "matter",
            "lock_entity": harness.entity_id,
        },
    )


async def test_plumber_key_on_a_matter_lock(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    berlin: None,
    matter_lock: MatterFactory,
) -> None:
    freezer.move_to(at(9) - timedelta(days=1))  # Wednesday
    harness = await matter_lock()
    lock = harness.lock
    lock.seed(1, "9911")  # the owner's code, set at the lock
    entry = await _site(hass, harness)
    assert front_door_sync(hass).state == "in_sync"
    assert front_door_sync(hass).attributes["unmanaged_slots"] == [1]

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
    assert isinstance(code, str)
    assert lock.held() == {1: "9911"}

    await move_to(hass, freezer, at(12, 59, 59))
    assert lock.held() == {1: "9911"}
    await move_to(hass, freezer, at(13))
    held = lock.held()
    assert code in held.values()
    slot = next(index for index, pin in held.items() if pin == code)
    assert slot != 1
    assert front_door_sync(hass).state == "in_sync"

    accesses = async_capture_events(hass, EVENT_ACCESS)
    harness.server.press_keypad(slot)
    await harness.async_delivered()
    assert [(e.data["keyholder"], e.data["result"]) for e in accesses] == [
        ("Plumber", "unlocked")
    ]
    assert entry.runtime_data.site.keys[response["key_id"]].uses == 1
    # The owner's own code opens the door too: nobody Keyholder knows.
    harness.server.press_keypad(1)
    await harness.async_delivered()
    assert len(accesses) == 2
    assert accesses[-1].data["keyholder"] is None
    # A hand on the knob is no keypad use.
    harness.server.unlock_by_hand(slot)
    await harness.async_delivered()
    assert len(accesses) == 2

    await move_to(hass, freezer, at(16, 59, 59))
    assert code in lock.held().values()
    await move_to(hass, freezer, at(17))
    assert lock.held() == {1: "9911"}
    # The plumber's user left with the code; the owner's stayed.
    assert len(lock.users) == 1
    assert front_door_sync(hass).state == "in_sync"
    # No PIN in any state.
    assert all(
        code not in str(state.as_dict()) and "9911" not in str(state.as_dict())
        for state in hass.states.async_all()
    )


async def test_offline_lock_gets_the_code_when_back(
    hass: HomeAssistant, matter_lock: MatterFactory
) -> None:
    harness = await matter_lock()
    await _site(hass, harness)
    harness.server.set_online(online=False)
    await harness.async_delivered()
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
    assert harness.lock.held() == {}
    # The node is back: Keyholder writes at once, without waiting for its retry.
    harness.server.set_online(online=True)
    await harness.async_delivered()
    assert list(harness.lock.held().values()) == [response["passcode"]]
    assert front_door_sync(hass).state == "in_sync"


async def test_code_the_lock_holds_already_is_refused_once(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    berlin: None,
    matter_lock: MatterFactory,
) -> None:
    """Matter answers duplicate: code_duplicate on that lock, never sent again."""
    freezer.move_to(at(9))
    harness = await matter_lock()
    lock = harness.lock
    # The owner's code, set at the lock: Matter never shows it to Keyholder.
    lock.seed(1, "482913")
    entry = await _site(hass, harness)
    response = await hass.services.async_call(
        DOMAIN,
        "issue_key",
        {"keyholder": "Plumber", "locks": ["Front door"], "passcode": "482913"},
        blocking=True,
        return_response=True,
    )
    assert response is not None
    assert response["status"] == "active"
    assert response["not_on_locks"] == [
        {"lock": "Front door", "lock_id": LOCK_ID, "reason": "code_duplicate"}
    ]
    assert lock.commands.count("SetCredential") == 1
    assert lock.held() == {1: "482913"}
    sync = front_door_sync(hass)
    assert sync.state == "incomplete"
    assert sync.attributes["failures"] == 0
    assert sync.attributes["not_fitting"] == {"code_duplicate": 1}
    repair = ir.async_get(hass).async_get_issue(DOMAIN, f"code_duplicate_{LOCK_ID}")
    assert repair is not None
    assert repair.translation_key == "code_duplicate"

    # Later passes (edges, retries, the lock coming back) do not resend it.
    runtime = entry.runtime_data
    for minutes in (1, 31, 90):
        await move_to(
            hass, freezer, at(9, minutes % 60) + timedelta(hours=minutes // 60)
        )
        await runtime.async_retry_now(LOCK_ID)
    assert lock.commands.count("SetCredential") == 1

    # A new passcode goes to the lock at once.
    result = await hass.services.async_call(
        DOMAIN,
        "generate_passcode",
        {"key_id": response["key_id"]},
        blocking=True,
        return_response=True,
    )
    assert result is not None
    assert lock.commands.count("SetCredential") == 2
    assert result["passcode"] in lock.held().values()
    assert front_door_sync(hass).state == "in_sync"
    assert (
        ir.async_get(hass).async_get_issue(DOMAIN, f"code_duplicate_{LOCK_ID}") is None
    )
