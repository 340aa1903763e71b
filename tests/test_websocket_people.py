"""The panel's commands for one person: removing them, rescheduling a key."""

from __future__ import annotations

from datetime import datetime
import json
from typing import Any
from zoneinfo import ZoneInfo

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from custom_components.keyholder.model.serialize import key_grant_id

from .conftest import LOCK_FRONT, LOCK_GARAGE, OWNER, PLUMBER
from .helpers import issue, move_to, set_up_at
from .test_websocket_access import state
from .test_websocket_api import Client, codes, holder_named, site_of

BERLIN = ZoneInfo("Europe/Berlin")
MONDAY = datetime(2026, 11, 30, 10, 0, tzinfo=BERLIN)
"""Monday 30 November 2026, 10:00 (the tests never depend on today's date)."""
MORNINGS = {"weekdays": ["mon"], "start_time": "09:00", "end_time": "12:00"}
TUESDAY_AFTERNOONS = {"weekdays": ["tue"], "start_time": "14:00", "end_time": "16:00"}


@pytest.fixture
async def site(
    hass: HomeAssistant,
    enable_custom_integrations: None,
    freezer: FrozenDateTimeFactory,
    berlin: None,
    site_entry: MockConfigEntry,
) -> MockConfigEntry:
    """The site on a Monday morning."""
    return await set_up_at(hass, freezer, site_entry, MONDAY)


@pytest.fixture
async def client(
    hass: HomeAssistant, site: MockConfigEntry, hass_ws_client: WebSocketGenerator
) -> Client:
    return Client(await hass_ws_client(hass))


# -- removing a person ------------------------------------------------------------


async def test_remove_keyholder_takes_their_codes_off_the_locks(
    hass: HomeAssistant, site: MockConfigEntry, client: Client
) -> None:
    issued = await issue(hass)
    assert issued["passcode"] in codes(site)

    assert await client.ok("keyholder/remove_keyholder", keyholder=PLUMBER) is None
    await hass.async_block_till_done()

    assert PLUMBER not in site.subentries
    assert PLUMBER not in site.runtime_data.site.keyholders
    assert issued["passcode"] not in codes(site)
    described = site_of(await client.ok("keyholder/site"))
    assert [h["name"] for h in described["keyholders"]] == ["Alice Owner"]


async def test_the_last_manager_is_not_removed(
    hass: HomeAssistant, site: MockConfigEntry, client: Client
) -> None:
    await issue(hass, keyholder="Alice Owner")
    before = state(site)

    msg = await client.send("keyholder/remove_keyholder", keyholder=OWNER)

    assert not msg["success"]
    error = msg["error"]
    assert error["translation_key"] == "last_manager_removed"
    assert error["translation_domain"] == "keyholder"
    assert error["message"].startswith(
        "Alice Owner is the last active manager and cannot be removed"
    )
    assert state(site) == before


# -- a key's schedule ---------------------------------------------------------------


async def test_a_rescheduled_key_opens_only_in_its_new_window(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    site: MockConfigEntry,
    client: Client,
) -> None:
    issued = await issue(hass, **MORNINGS)
    code, key_id = issued["passcode"], issued["key_id"]
    assert codes(site) == {code}  # Monday 10:00: inside the mornings

    result = await client.ok(
        "keyholder/reschedule_key", key_id=key_id, **TUESDAY_AFTERNOONS
    )

    assert code not in json.dumps(result)
    assert result["key_id"] == key_id
    assert result["status"] == "outside_schedule"
    assert result["windows"] == [{"days": ["tue"], "start": "14:00", "end": "16:00"}]
    data = site.runtime_data.site
    key = data.keys[key_id]
    assert key.lock_ids == {LOCK_FRONT}  # the same locks
    assert key.secret == code  # the same code
    grant = data.grants[key_grant_id(key_id)]  # its access moved along
    assert grant.schedule == key.schedule
    assert grant.lock_ids == {LOCK_FRONT}
    assert codes(site) == set()  # no longer on Monday morning
    (shown,) = holder_named(site_of(await client.ok("keyholder/site")), "Plumber")[
        "keys"
    ]
    assert shown["windows"] == result["windows"]
    assert shown["week"]["blocks"] == [{"day": 1, "from": 840, "to": 960}]

    await move_to(hass, freezer, MONDAY.replace(day=1, month=12, hour=13, minute=59))
    assert codes(site) == set()
    await move_to(hass, freezer, MONDAY.replace(day=1, month=12, hour=14))
    assert codes(site) == {code}
    assert codes(site, LOCK_GARAGE) == set()
    await move_to(hass, freezer, MONDAY.replace(day=1, month=12, hour=16))
    assert codes(site) == set()
    # The next Monday morning: no longer.
    await move_to(hass, freezer, MONDAY.replace(day=7, month=12, hour=10))
    assert codes(site) == set()


