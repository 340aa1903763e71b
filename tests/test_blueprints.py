"""The blueprints in blueprints/ work as their descriptions say, end to end."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
import shutil
from typing import Any
from zoneinfo import ZoneInfo

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.blueprint import BLUEPRINT_SCHEMA, models
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.setup import async_setup_component
from homeassistant.util.yaml import load_yaml
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_mock_service,
)

from custom_components.keyholder.access.keys import async_issue_key
from custom_components.keyholder.const import DOMAIN
from custom_components.keyholder.model.values import ALWAYS, KeyKind

from .conftest import LOCK_FRONT, LOCK_GARAGE, PLUMBER
from .helpers import by_slot, move_to

BLUEPRINTS = Path(__file__).resolve().parent.parent / "blueprints"
BERLIN = ZoneInfo("Europe/Berlin")
# Monday 30 November 2026, 9:00.
MONDAY = datetime(2026, 11, 30, 9, 0, tzinfo=BERLIN)


@pytest.fixture
async def site(
    hass: HomeAssistant,
    tmp_path: Path,
    freezer: FrozenDateTimeFactory,
    berlin: None,
    site_entry: MockConfigEntry,
) -> MockConfigEntry:
    """A loaded site, with the repository's blueprints in the config folder."""
    freezer.move_to(MONDAY)
    hass.config.config_dir = str(tmp_path)
    shutil.copytree(BLUEPRINTS, tmp_path / "blueprints")
    (tmp_path / ".storage").mkdir()
    site_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(site_entry.entry_id)
    await hass.async_block_till_done()
    return site_entry


def codes(entry: MockConfigEntry, lock_id: str = LOCK_FRONT) -> dict[int, str]:
    return by_slot(entry.runtime_data.locks[lock_id].provider.codes)


@pytest.mark.parametrize(
    "path", sorted(str(p.relative_to(BLUEPRINTS)) for p in BLUEPRINTS.rglob("*.yaml"))
)
def test_blueprint_is_valid(path: str) -> None:
    """Each file is a blueprint Home Assistant accepts, for its folder's domain."""
    domain = Path(path).parts[0]
    blueprint = models.Blueprint(
        load_yaml(BLUEPRINTS / path), expected_domain=domain, schema=BLUEPRINT_SCHEMA
    )
    assert blueprint.name.startswith("Keyholder")
    assert blueprint.metadata["description"]
    for name, spec in blueprint.inputs.items():
        assert spec, name
        assert spec.get("name"), name
        assert spec.get("selector") is not None, name


async def test_notify_on_unlock(hass: HomeAssistant, site: MockConfigEntry) -> None:
    sent = async_mock_service(hass, "test", "send")
    assert await async_setup_component(
        hass,
        "automation",
        {
            "automation": {
                "use_blueprint": {
                    "path": "keyholder/notify_on_unlock.yaml",
                    "input": {
                        "keyholder": "Plumber",
                        "lock": "front door",
                        "actions": [
                            {
                                "action": "test.send",
                                "data": {"message": "{{ who }} opened {{ door }}"},
                            }
                        ],
                    },
                }
            }
        },
    )
    await hass.async_block_till_done()
    front = await _issue(hass, ["Front door", "Garage"])

    await _unlock(hass, "lock.garage", front)  # another door: nothing
    assert sent == []
    await _unlock(hass, "lock.front_door", front)
    assert [call.data["message"] for call in sent] == ["Plumber opened Front door"]
    # A denied attempt is no unlock.
    await _unlock(hass, "lock.front_door", "975310", denied=True)
    assert len(sent) == 1


