"""Tests for the websocket API behind the Keyholder panel."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, time, timedelta
import json
from typing import Any

from homeassistant.components.frontend import DATA_PANELS
from homeassistant.const import EVENT_CALL_SERVICE
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import (
    ClientSessionGenerator,
    WebSocketGenerator,
)

from custom_components.keyholder.panel import STATIC_URL

from .conftest import LOCK_FRONT, LOCK_GARAGE, OWNER, PLUMBER
from .helpers import P, issue

THURSDAY_AFTERNOONS = {
    "weekdays": ["thu"],
    "start_time": "13:00",
    "end_time": "17:00",
}


class Client:
    """A websocket client that numbers its messages."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws

    async def send(self, type_: str, **data: Any) -> dict[str, Any]:
        await self.ws.send_json_auto_id({"type": type_, **data})
        while True:  # events of a subscription may come first
            msg: dict[str, Any] = await self.ws.receive_json()
            if msg["type"] == "result":
                return msg

    async def ok(self, type_: str, **data: Any) -> Any:
        msg = await self.send(type_, **data)
        assert msg["success"], msg
        return msg["result"]


@pytest.fixture
async def client(
    hass: HomeAssistant,
    loaded_site: MockConfigEntry,
    hass_ws_client: WebSocketGenerator,
) -> Client:
    return Client(await hass_ws_client(hass))


def site_of(result: dict[str, Any]) -> dict[str, Any]:
    (site,) = result["sites"]
    return site


def holder_named(site: dict[str, Any], name: str) -> dict[str, Any]:
    (holder,) = [h for h in site["keyholders"] if h["name"] == name]
    return holder


def codes(entry: MockConfigEntry, lock_id: str = LOCK_FRONT) -> set[str]:
    return set(entry.runtime_data.locks[lock_id].provider.codes.values())


async def test_site_describes_keyholders_keys_and_locks_without_codes(
    hass: HomeAssistant, loaded_site: MockConfigEntry, client: Client
) -> None:
    issued = await issue(hass, **THURSDAY_AFTERNOONS, valid_until="2999-01-01T00:00")
    lock = loaded_site.runtime_data.locks[LOCK_FRONT].provider
    lock.codes[P(9)] = "246813"  # programmed at the keypad: not Keyholder's
    await loaded_site.runtime_data.async_apply_changes()

    result = await client.ok("keyholder/site")

    site = site_of(result)
    assert site["entry_id"] == "site_home"
    assert site["title"] == "Home"
    assert [h["name"] for h in site["keyholders"]] == ["Alice Owner", "Plumber"]
    plumber = holder_named(site, "Plumber")
    assert plumber["id"] == PLUMBER
    assert plumber["role"] == "keyholder"
    assert plumber["blocked"] is False
    state = hass.states.get("sensor.plumber_status")
    assert state is not None
    assert plumber["status"] == state.state
    (key,) = plumber["keys"]
    assert key["id"] == issued["key_id"]
    assert key["status"] == issued["status"]
    assert key["kind"] == "passcode"
    assert key["locks"] == [LOCK_FRONT]
    assert key["windows"] == [{"days": ["thu"], "start": "13:00", "end": "17:00"}]
    assert key["valid_from"] is None
    assert key["valid_until"].startswith("2998-12-31T23:00:00")  # Berlin, in UTC
    assert key["next_change"] is not None
    assert key["week"]["blocks"] == [{"day": 3, "from": 780, "to": 1020}]
    assert holder_named(site, "Alice Owner")["keys"] == []
    assert holder_named(site, "Alice Owner")["status"] == "no_key"
    front, garage = site["locks"]
    assert front["id"] == LOCK_FRONT
    assert front["name"] == "Front door"
    assert front["sync"] == "in_sync"
    assert front["unmanaged_slots"] == [9]
    assert garage["id"] == LOCK_GARAGE
    assert garage["unmanaged_slots"] == []
    # Neither Keyholder's passcode nor the unmanaged code is ever described.
    text = json.dumps(result)
    assert issued["passcode"] not in text
    assert "246813" not in text