async def test_a_key_following_access_keeps_following_it(
    hass: HomeAssistant, site: MockConfigEntry, client: Client
) -> None:
    """A key without locks of its own stays without: only its times change."""
    await client.ok(
        "keyholder/set_access", keyholder=PLUMBER, personal={"locks": [LOCK_GARAGE]}
    )
    issued = await hass.services.async_call(
        "keyholder",
        "issue_key",
        {"keyholder": PLUMBER},  # no locks: the key follows the access
        blocking=True,
        return_response=True,
    )
    assert isinstance(issued, dict)
    key_id = issued["key_id"]
    assert site.runtime_data.site.keys[key_id].lock_ids is None
    assert issued["passcode"] in codes(site, LOCK_GARAGE)

    await client.ok("keyholder/reschedule_key", key_id=key_id, **TUESDAY_AFTERNOONS)

    assert site.runtime_data.site.keys[key_id].lock_ids is None
    assert codes(site, LOCK_GARAGE) == set()

    # Always again: no schedule fields.
    await client.ok("keyholder/reschedule_key", key_id=key_id)
    assert site.runtime_data.site.keys[key_id].schedule.windows == ()
    assert issued["passcode"] in codes(site, LOCK_GARAGE)


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ({"weekdays": ["mon"], "start_time": "09:00"}, "start time and an end time"),
        (
            {"weekdays": ["someday"], "start_time": "01:00", "end_time": "02:00"},
            "weekdays",
        ),
        ({"start_time": "25:00", "end_time": "26:00"}, "start_time"),
        (
            {"valid_from": "2026-12-10T00:00", "valid_until": "2026-12-01T00:00"},
            "must be after",
        ),
        ({"valid_until": "3500-01-01"}, "valid_until"),
        ({"key_id": "no-such-key"}, "no-such-key"),
        ({"CANCELLED": True}, "cancelled"),
    ],
)
async def test_bad_input_changes_nothing(
    hass: HomeAssistant,
    site: MockConfigEntry,
    client: Client,
    data: dict[str, Any],
    words: str,
) -> None:
    issued = await issue(hass, **MORNINGS)
    if data.pop("CANCELLED", False):
        await client.ok("keyholder/cancel_key", key_id=issued["key_id"])
    before = state(site)

    msg = await client.send(
        "keyholder/reschedule_key", **{"key_id": issued["key_id"], **data}
    )

    assert not msg["success"], msg
    assert words in msg["error"]["message"], msg
    assert state(site) == before


async def test_a_passcode_sent_along_is_refused_and_never_echoed(
    hass: HomeAssistant,
    site: MockConfigEntry,
    client: Client,
    caplog: pytest.LogCaptureFixture,
) -> None:
    issued = await issue(hass, **MORNINGS)
    before = state(site)

    msg = await client.send(
        "keyholder/reschedule_key", key_id=issued["key_id"], passcode="135790"
    )

    assert not msg["success"], msg
    assert "passcode" in msg["error"]["message"]
    assert "135790" not in json.dumps(msg)
    assert "135790" not in caplog.text
    assert state(site) == before


@pytest.mark.parametrize(
    ("type_", "data"),
    [
        ("keyholder/remove_keyholder", {"keyholder": PLUMBER}),
        ("keyholder/reschedule_key", {"key_id": "KEY", **TUESDAY_AFTERNOONS}),
    ],
)
async def test_non_admin_is_refused(
    hass: HomeAssistant,
    site: MockConfigEntry,
    hass_ws_client: WebSocketGenerator,
    hass_read_only_access_token: str,
    type_: str,
    data: dict[str, Any],
) -> None:
    issued = await issue(hass, **MORNINGS)
    data = {k: issued["key_id"] if v == "KEY" else v for k, v in data.items()}
    before = state(site)
    user = Client(await hass_ws_client(hass, hass_read_only_access_token))

    msg = await user.send(type_, **data)

    assert not msg["success"]
    assert msg["error"]["code"] == "unauthorized"
    assert state(site) == before
