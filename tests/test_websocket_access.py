"""Tests for the panel's access commands: groups, a person's access, add a person."""

from __future__ import annotations

import json
from typing import Any

from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from custom_components.keyholder.access.grants import personal_grant_id
from custom_components.keyholder.const import SUBENTRY_GROUP

from .conftest import LOCK_FRONT, LOCK_GARAGE, PLUMBER
from .test_websocket_api import Client, codes, holder_named, site_of

MORNINGS = {"weekdays": ["mon", "fri"], "start_time": "09:00", "end_time": "12:00"}


@pytest.fixture
async def client(
    hass: HomeAssistant,
    loaded_site: MockConfigEntry,
    hass_ws_client: WebSocketGenerator,
) -> Client:
    return Client(await hass_ws_client(hass))


def state(entry: MockConfigEntry) -> tuple[Any, ...]:
    """Everything a refused command must leave as it was."""
    site = entry.runtime_data.site
    return (
        dict(site.keys),
        dict(site.keyholders),
        dict(site.groups),
        dict(site.memberships),
        dict(site.grants),
        {sid: (s.data, s.title) for sid, s in entry.subentries.items()},
        codes(entry),
    )


async def make_group(client: Client, **data: Any) -> str:
    result = await client.ok(
        "keyholder/save_group",
        **{"name": "Cleaners", "locks": [LOCK_FRONT], "schedule": MORNINGS, **data},
    )
    group_id: str = result["group_id"]
    return group_id


async def test_groups_are_created_listed_changed_and_removed(
    hass: HomeAssistant, loaded_site: MockConfigEntry, client: Client
) -> None:
    group_id = await make_group(client)
    assert loaded_site.subentries[group_id].subentry_type == SUBENTRY_GROUP

    (group,) = (await client.ok("keyholder/groups"))["groups"]
    assert group["id"] == group_id
    assert group["name"] == "Cleaners"
    assert group["locks"] == [LOCK_FRONT]
    assert group["schedule"]["windows"] == [
        {"days": ["mon", "fri"], "start": "09:00", "end": "12:00"}
    ]
    assert group["members"] == []

    await client.ok(
        "keyholder/set_access",
        keyholder=PLUMBER,
        groups=[{"group_id": group_id, "schedule": {"valid_until": "2999-01-01"}}],
    )
    # The new times are saved and applied at once.
    await client.ok(
        "keyholder/save_group",
        group_id=group_id,
        name="Cleaning crew",
        locks=[LOCK_FRONT, LOCK_GARAGE],
        schedule={"weekdays": ["tue"], "start_time": "14:00", "end_time": "16:00"},
    )
    saved = loaded_site.runtime_data.site.groups[group_id]
    assert saved.name == "Cleaning crew"
    assert saved.lock_ids == {LOCK_FRONT, LOCK_GARAGE}
    site = site_of(await client.ok("keyholder/site"))
    (group,) = site["groups"]
    assert group["name"] == "Cleaning crew"
    assert group["schedule"]["windows"][0]["start"] == "14:00"
    (member,) = group["members"]
    assert member["name"] == "Plumber"
    assert member["schedule"]["valid_until"].startswith("2998-12-31T23:00")
    plumber = holder_named(site, "Plumber")
    assert [g["name"] for g in plumber["access"]["groups"]] == ["Cleaning crew"]

    await client.ok("keyholder/delete_group", group_id=group_id)
    assert group_id not in loaded_site.subentries
    assert loaded_site.runtime_data.site.memberships == {}
    assert (await client.ok("keyholder/groups"))["groups"] == []


async def test_set_access_gives_groups_and_personal_doors(
    hass: HomeAssistant, loaded_site: MockConfigEntry, client: Client
) -> None:
    group_id = await make_group(client)

    await client.ok(
        "keyholder/set_access",
        keyholder="Plumber",
        groups=[{"group_id": "Cleaners"}],
        personal={"locks": [LOCK_GARAGE], "schedule": MORNINGS},
    )

    site = loaded_site.runtime_data.site
    assert set(site.memberships) == {f"{group_id}:{PLUMBER}"}
    grant = site.grants[personal_grant_id(PLUMBER)]
    assert grant.lock_ids == {LOCK_GARAGE}
    access = holder_named(site_of(await client.ok("keyholder/site")), "Plumber")[
        "access"
    ]
    assert access["groups"][0]["id"] == group_id
    (personal,) = access["personal"]
    assert personal["locks"] == [LOCK_GARAGE]
    assert personal["editable"] is True
    assert personal["schedule"]["windows"][0]["days"] == ["mon", "fri"]

    # Cleared again: no group, no personal access.
    await client.ok("keyholder/set_access", keyholder=PLUMBER, groups=[], personal=None)
    assert site.memberships == {}
    assert personal_grant_id(PLUMBER) not in site.grants