async def test_one_off_key_is_described_and_drawn_by_its_dates(
    hass: HomeAssistant, loaded_site: MockConfigEntry, client: Client
) -> None:
    """A Thursday 09:00-12:00 visit (no weekdays) fills only that morning."""
    today = dt_util.now().date()
    thursday = today + timedelta(days=(3 - today.weekday()) % 7 + 7)
    await issue(
        hass,
        valid_from=f"{thursday}T09:00:00",
        valid_until=f"{thursday}T12:00:00",
    )

    site = site_of(await client.ok("keyholder/site"))

    (key,) = holder_named(site, "Plumber")["keys"]
    assert key["status"] == "upcoming"
    assert key["windows"] == []
    assert dt_util.parse_datetime(key["valid_from"]) == dt_util.as_utc(
        datetime.combine(thursday, time(9), dt_util.get_default_time_zone())
    )
    assert key["week"] == {
        "monday": (thursday - timedelta(days=3)).isoformat(),
        "blocks": [{"day": 3, "from": 9 * 60, "to": 12 * 60}],
    }


async def test_add_keyholder_then_issue_a_key_shows_the_passcode_once(
    hass: HomeAssistant, loaded_site: MockConfigEntry, client: Client
) -> None:
    added = await client.ok("keyholder/add_keyholder", given_name="Gardener")
    assert added["keyholder_id"] in loaded_site.subentries

    issued = await client.ok(
        "keyholder/issue_key",
        keyholder=added["keyholder_id"],
        locks=[LOCK_FRONT, LOCK_GARAGE],
        **THURSDAY_AFTERNOONS,
        valid_from="2026-01-01",
        valid_until="2999-01-01",
    )

    passcode = issued["passcode"]
    assert len(passcode) == 6  # the site's passcode length
    assert issued["status"] in ("active", "outside_schedule")
    key = loaded_site.runtime_data.site.keys[issued["key_id"]]
    assert key.keyholder_id == added["keyholder_id"]
    assert key.lock_ids == {LOCK_FRONT, LOCK_GARAGE}
    site = site_of(await client.ok("keyholder/site"))
    (described,) = holder_named(site, "Gardener")["keys"]
    assert described["locks"] == [LOCK_FRONT, LOCK_GARAGE]
    assert passcode not in json.dumps(site)


async def test_cancel_block_unblock_and_regenerate(
    hass: HomeAssistant, loaded_site: MockConfigEntry, client: Client
) -> None:
    issued = await issue(hass)
    runtime = loaded_site.runtime_data
    old = issued["passcode"]
    assert old in codes(loaded_site)

    new = await client.ok("keyholder/generate_passcode", key_id=issued["key_id"])
    assert new["key_id"] == issued["key_id"]
    assert new["passcode"] != old
    assert codes(loaded_site) == {new["passcode"]}

    assert await client.ok("keyholder/block", keyholder=PLUMBER) is None
    assert runtime.site.keyholders[PLUMBER].blocked
    assert codes(loaded_site) == set()
    site = site_of(await client.ok("keyholder/site"))
    assert holder_named(site, "Plumber")["status"] == "blocked"
    assert holder_named(site, "Plumber")["blocked"] is True

    await client.ok("keyholder/unblock", keyholder="Plumber")
    assert not runtime.site.keyholders[PLUMBER].blocked
    assert codes(loaded_site) == {new["passcode"]}

    await client.ok("keyholder/cancel_key", key_id=issued["key_id"])
    assert runtime.site.keys[issued["key_id"]].cancelled
    assert codes(loaded_site) == set()
    site = site_of(await client.ok("keyholder/site"))
    assert holder_named(site, "Plumber")["keys"][0]["status"] == "cancelled"