async def test_weekly_visitor_access(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, site: MockConfigEntry
) -> None:
    sent = async_mock_service(hass, "test", "send")
    assert await async_setup_component(
        hass,
        "script",
        {
            "script": {
                "plumber_access": {
                    "use_blueprint": {
                        "path": "keyholder/weekly_visitor_access.yaml",
                        "input": {
                            "keyholder": "Plumber",
                            "locks": ["Front door"],
                            "weekday": "thu",
                            "start_time": "13:00:00",
                            "end_time": "17:00:00",
                            "weeks": 2,
                            "send_code": [
                                {
                                    "action": "test.send",
                                    "data": {"message": "Code {{ passcode }}"},
                                }
                            ],
                        },
                    }
                }
            }
        },
    )
    await hass.services.async_call("script", "plumber_access", blocking=True)
    await hass.async_block_till_done()
    (call,) = sent
    code = call.data["message"].removeprefix("Code ")
    assert code.isdigit()
    assert code not in codes(site).values()  # Monday: not yet

    thursday = MONDAY.replace(day=3, month=12)
    await move_to(hass, freezer, thursday.replace(hour=12, minute=59))
    assert code not in codes(site).values()
    await move_to(hass, freezer, thursday.replace(hour=13))
    assert code in codes(site).values()
    await move_to(hass, freezer, thursday.replace(hour=17))
    assert code not in codes(site).values()
    # The next Thursday too, and not the one after (two weeks from Monday).
    await move_to(hass, freezer, thursday.replace(day=10, hour=13))
    assert code in codes(site).values()
    await move_to(hass, freezer, thursday.replace(day=17, hour=13))
    assert code not in codes(site).values()


async def test_booking_guest_codes(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, site: MockConfigEntry
) -> None:
    calendar = MockConfigEntry(
        domain="local_calendar", data={"calendar_name": "Bookings"}
    )
    calendar.add_to_hass(hass)
    assert await hass.config_entries.async_setup(calendar.entry_id)
    sent = async_mock_service(hass, "test", "send")
    assert await async_setup_component(
        hass,
        "automation",
        {
            "automation": {
                "use_blueprint": {
                    "path": "keyholder/booking_guest_codes.yaml",
                    "input": {
                        "calendar": "calendar.bookings",
                        "locks": ["Front door", "Garage"],
                        "lead": {"hours": 24},
                        "grace": {"minutes": 30},
                        "send_code": [
                            {
                                "action": "test.send",
                                "data": {
                                    "message": "{{ guest }}: {{ passcode }} "
                                    "{{ valid_from }} {{ valid_until }}"
                                },
                            }
                        ],
                    },
                }
            }
        },
    )
    await hass.async_block_till_done()
    start = MONDAY.replace(day=2, month=12, hour=15)  # Wednesday 15:00
    end = start + timedelta(days=2, hours=-4)  # Friday 11:00
    await hass.services.async_call(
        "calendar",
        "create_event",
        {
            "entity_id": "calendar.bookings",
            "summary": "Smith",
            "start_date_time": start.isoformat(),
            "end_date_time": end.isoformat(),
        },
        blocking=True,
    )

    # The code goes out a day before the stay, valid 30 minutes either side.
    await _move_and_settle(hass, freezer, start - timedelta(days=1, seconds=1))
    assert sent == []
    await _move_and_settle(hass, freezer, start - timedelta(days=1))
    (call,) = sent
    guest, code, valid_from, valid_until = (
        call.data["message"].replace(": ", " ").rsplit(" ", 3)
    )
    assert guest == "Guest Smith"
    assert datetime.fromisoformat(valid_from) == start - timedelta(minutes=30)
    assert datetime.fromisoformat(valid_until) == end + timedelta(minutes=30)
    for at, on_locks in (
        (start - timedelta(minutes=30, seconds=1), False),
        (start - timedelta(minutes=30), True),
        (end + timedelta(minutes=30, seconds=-1), True),
    ):
        await _move_and_settle(hass, freezer, at)
        for lock_id in (LOCK_FRONT, LOCK_GARAGE):
            assert (code in codes(site, lock_id).values()) is on_locks, (at, lock_id)

    # After the stay the guest is removed, and the code with them.
    await _move_and_settle(hass, freezer, end + timedelta(minutes=30))
    await hass.async_block_till_done()
    assert code not in codes(site).values()
    names = {holder.name for holder in site.runtime_data.site.keyholders.values()}
    assert "Guest Smith" not in names
    # Stop the calendar trigger's refresh timer.
    await hass.services.async_call(
        "automation", "turn_off", {"entity_id": "all"}, blocking=True
    )