async def test_add_person_with_access_and_a_key_answers_the_code_once(
    hass: HomeAssistant, loaded_site: MockConfigEntry, client: Client
) -> None:
    group_id = await make_group(client, schedule={})

    result = await client.ok(
        "keyholder/add_person",
        given_name="Carla",
        family_name="Cleaner",
        groups=[{"group_id": group_id}],
        personal={"locks": [LOCK_GARAGE]},
        key_name="Her code",
    )

    assert result["keyholder"] == "Carla Cleaner"
    assert result["locks"] == ["Front door", "Garage"]
    assert result["passcode"].isdigit()
    assert len(result["passcode"]) == 6
    assert result["passcode"] in codes(loaded_site)
    runtime = loaded_site.runtime_data
    key = runtime.site.keys[result["key_id"]]
    assert key.lock_ids is None  # follows her access
    assert key.name == "Her code"
    # Never again: not in the site's description.
    described = await client.ok("keyholder/site")
    assert result["passcode"] not in json.dumps(described)
    carla = holder_named(site_of(described), "Carla Cleaner")
    assert carla["access"]["groups"][0]["name"] == "Cleaners"

    own = await client.ok(
        "keyholder/add_person",
        given_name="Dora",
        personal={"locks": [LOCK_FRONT], "schedule": MORNINGS},
        passcode="86420975",
    )
    assert own["passcode"] == "86420975"
    assert own["locks"] == ["Front door"]


@pytest.mark.parametrize(
    ("type_", "data", "words"),
    [
        ("keyholder/save_group", {"name": "X", "locks": []}, "at least one"),
        ("keyholder/save_group", {"name": "X", "locks": ["nope"]}, "nope"),
        ("keyholder/save_group", {"name": "", "locks": [LOCK_FRONT]}, "name"),
        ("keyholder/save_group", {"name": "Cleaners", "locks": [LOCK_FRONT]}, "exists"),
        (
            "keyholder/save_group",
            {"name": "X", "locks": [LOCK_FRONT], "schedule": {"weekdays": ["mon"]}},
            "start time",
        ),
        (
            "keyholder/save_group",
            {"group_id": "gone", "name": "X", "locks": [LOCK_FRONT]},
            "gone",
        ),
        ("keyholder/delete_group", {"group_id": "gone"}, "gone"),
        ("keyholder/set_access", {"keyholder": "Nobody", "groups": []}, "Nobody"),
        (
            "keyholder/set_access",
            {"keyholder": PLUMBER, "groups": [{"group_id": "gone"}]},
            "gone",
        ),
        (
            "keyholder/set_access",
            {"keyholder": PLUMBER, "personal": {"locks": [LOCK_FRONT], "schedule": 5}},
            "schedule",
        ),
        ("keyholder/add_person", {"given_name": "Eve"}, "access"),
        (
            "keyholder/add_person",
            {"given_name": "Eve", "groups": [{"group_id": "gone"}]},
            "gone",
        ),
        (
            "keyholder/add_person",
            {"given_name": "Plumber", "personal": {"locks": [LOCK_FRONT]}},
            "already exists",
        ),
        (
            "keyholder/add_person",
            {"given_name": "Eve", "personal": {"locks": [LOCK_FRONT]}, "passcode": "1"},
            "short",
        ),
    ],
)
async def test_bad_input_is_refused_and_changes_nothing(
    hass: HomeAssistant,
    loaded_site: MockConfigEntry,
    client: Client,
    type_: str,
    data: dict[str, Any],
    words: str,
) -> None:
    await make_group(client)
    before = state(loaded_site)

    msg = await client.send(type_, **data)

    assert not msg["success"], msg
    assert words in msg["error"]["message"], msg
    assert state(loaded_site) == before


async def test_add_person_refused_after_adding_leaves_nobody(
    hass: HomeAssistant, loaded_site: MockConfigEntry, client: Client
) -> None:
    """A code another key has on the lock: the new person is removed again."""
    first = await client.ok(
        "keyholder/add_person", given_name="Fay", personal={"locks": [LOCK_FRONT]}
    )
    before = state(loaded_site)

    msg = await client.send(
        "keyholder/add_person",
        given_name="Gus",
        personal={"locks": [LOCK_FRONT]},
        passcode=first["passcode"],
    )

    assert not msg["success"]
    assert first["passcode"] not in json.dumps(msg)
    assert state(loaded_site) == before


@pytest.mark.parametrize(
    ("type_", "data"),
    [
        ("keyholder/groups", {}),
        ("keyholder/save_group", {"name": "Burglars", "locks": [LOCK_FRONT]}),
        ("keyholder/delete_group", {"group_id": "GROUP"}),
        ("keyholder/set_access", {"keyholder": PLUMBER, "groups": []}),
        (
            "keyholder/add_person",
            {"given_name": "Burglar", "personal": {"locks": [LOCK_FRONT]}},
        ),
    ],
)
async def test_non_admin_is_refused(
    hass: HomeAssistant,
    loaded_site: MockConfigEntry,
    client: Client,
    hass_ws_client: WebSocketGenerator,
    hass_read_only_access_token: str,
    type_: str,
    data: dict[str, Any],
) -> None:
    group_id = await make_group(client)
    await client.ok(
        "keyholder/set_access", keyholder=PLUMBER, groups=[{"group_id": group_id}]
    )
    data = {k: group_id if v == "GROUP" else v for k, v in data.items()}
    before = state(loaded_site)
    user = Client(await hass_ws_client(hass, hass_read_only_access_token))

    msg = await user.send(type_, **data)

    assert not msg["success"]
    assert msg["error"]["code"] == "unauthorized"
    assert state(loaded_site) == before