@pytest.mark.parametrize(
    ("type_", "data", "code", "words"),
    [
        (
            "keyholder/issue_key",
            {"keyholder": "Nobody", "locks": [LOCK_FRONT]},
            "service_validation_error",
            "Nobody",
        ),
        (
            "keyholder/issue_key",
            {"keyholder": PLUMBER, "locks": ["Back door"]},
            "service_validation_error",
            "Back door",
        ),
        (
            "keyholder/issue_key",
            {"keyholder": PLUMBER, "locks": [LOCK_FRONT], "weekdays": ["thu"]},
            "service_validation_error",
            "start",
        ),
        (
            "keyholder/issue_key",
            {
                "keyholder": PLUMBER,
                "locks": [LOCK_FRONT],
                "valid_from": "2026-12-03",
                "valid_until": "2026-12-02",
            },
            "service_validation_error",
            "",
        ),
        (
            "keyholder/issue_key",
            {
                "keyholder": PLUMBER,
                "locks": [LOCK_FRONT],
                "weekdays": ["thursday"],
                "start_time": "13:00",
                "end_time": "17:00",
            },
            "invalid_format",
            "weekdays",
        ),
        (
            "keyholder/issue_key",
            {
                "keyholder": PLUMBER,
                "locks": [LOCK_FRONT],
                "start_time": "25:00",
                "end_time": "17:00",
            },
            "invalid_format",
            "start_time",
        ),
        ("keyholder/issue_key", {"keyholder": PLUMBER}, "invalid_format", "locks"),
        ("keyholder/cancel_key", {"key_id": "nope"}, "service_validation_error", ""),
        (
            "keyholder/generate_passcode",
            {"key_id": "nope"},
            "service_validation_error",
            "",
        ),
        ("keyholder/block", {"keyholder": "Nobody"}, "service_validation_error", ""),
        ("keyholder/block", {"keyholder": OWNER}, "service_validation_error", ""),
        (
            "keyholder/add_keyholder",
            {"given_name": " "},
            "service_validation_error",
            "",
        ),
        (
            "keyholder/add_keyholder",
            {"given_name": "Plumber"},
            "service_validation_error",
            "",
        ),
        (
            "keyholder/add_keyholder",
            {"given_name": "Gardener", "expires_on": "someday"},
            "invalid_format",
            "expires_on",
        ),
    ],
)
async def test_bad_input_is_refused_with_a_message_and_changes_nothing(
    hass: HomeAssistant,
    loaded_site: MockConfigEntry,
    client: Client,
    type_: str,
    data: dict[str, Any],
    code: str,
    words: str,
) -> None:
    runtime = loaded_site.runtime_data
    before = (
        dict(runtime.site.keys),
        dict(runtime.site.keyholders),
        set(loaded_site.subentries),
    )

    msg = await client.send(type_, **data)

    assert not msg["success"]
    assert msg["error"]["code"] == code
    message = msg["error"]["message"]
    assert message
    assert "Unknown error" not in message
    assert words in message
    after = (
        dict(runtime.site.keys),
        dict(runtime.site.keyholders),
        set(loaded_site.subentries),
    )
    assert after == before


async def test_validation_messages_are_translated(
    hass: HomeAssistant, loaded_site: MockConfigEntry, client: Client
) -> None:
    msg = await client.send(
        "keyholder/issue_key", keyholder="Nobody", locks=[LOCK_FRONT]
    )

    error = msg["error"]
    assert error["translation_key"] == "unknown_keyholder"
    assert error["translation_domain"] == "keyholder"
    # The sentence from en.json, not the bare key.
    assert error["message"] != "unknown_keyholder"
    assert " " in error["message"]


