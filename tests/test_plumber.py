"""The plumber's journey: a Thursday 13:00-17:00 key, end to end."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import Event, HomeAssistant
from homeassistant.exceptions import HomeAssistantError
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
)

from custom_components.keyholder.const import DOMAIN, EVENT_ACCESS

from .conftest import LOCK_FRONT
from .helpers import by_slot, move_to

BERLIN = ZoneInfo("Europe/Berlin")
# Thursday 3 December 2026.
THURSDAY = datetime(2026, 12, 3, tzinfo=BERLIN)


def at(hour: int, minute: int = 0, second: int = 0) -> datetime:
    return THURSDAY.replace(hour=hour, minute=minute, second=second)


def front_codes(entry: MockConfigEntry) -> dict[int, str]:
    return by_slot(entry.runtime_data.locks[LOCK_FRONT].provider.codes)


async def test_plumber_thursday(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    berlin: None,
    site_entry: MockConfigEntry,
) -> None:
    freezer.move_to(at(9) - timedelta(days=1))  # Wednesday
    site_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(site_entry.entry_id)
    await hass.async_block_till_done()
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
    assert isinstance(code, str)
    assert len(code) == 6
    assert response["status"] == "upcoming"
    status = "sensor.plumber_status"
    assert hass.states.get(status).state == "upcoming"
    assert code not in front_codes(site_entry).values()

    # Not yet: the code does not open the door.
    with pytest.raises(HomeAssistantError):
        await hass.services.async_call(
            "lock",
            "unlock",
            {"entity_id": "lock.front_door", "code": code},
            blocking=True,
        )
    assert accesses[-1].data["result"] == "denied"

    await move_to(hass, freezer, at(0))
    assert hass.states.get(status).state == "outside_schedule"
    await move_to(hass, freezer, at(12, 59, 59))
    assert code not in front_codes(site_entry).values()
    await move_to(hass, freezer, at(13))
    assert code in front_codes(site_entry).values()
    assert hass.states.get(status).state == "active"
    assert hass.states.get("sensor.front_door_sync").state == "in_sync"

    await hass.services.async_call(
        "lock", "unlock", {"entity_id": "lock.front_door", "code": code}, blocking=True
    )
    assert hass.states.get("lock.front_door").state == "unlocked"
    last: Event = accesses[-1]
    assert last.data["result"] == "unlocked"
    assert last.data["keyholder"] == "Plumber"
    assert last.data["lock"] == "Front door"
    event_state = hass.states.get("event.front_door_access")
    assert event_state.attributes["event_type"] == "unlocked"
    assert event_state.attributes["keyholder"] == "Plumber"

    await move_to(hass, freezer, at(16, 59, 59))
    assert code in front_codes(site_entry).values()
    await move_to(hass, freezer, at(17))
    assert code not in front_codes(site_entry).values()
    assert hass.states.get(status).state == "outside_schedule"
    with pytest.raises(HomeAssistantError):
        await hass.services.async_call(
            "lock",
            "unlock",
            {"entity_id": "lock.front_door", "code": code},
            blocking=True,
        )