async def test_group_access_for_booking(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, site: MockConfigEntry
) -> None:
    calendar = MockConfigEntry(domain="local_calendar", data={"calendar_name": "Gym"})
    calendar.add_to_hass(hass)
    assert await hass.config_entries.async_setup(calendar.entry_id)
    await hass.services.async_call(
        DOMAIN,
        "create_group",
        {"name": "Members", "locks": ["Front door"]},
        blocking=True,
        return_response=True,
    )
    # The plumber holds a key that opens whatever their access allows (given
    # once they have some: here the garage of their own).
    await hass.services.async_call(
        DOMAIN,
        "grant_access",
        {"keyholder": "Plumber", "locks": ["Garage"]},
        blocking=True,
    )
    issued = await async_issue_key(
        site.runtime_data,
        keyholder_id=PLUMBER,
        lock_ids=None,
        kind=KeyKind.PASSCODE,
        schedule=ALWAYS,
        max_uses=None,
        passcode="2580",
        tag=None,
        passcode_length=6,
    )
    assert await async_setup_component(
        hass,
        "automation",
        {
            "automation": {
                "use_blueprint": {
                    "path": "keyholder/group_access_for_booking.yaml",
                    "input": {
                        "calendar": "calendar.gym",
                        "group": "Members",
                        "before": {"minutes": 10},
                        "after": {"minutes": 20},
                    },
                }
            }
        },
    )
    await hass.async_block_till_done()
    start = MONDAY.replace(day=2, month=12, hour=18)  # Wednesday 18:00
    end = start + timedelta(hours=1, minutes=30)
    await hass.services.async_call(
        "calendar",
        "create_event",
        {
            "entity_id": "calendar.gym",
            "summary": "Plumber",  # the event's title names the keyholder
            "start_date_time": start.isoformat(),
            "end_date_time": end.isoformat(),
        },
        blocking=True,
    )
    code = issued.passcode
    for at, on_front in (
        (start - timedelta(minutes=10, seconds=1), False),
        (start - timedelta(minutes=10), True),
        (end + timedelta(minutes=20, seconds=-1), True),
        (end + timedelta(minutes=20), False),
    ):
        await _move_and_settle(hass, freezer, at)
        assert (code in codes(site).values()) is on_front, at
        assert code in codes(site, LOCK_GARAGE).values()
    await hass.services.async_call(
        "automation", "turn_off", {"entity_id": "all"}, blocking=True
    )


async def _move_and_settle(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, when: datetime
) -> None:
    """
    Travel to ``when``, then wait for the calendar trigger's refresh too.

    The trigger reads events in a background task (its 15-minute refresh),
    which async_block_till_done does not wait for by default: on a loaded
    machine the next instant could come before the trigger's alarm is set.
    """
    await move_to(hass, freezer, when)
    await hass.async_block_till_done(wait_background_tasks=True)


async def _issue(hass: HomeAssistant, locks: list[str]) -> str:
    response: Any = await hass.services.async_call(
        DOMAIN,
        "issue_key",
        {"keyholder": "Plumber", "locks": locks},
        blocking=True,
        return_response=True,
    )
    passcode: str = response["passcode"]
    return passcode


async def _unlock(
    hass: HomeAssistant, entity_id: str, code: str, *, denied: bool = False
) -> None:
    data = {"entity_id": entity_id, "code": code}
    if denied:
        with pytest.raises(HomeAssistantError):
            await hass.services.async_call("lock", "unlock", data, blocking=True)
    else:
        await hass.services.async_call("lock", "unlock", data, blocking=True)
    await hass.async_block_till_done()