@pytest.mark.parametrize(
    ("type_", "data"),
    [
        ("keyholder/site", {}),
        ("keyholder/subscribe", {}),
        ("keyholder/add_keyholder", {"given_name": "Burglar"}),
        ("keyholder/issue_key", {"keyholder": PLUMBER, "locks": [LOCK_FRONT]}),
        ("keyholder/cancel_key", {"key_id": "KEY"}),
        ("keyholder/block", {"keyholder": PLUMBER}),
        ("keyholder/unblock", {"keyholder": PLUMBER}),
        ("keyholder/generate_passcode", {"key_id": "KEY"}),
    ],
)
async def test_non_admin_is_refused(
    hass: HomeAssistant,
    loaded_site: MockConfigEntry,
    hass_ws_client: WebSocketGenerator,
    hass_read_only_access_token: str,
    type_: str,
    data: dict[str, Any],
) -> None:
    issued = await issue(hass)
    data = {k: issued["key_id"] if v == "KEY" else v for k, v in data.items()}
    runtime = loaded_site.runtime_data
    before = (dict(runtime.site.keys), dict(runtime.site.keyholders))
    before_codes = codes(loaded_site)
    client = Client(await hass_ws_client(hass, hass_read_only_access_token))

    msg = await client.send(type_, **data)

    assert not msg["success"]
    assert msg["error"]["code"] == "unauthorized"
    assert issued["passcode"] not in json.dumps(msg)
    assert (dict(runtime.site.keys), dict(runtime.site.keyholders)) == before
    assert codes(loaded_site) == before_codes
    assert set(loaded_site.subentries) >= {PLUMBER, OWNER}
    assert len(loaded_site.subentries) == 4


async def test_subscribe_sends_the_sites_and_every_change(
    hass: HomeAssistant, loaded_site: MockConfigEntry, client: Client
) -> None:
    subscribed = await client.send("keyholder/subscribe")
    assert subscribed["success"]
    first = await client.ws.receive_json()
    assert first["id"] == subscribed["id"]
    assert first["type"] == "event"
    assert holder_named(site_of(first["event"]), "Plumber")["keys"] == []

    issued = await issue(hass, **THURSDAY_AFTERNOONS)

    event = await next_event(
        client, lambda sites: bool(holder_named(site_of(sites), "Plumber")["keys"])
    )
    (key,) = holder_named(site_of(event["event"]), "Plumber")["keys"]
    assert key["id"] == issued["key_id"]
    assert issued["passcode"] not in json.dumps(event)

    # A keyholder added elsewhere (e.g. the subentry flow) shows up too.
    await hass.services.async_call(
        "keyholder", "add_keyholder", {"given_name": "Gardener"}, blocking=True
    )
    await next_event(
        client,
        lambda sites: "Gardener" in [h["name"] for h in site_of(sites)["keyholders"]],
    )

    # Unsubscribing lets go of the site.
    listeners = len(loaded_site.runtime_data.listeners._updates[None])
    await client.ok("unsubscribe_events", subscription=subscribed["id"])
    assert len(loaded_site.runtime_data.listeners._updates[None]) == listeners - 1


async def test_panel_is_registered_for_admins_and_its_module_served(
    hass: HomeAssistant,
    loaded_site: MockConfigEntry,
    hass_client: ClientSessionGenerator,
) -> None:
    panel = hass.data[DATA_PANELS]["keyholder"]
    assert panel.require_admin
    assert panel.sidebar_title == "Keyholder"
    assert panel.sidebar_icon == "mdi:key-chain"
    custom = panel.config["_panel_custom"]
    assert custom["name"] == "keyholder-panel"
    assert custom["module_url"].startswith(STATIC_URL + "?v=")

    response = await (await hass_client()).get(custom["module_url"])

    assert response.status == 200
    body = await response.text()
    assert 'customElements.define("keyholder-panel"' in body


async def test_subscription_follows_the_site_being_unloaded_and_set_up_again(
    hass: HomeAssistant, loaded_site: MockConfigEntry, client: Client
) -> None:
    await client.ok("keyholder/subscribe")
    first = await client.ws.receive_json()
    assert len(first["event"]["sites"]) == 1

    assert await hass.config_entries.async_unload(loaded_site.entry_id)
    await hass.async_block_till_done()
    await next_event(client, lambda sites: not sites["sites"])

    assert await hass.config_entries.async_setup(loaded_site.entry_id)
    await hass.async_block_till_done()
    event = await next_event(client, lambda sites: bool(sites["sites"]))
    assert site_of(event["event"])["entry_id"] == "site_home"
    # It listens to the new run of the site: a key issued now is sent.
    issued = await issue(hass)
    event = await next_event(
        client,
        lambda sites: bool(holder_named(site_of(sites), "Plumber")["keys"]),
    )
    plumber = holder_named(site_of(event["event"]), "Plumber")
    assert [key["id"] for key in plumber["keys"]] == [issued["key_id"]]


