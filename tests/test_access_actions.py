"""The access actions: groups, memberships and personal access, end to end."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from freezegun.api import FrozenDateTimeFactory
from homeassistant.auth.models import User
from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import ServiceValidationError, Unauthorized
from homeassistant.setup import async_setup_component
import probatio as vol
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.keyholder.const import DOMAIN, SUBENTRY_GROUP

from .conftest import LOCK_FRONT, LOCK_GARAGE, OWNER, PLUMBER
from .helpers import move_to, set_up_at

BERLIN = ZoneInfo("Europe/Berlin")
# Monday 30 November 2026, 9:00 (the tests never depend on today's date).
MONDAY = datetime(2026, 11, 30, 9, 0, tzinfo=BERLIN)
PLUMBER_CODE = "2580"
OWNER_CODE = "1397"


HOLDERS = {"Plumber": (PLUMBER, PLUMBER_CODE), "Alice Owner": (OWNER, OWNER_CODE)}


@pytest.fixture
async def site(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    berlin: None,
    site_entry: MockConfigEntry,
) -> MockConfigEntry:
    """The site on a Monday morning."""
    return await set_up_at(hass, freezer, site_entry, MONDAY)


async def join(hass: HomeAssistant, holder: str, group: str, **data: Any) -> None:
    """
    Add a keyholder to a group; give them a key the first time.

    ``issue_key`` without locks: the key opens whatever their access allows.
    """
    await call(hass, "add_to_group", {"keyholder": holder, "group": group, **data})
    (entry,) = hass.config_entries.async_loaded_entries(DOMAIN)
    holder_id, code = HOLDERS[holder]
    if not entry.runtime_data.site.keys_of(holder_id):
        response = await call(
            hass,
            "issue_key",
            {"keyholder": holder, "passcode": code},
            return_response=True,
        )
        assert response["passcode"] == code
        assert entry.runtime_data.site.keys[response["key_id"]].lock_ids is None


async def call(
    hass: HomeAssistant, service: str, data: dict[str, Any], **kw: Any
) -> Any:
    return await hass.services.async_call(DOMAIN, service, data, blocking=True, **kw)


def codes(entry: MockConfigEntry, lock_id: str = LOCK_FRONT) -> set[str]:
    return set(entry.runtime_data.locks[lock_id].provider.codes.values())


async def create(hass: HomeAssistant, name: str, **data: Any) -> str:
    response = await call(
        hass,
        "create_group",
        {"name": name, "locks": ["Front door"], **data},
        return_response=True,
    )
    assert set(response) == {"group_id"}
    group_id: str = response["group_id"]
    return group_id


async def test_member_opens_only_inside_the_group_window(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, site: MockConfigEntry
) -> None:
    group_id = await create(
        hass, "Cleaners", weekdays=["mon"], start_time="10:00", end_time="12:00"
    )
    assert site.subentries[group_id].subentry_type == SUBENTRY_GROUP
    assert site.subentries[group_id].title == "Cleaners"
    await join(hass, "Plumber", "cleaners")
    assert codes(site) == set()  # 9:00: not yet

    await move_to(hass, freezer, MONDAY.replace(hour=10))
    assert codes(site) == {PLUMBER_CODE}
    assert codes(site, LOCK_GARAGE) == set()
    await move_to(hass, freezer, MONDAY.replace(hour=12))
    assert codes(site) == set()
    # The next Monday again; never on a Tuesday.
    await move_to(hass, freezer, MONDAY.replace(day=1, month=12, hour=10))
    assert codes(site) == set()
    await move_to(hass, freezer, MONDAY.replace(day=7, month=12, hour=11))
    assert codes(site) == {PLUMBER_CODE}


async def test_tiered_groups_on_one_lock(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, site: MockConfigEntry
) -> None:
    await create(hass, "Early", start_time="06:00", end_time="09:30")
    await create(hass, "Late", start_time="17:00", end_time="20:00")
    await join(hass, "Plumber", "Early")
    await join(hass, "Alice Owner", "Late")
    assert codes(site) == {PLUMBER_CODE}  # 9:00
    await move_to(hass, freezer, MONDAY.replace(hour=9, minute=30))
    assert codes(site) == set()
    await move_to(hass, freezer, MONDAY.replace(hour=17))
    assert codes(site) == {OWNER_CODE}
    await move_to(hass, freezer, MONDAY.replace(day=1, month=12, hour=6))
    assert codes(site) == {PLUMBER_CODE}


async def test_reduced_membership_never_widens(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, site: MockConfigEntry
) -> None:
    await create(
        hass, "Cleaners", weekdays=["mon"], start_time="10:00", end_time="12:00"
    )
    # Asks for 8:00-11:00 on Mondays and Tuesdays: gets 10:00-11:00 on Mondays.
    await join(
        hass,
        "Plumber",
        "Cleaners",
        weekdays=["mon", "tue"],
        start_time="08:00",
        end_time="11:00",
    )
    assert codes(site) == set()  # 9:00: the group is closed
    await move_to(hass, freezer, MONDAY.replace(hour=10))
    assert codes(site) == {PLUMBER_CODE}
    await move_to(hass, freezer, MONDAY.replace(hour=11))
    assert codes(site) == set()
    await move_to(hass, freezer, MONDAY.replace(day=1, month=12, hour=9))
    assert codes(site) == set()


async def test_membership_from_and_until_a_date(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, site: MockConfigEntry
) -> None:
    await create(hass, "Family")
    await join(
        hass, "Plumber", "Family", valid_from="2026-12-01", valid_until="2026-12-02"
    )
    assert codes(site) == set()  # Monday: not yet a member
    await move_to(hass, freezer, datetime(2026, 12, 1, 0, 0, tzinfo=BERLIN))
    assert codes(site) == {PLUMBER_CODE}
    # "Until" a date is to the end of that day.
    await move_to(hass, freezer, datetime(2026, 12, 2, 23, 59, tzinfo=BERLIN))
    assert codes(site) == {PLUMBER_CODE}
    await move_to(hass, freezer, datetime(2026, 12, 3, 0, 0, tzinfo=BERLIN))
    assert codes(site) == set()


async def test_update_group_moves_every_member(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, site: MockConfigEntry
) -> None:
    group_id = await create(hass, "Staff")
    for holder in ("Plumber", "Alice Owner"):
        await join(hass, holder, group_id)
    assert codes(site) == {PLUMBER_CODE, OWNER_CODE}

    await call(
        hass, "update_group", {"group": "staff", "name": "Team", "locks": ["Garage"]}
    )
    assert codes(site) == set()
    assert codes(site, LOCK_GARAGE) == {PLUMBER_CODE, OWNER_CODE}
    assert site.subentries[group_id].title == "Team"
    # A schedule given replaces the group's: from 10:00 on weekdays.
    await call(
        hass,
        "update_group",
        {
            "group": "TEAM",
            "weekdays": ["mon"],
            "start_time": "10:00",
            "end_time": "11:00",
        },
    )
    assert codes(site, LOCK_GARAGE) == set()
    await move_to(hass, freezer, MONDAY.replace(hour=10))
    assert codes(site, LOCK_GARAGE) == {PLUMBER_CODE, OWNER_CODE}
    # weekdays: [] alone makes it always again.
    await call(hass, "update_group", {"group": "Team", "weekdays": []})
    await move_to(hass, freezer, MONDAY.replace(hour=13))
    assert codes(site, LOCK_GARAGE) == {PLUMBER_CODE, OWNER_CODE}


async def test_delete_group_removes_access(
    hass: HomeAssistant, site: MockConfigEntry
) -> None:
    group_id = await create(hass, "Cleaners")
    await join(hass, "Plumber", "Cleaners")
    assert codes(site) == {PLUMBER_CODE}
    await call(hass, "delete_group", {"group": "Cleaners"})
    assert codes(site) == set()
    assert group_id not in site.subentries
    assert site.runtime_data.site.memberships == {}
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, "add_to_group", {"keyholder": "Plumber", "group": group_id})
    assert err.value.translation_key == "unknown_group"


async def test_remove_from_group(hass: HomeAssistant, site: MockConfigEntry) -> None:
    await create(hass, "Cleaners")
    await join(hass, "Plumber", "Cleaners")
    await call(hass, "remove_from_group", {"keyholder": "Plumber", "group": "Cleaners"})
    assert codes(site) == set()
    with pytest.raises(ServiceValidationError) as err:
        await call(
            hass, "remove_from_group", {"keyholder": "Plumber", "group": "Cleaners"}
        )
    assert err.value.translation_key == "not_a_member"


async def test_grant_and_revoke_personal_access(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, site: MockConfigEntry
) -> None:
    await create(hass, "Cleaners")
    await join(hass, "Plumber", "Cleaners")
    await call(
        hass,
        "grant_access",
        {
            "keyholder": "Plumber",
            "locks": ["Garage"],
            "valid_until": "2026-11-30T10:00",
        },
    )
    assert codes(site, LOCK_GARAGE) == {PLUMBER_CODE}
    await move_to(hass, freezer, MONDAY.replace(hour=10))
    assert codes(site, LOCK_GARAGE) == set()

    await call(hass, "grant_access", {"keyholder": "Plumber", "locks": ["Garage"]})
    assert codes(site, LOCK_GARAGE) == {PLUMBER_CODE}
    await call(hass, "revoke_access", {"keyholder": "Plumber", "locks": ["Garage"]})
    assert codes(site, LOCK_GARAGE) == set()
    # All personal access gone; what the group gives stays.
    await call(hass, "grant_access", {"keyholder": "Plumber", "locks": ["Garage"]})
    await call(hass, "revoke_access", {"keyholder": "Plumber"})
    assert codes(site, LOCK_GARAGE) == set()
    assert codes(site) == {PLUMBER_CODE}


async def test_a_script_uses_each_change_at_once(
    hass: HomeAssistant, site: MockConfigEntry
) -> None:
    """Created, changed and joined in one script: each step sees the last."""
    assert await async_setup_component(
        hass,
        "script",
        {
            "script": {
                "staff": {
                    "sequence": [
                        {
                            "action": "keyholder.create_group",
                            "data": {"name": "Staff", "locks": ["Front door"]},
                            "response_variable": "group",
                        },
                        {
                            "action": "keyholder.update_group",
                            "data": {
                                "group": "{{ group.group_id }}",
                                "locks": "Garage",
                            },
                        },
                        {
                            "action": "keyholder.add_to_group",
                            "data": {"keyholder": "Plumber", "group": "Staff"},
                        },
                    ]
                }
            }
        },
    )
    await hass.services.async_call("script", "staff", blocking=True)
    await join(hass, "Plumber", "Staff")  # again, with a key
    assert codes(site, LOCK_GARAGE) == {PLUMBER_CODE}
    assert codes(site) == set()
    await hass.async_block_till_done()
    assert codes(site, LOCK_GARAGE) == {PLUMBER_CODE}
    (group,) = site.runtime_data.site.groups.values()
    assert group.lock_ids == {LOCK_GARAGE}


def snapshot(entry: MockConfigEntry) -> Any:
    site = entry.runtime_data.site
    return (
        {sid: (sub.title, dict(sub.data)) for sid, sub in entry.subentries.items()},
        dict(site.groups),
        dict(site.memberships),
        dict(site.grants),
        codes(entry),
        codes(entry, LOCK_GARAGE),
    )


@pytest.mark.parametrize(
    ("action", "data", "error"),
    [
        ("create_group", {"name": "cleaners", "locks": ["Garage"]}, "group_name_taken"),
        ("create_group", {"name": "  ", "locks": ["Garage"]}, "group_name_required"),
        ("create_group", {"name": "x" * 65, "locks": ["Garage"]}, "name_too_long"),
        ("create_group", {"name": "New", "locks": ["Back door"]}, "unknown_lock"),
        ("create_group", {"name": "New", "locks": []}, None),
        ("create_group", {"name": "New", "locks": ["Garage"] * 101}, None),
        (
            "create_group",
            {"name": "New", "locks": ["Garage"], "weekdays": ["mon"]},
            "window_needs_times",
        ),
        (
            "create_group",
            {
                "name": "New",
                "locks": ["Garage"],
                "valid_from": "2026-12-03T10:00:00",
                "valid_until": "2026-12-02T10:00:00",
            },
            "until_before_from",
        ),
        ("update_group", {"group": "Nobody", "name": "X"}, "unknown_group"),
        ("update_group", {"group": "Other", "name": "CLEANERS"}, "group_name_taken"),
        ("update_group", {"group": "Other", "locks": ["Back door"]}, "unknown_lock"),
        ("delete_group", {"group": "Nobody"}, "unknown_group"),
        (
            "add_to_group",
            {"keyholder": "Nobody", "group": "Cleaners"},
            "unknown_keyholder",
        ),
        ("add_to_group", {"keyholder": "Plumber", "group": "Nobody"}, "unknown_group"),
        (
            "add_to_group",
            {"keyholder": "Plumber", "group": "Other", "valid_until": "3001-01-01"},
            "out_of_range",
        ),
        (
            "add_to_group",
            {"keyholder": "Plumber", "group": "Other", "valid_until": "soon"},
            None,
        ),
        (
            "add_to_group",
            {
                "keyholder": "Plumber",
                "group": "Other",
                "valid_from": "2026-12-05",
                "valid_until": "2026-12-01",
            },
            "until_before_from",
        ),
        (
            "remove_from_group",
            {"keyholder": "Plumber", "group": "Other"},
            "not_a_member",
        ),
        (
            "grant_access",
            {"keyholder": "Plumber", "locks": ["Back door"]},
            "unknown_lock",
        ),
        ("revoke_access", {"keyholder": "Nobody"}, "unknown_keyholder"),
    ],
)
async def test_bad_input_changes_nothing(
    hass: HomeAssistant,
    site: MockConfigEntry,
    action: str,
    data: dict[str, Any],
    error: str | None,
) -> None:
    await create(hass, "Cleaners")
    await create(hass, "Other")
    await join(hass, "Plumber", "Cleaners")
    await hass.async_block_till_done()
    before = snapshot(site)
    refusal = ServiceValidationError if error else vol.Invalid
    with pytest.raises(refusal) as err:
        await call(hass, action, data)
    if error:
        assert isinstance(err.value, ServiceValidationError)
        assert err.value.translation_key == error
    await hass.async_block_till_done()
    assert snapshot(site) == before


NEW_ACTIONS = {
    "create_group": {"name": "New", "locks": ["Garage"]},
    "update_group": {"group": "Cleaners", "locks": ["Garage"]},
    "delete_group": {"group": "Cleaners"},
    "add_to_group": {"keyholder": "Alice Owner", "group": "Cleaners"},
    "remove_from_group": {"keyholder": "Plumber", "group": "Cleaners"},
    "grant_access": {"keyholder": "Plumber", "locks": ["Garage"]},
    "revoke_access": {"keyholder": "Plumber"},
}


@pytest.mark.parametrize("action", sorted(NEW_ACTIONS))
async def test_only_admins_may_change_access(
    hass: HomeAssistant,
    site: MockConfigEntry,
    hass_read_only_user: User,
    hass_admin_user: User,
    action: str,
) -> None:
    await create(hass, "Cleaners")
    await join(hass, "Plumber", "Cleaners")
    await call(hass, "grant_access", {"keyholder": "Plumber", "locks": ["Front door"]})
    await hass.async_block_till_done()
    before = snapshot(site)
    with pytest.raises(Unauthorized):
        await call(
            hass,
            action,
            NEW_ACTIONS[action],
            context=Context(user_id=hass_read_only_user.id),
        )
    await hass.async_block_till_done()
    assert snapshot(site) == before
    await call(
        hass, action, NEW_ACTIONS[action], context=Context(user_id=hass_admin_user.id)
    )
    await hass.async_block_till_done()
    assert snapshot(site) != before


async def test_a_key_without_locks_needs_access_first(
    hass: HomeAssistant, site: MockConfigEntry
) -> None:
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, "issue_key", {"keyholder": "Plumber"}, return_response=True)
    assert err.value.translation_key == "no_access_given"
    assert site.runtime_data.site.keys == {}


async def test_a_key_without_locks_follows_group_and_own_access(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, site: MockConfigEntry
) -> None:
    await create(
        hass, "Cleaners", weekdays=["mon"], start_time="10:00", end_time="12:00"
    )
    await join(hass, "Plumber", "Cleaners")
    await call(
        hass,
        "grant_access",
        {
            "keyholder": "Plumber",
            "locks": ["Garage"],
            "weekdays": ["mon"],
            "start_time": "08:00",
            "end_time": "09:30",
        },
    )
    await hass.async_block_till_done()
    # 9:00: the garage (own access), not the front door (the group's hours).
    assert codes(site, LOCK_GARAGE) == {PLUMBER_CODE}
    assert codes(site) == set()
    listed = await call(
        hass, "list_keys", {"keyholder": "Plumber"}, return_response=True
    )
    (key,) = [k for k in listed["keys"] if k["follows_access"]]
    assert key["status"] == "active"
    assert key["lock_statuses"] == [
        {"lock": "Front door", "lock_id": LOCK_FRONT, "status": "outside_schedule"},
        {"lock": "Garage", "lock_id": LOCK_GARAGE, "status": "active"},
    ]
    await move_to(hass, freezer, MONDAY.replace(hour=10, minute=30))
    assert codes(site) == {PLUMBER_CODE}
    assert codes(site, LOCK_GARAGE) == set()
    # Leaving the group takes the front door away; the key stays.
    await call(hass, "remove_from_group", {"keyholder": "Plumber", "group": "Cleaners"})
    assert codes(site) == set()
    assert len(site.runtime_data.site.keys_of(PLUMBER)) == 1


async def test_access_bringing_a_code_to_a_lock_that_has_it_is_refused(
    hass: HomeAssistant, site: MockConfigEntry
) -> None:
    await call(hass, "grant_access", {"keyholder": "Plumber", "locks": ["Front door"]})
    await call(
        hass,
        "issue_key",
        {"keyholder": "Plumber", "passcode": PLUMBER_CODE},
        return_response=True,
    )
    # The owner's key on the garage has the very same code.
    await call(
        hass,
        "issue_key",
        {"keyholder": "Alice Owner", "locks": ["Garage"], "passcode": PLUMBER_CODE},
        return_response=True,
    )
    runtime = site.runtime_data
    grants = dict(runtime.site.grants)
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, "grant_access", {"keyholder": "Plumber", "locks": ["Garage"]})
    assert err.value.translation_key == "access_code_taken"
    assert err.value.translation_placeholders == {
        "keyholder": "Plumber",
        "lock": "Garage",
    }
    # Nothing changed: the plumber's code is on the front door only.
    assert runtime.site.grants == grants
    assert runtime.site.locks_of(runtime.site.keys_of(PLUMBER)[0]) == {LOCK_FRONT}
    assert codes(site) == {PLUMBER_CODE}
    assert list(codes(site, LOCK_GARAGE)) == [PLUMBER_CODE]  # the owner's