async def next_event(
    client: Client, wanted: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    """Return the first event whose sites are ``wanted`` (within 5 s)."""
    async with asyncio.timeout(5):
        while True:
            event: dict[str, Any] = await client.ws.receive_json()
            if wanted(event["event"]):
                return event


async def test_own_passcodes_are_taken_and_never_echoed_or_logged(
    hass: HomeAssistant,
    loaded_site: MockConfigEntry,
    client: Client,
    caplog: pytest.LogCaptureFixture,
) -> None:
    issued = await client.ok(
        "keyholder/issue_key", keyholder=PLUMBER, locks=[LOCK_FRONT], passcode="583920"
    )
    assert issued["passcode"] == "583920"
    assert codes(loaded_site) == {"583920"}

    renewed = await client.ok(
        "keyholder/generate_passcode", key_id=issued["key_id"], passcode=716253
    )
    assert renewed["passcode"] == "716253"
    assert codes(loaded_site) == {"716253"}

    # Refused: a code already taken, one of the wrong length, a wrong type.
    refused = [
        await client.send(
            "keyholder/issue_key", keyholder=PLUMBER, locks=[LOCK_FRONT], passcode=code
        )
        for code in ("716253", "1234567890")
    ]
    refused.append(
        await client.send(
            "keyholder/generate_passcode",
            key_id=issued["key_id"],
            passcode=["904172"],
        )
    )
    assert [msg["success"] for msg in refused] == [False, False, False]
    assert [msg["error"]["code"] for msg in refused] == [
        "service_validation_error",
        "service_validation_error",
        "invalid_format",
    ]
    assert codes(loaded_site) == {"716253"}
    # (The test harness's fake storage logs what it writes: not Home Assistant's.)
    logged = "\n".join(
        record.getMessage()
        for record in caplog.records
        if not record.name.startswith("pytest_homeassistant_custom_component")
    )
    text = json.dumps(refused) + logged
    for code in ("583920", "716253", "1234567890", "904172"):
        assert code not in text


async def test_panel_passcodes_are_not_recorded_as_action_calls(
    hass: HomeAssistant, loaded_site: MockConfigEntry, client: Client
) -> None:
    """Home Assistant keeps every action call's data: the panel goes around it."""
    recorded: list[Event] = []

    @callback
    def record(event: Event) -> None:
        recorded.append(event)

    stop = hass.bus.async_listen(EVENT_CALL_SERVICE, record)

    issued = await client.ok(
        "keyholder/issue_key", keyholder=PLUMBER, locks=[LOCK_FRONT], passcode="583920"
    )
    renewed = await client.ok(
        "keyholder/generate_passcode", key_id=issued["key_id"], passcode="716253"
    )
    generated = await client.ok("keyholder/generate_passcode", key_id=issued["key_id"])
    refused = await client.send(
        "keyholder/issue_key", keyholder=PLUMBER, locks=[LOCK_FRONT], passcode="904"
    )
    await client.ok("keyholder/block", keyholder=PLUMBER)
    await client.ok("keyholder/unblock", keyholder=PLUMBER)
    await hass.async_block_till_done()
    stop()

    assert (issued["passcode"], renewed["passcode"]) == ("583920", "716253")
    assert not refused["success"]
    assert recorded == []  # no call_service event at all
    # The key works with the last code.
    assert codes(loaded_site) == {generated["passcode"]}
    await hass.services.async_call(
        "lock",
        "open",
        {"entity_id": "lock.front_door", "code": generated["passcode"]},
        blocking=True,
    )
    assert hass.states.get("lock.front_door").state == "open"
