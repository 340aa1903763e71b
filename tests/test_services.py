"""Tests for Keyholder's actions: results, validation and permissions."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from homeassistant.auth.models import User
from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import (
    HomeAssistantError,
    ServiceValidationError,
    Unauthorized,
)
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.keyholder.const import DOMAIN
from custom_components.keyholder.model.status import next_site_change

from .conftest import LOCK_FRONT, LOCK_GARAGE, OWNER, PLUMBER, _keyholder, _lock
from .helpers import P, issue


async def call(
    hass: HomeAssistant, service: str, data: dict[str, Any], **kw: Any
) -> Any:
    return await hass.services.async_call(DOMAIN, service, data, blocking=True, **kw)


def codes(entry: MockConfigEntry, lock_id: str = LOCK_FRONT) -> set[str]:
    return set(entry.runtime_data.locks[lock_id].provider.codes.values())


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"keyholder": "Nobody"}, "unknown_keyholder"),
        ({"locks": ["Back door"]}, "unknown_lock"),
        ({"kind": "tag", "tag": "04A2"}, "kind_not_supported"),
        ({"weekdays": ["thu"]}, "window_needs_times"),
        ({"start_time": "13:00"}, "window_needs_times"),
        (
            {"valid_from": "2026-12-03T10:00:00", "valid_until": "2026-12-02T10:00:00"},
            "until_before_from",
        ),
        ({"passcode": "12a4"}, "passcode_not_digits"),
        ({"passcode": "123"}, "passcode_too_short"),
        ({"passcode": "123456789"}, "passcode_too_long"),
        ({"passcode": "7777"}, "passcode_one_digit"),
        ({"passcode": "345678"}, "passcode_sequence"),
        ({"passcode": "121212"}, "passcode_too_few_digits"),
    ],
)
async def test_issue_key_validation(
    hass: HomeAssistant, loaded_site: MockConfigEntry, data: dict[str, Any], error: str
) -> None:
    before = dict(loaded_site.runtime_data.site.keys)
    with pytest.raises(ServiceValidationError) as err:
        await issue(hass, **data)
    assert err.value.translation_key == error
    assert loaded_site.runtime_data.site.keys == before
    assert codes(loaded_site) == set()


async def test_own_passcode_in_use(
    hass: HomeAssistant, loaded_site: MockConfigEntry
) -> None:
    await issue(hass, passcode="2580")
    assert codes(loaded_site) == {"2580"}
    with pytest.raises(ServiceValidationError) as err:
        await call(
            hass,
            "issue_key",
            {
                "keyholder": "Alice Owner",
                "locks": ["lock.front_door"],
                "passcode": "2580",
            },
            return_response=True,
        )
    assert err.value.translation_key == "passcode_in_use"
    # On another lock the same code is fine.
    await call(
        hass,
        "issue_key",
        {"keyholder": OWNER, "locks": [LOCK_GARAGE], "passcode": "2580"},
        return_response=True,
    )
    assert codes(loaded_site, LOCK_GARAGE) == {"2580"}


async def test_generate_passcode_replaces_code(
    hass: HomeAssistant, loaded_site: MockConfigEntry
) -> None:
    first = await issue(hass, locks=["Front door", "Garage"])
    assert codes(loaded_site) == {first["passcode"]}
    assert codes(loaded_site, LOCK_GARAGE) == {first["passcode"]}
    second = await call(
        hass, "generate_passcode", {"key_id": first["key_id"]}, return_response=True
    )
    assert second["passcode"] != first["passcode"]
    assert codes(loaded_site) == {second["passcode"]}
    assert codes(loaded_site, LOCK_GARAGE) == {second["passcode"]}
    own = await call(
        hass,
        "generate_passcode",
        {"key_id": first["key_id"], "passcode": "8642"},
        return_response=True,
    )
    assert own["passcode"] == "8642"
    assert codes(loaded_site) == {"8642"}


async def test_cancel_key(hass: HomeAssistant, loaded_site: MockConfigEntry) -> None:
    key = await issue(hass)
    await call(hass, "cancel_key", {"key_id": key["key_id"]})
    assert codes(loaded_site) == set()
    # Their only key cancelled: the plumber has no key (cancelled is not expired).
    assert hass.states.get("sensor.plumber_status").state == "no_key"
    with pytest.raises(ServiceValidationError) as err:
        await call(
            hass, "generate_passcode", {"key_id": key["key_id"]}, return_response=True
        )
    assert err.value.translation_key == "key_cancelled"
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, "cancel_key", {"key_id": "missing"})
    assert err.value.translation_key == "unknown_key"


async def test_block_and_unblock(
    hass: HomeAssistant, loaded_site: MockConfigEntry
) -> None:
    key = await issue(hass, locks=["Front door", "Garage"])
    await call(hass, "block_user", {"keyholder": "plumber"})
    assert codes(loaded_site) == set()
    assert codes(loaded_site, LOCK_GARAGE) == set()
    assert hass.states.get("switch.plumber_access").state == "off"
    assert hass.states.get("sensor.plumber_status").state == "blocked"
    await call(hass, "unblock_user", {"keyholder": PLUMBER})
    assert codes(loaded_site) == {key["passcode"]}
    assert codes(loaded_site, LOCK_GARAGE) == {key["passcode"]}
    # The switch does the same.
    await hass.services.async_call(
        "switch", "turn_off", {"entity_id": "switch.plumber_access"}, blocking=True
    )
    assert codes(loaded_site) == set()
    await hass.services.async_call(
        "switch", "turn_on", {"entity_id": "switch.plumber_access"}, blocking=True
    )
    assert codes(loaded_site) == {key["passcode"]}


async def test_last_manager_cannot_be_blocked(
    hass: HomeAssistant, loaded_site: MockConfigEntry
) -> None:
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, "block_user", {"keyholder": "Alice Owner"})
    assert err.value.translation_key == "last_manager"
    assert not loaded_site.runtime_data.site.keyholders[OWNER].blocked


async def test_list_keys_has_no_secrets(
    hass: HomeAssistant, loaded_site: MockConfigEntry
) -> None:
    key = await issue(
        hass, weekdays=["thu"], start_time="13:00", end_time="17:00", uses=3
    )
    result = await call(hass, "list_keys", {}, return_response=True)
    assert key["passcode"] not in repr(result)
    (listed,) = result["keys"]
    assert listed["key_id"] == key["key_id"]
    assert listed["keyholder"] == "Plumber"
    assert listed["locks"] == ["Front door"]
    assert listed["max_uses"] == 3
    assert listed["weekdays"] == [
        {"days": ["thu"], "start_time": "13:00:00", "end_time": "17:00:00"}
    ]
    only_owner = await call(
        hass, "list_keys", {"keyholder": "Alice Owner"}, return_response=True
    )
    assert only_owner == {"keys": []}


async def test_add_and_remove_keyholder(
    hass: HomeAssistant, loaded_site: MockConfigEntry
) -> None:
    result = await call(
        hass,
        "add_keyholder",
        {
            "given_name": "Carla",
            "family_name": "Cleaner",
            "email": "carla@example.com",
            "active_from": "2026-12-01T08:00:00",
            "expires_on": "2027-01-31",
        },
        return_response=True,
    )
    await hass.async_block_till_done()
    keyholder_id = result["keyholder_id"]
    assert loaded_site.subentries[keyholder_id].title == "Carla Cleaner"
    assert (
        loaded_site.runtime_data.site.keyholders[keyholder_id].name == "Carla Cleaner"
    )
    with pytest.raises(ServiceValidationError) as err:
        await call(
            hass, "add_keyholder", {"given_name": "carla", "family_name": "cleaner"}
        )
    assert err.value.translation_key == "keyholder_keyholder_exists"

    key = await call(
        hass,
        "issue_key",
        {"keyholder": "Carla Cleaner", "locks": ["Garage"]},
        return_response=True,
    )
    await call(hass, "remove_keyholder", {"keyholder": "Carla Cleaner"})
    await hass.async_block_till_done()
    runtime = loaded_site.runtime_data
    assert keyholder_id not in loaded_site.subentries
    assert key["key_id"] not in runtime.site.keys
    assert codes(loaded_site, LOCK_GARAGE) == set()


async def test_non_admin_is_refused(
    hass: HomeAssistant, loaded_site: MockConfigEntry, hass_read_only_user: User
) -> None:
    with pytest.raises(Unauthorized):
        await call(
            hass,
            "issue_key",
            {"keyholder": "Plumber", "locks": ["Front door"]},
            context=Context(user_id=hass_read_only_user.id),
            return_response=True,
        )
    assert loaded_site.runtime_data.site.keys == {}


LOCK_CABIN = "lock_cabin"
CABIN_PLUMBER = "kh_cabin_plumber"


@pytest.fixture
async def cabin(hass: HomeAssistant, loaded_site: MockConfigEntry) -> MockConfigEntry:
    """A second site: its own door, its own plumber (a namesake) and a guest."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        entry_id="site_cabin",
        title="Cabin",
        data={"name": "Cabin", "passcode_length": 6, "booking_grace_minutes": 30},
        subentries_data=[
            _lock(LOCK_CABIN, "Cabin door"),
            _keyholder(CABIN_PLUMBER, "Plumber"),
            _keyholder("kh_guest", "Guest"),
        ],
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


async def test_site_is_found_from_what_the_call_names(
    hass: HomeAssistant, loaded_site: MockConfigEntry, cabin: MockConfigEntry
) -> None:
    # The README's example: the front door is only at home.
    home_key = await issue(hass)
    assert home_key["key_id"] in loaded_site.runtime_data.site.keys
    assert codes(loaded_site) == {home_key["passcode"]}
    # The guest and the cabin door are only at the cabin.
    cabin_key = await call(
        hass,
        "issue_key",
        {"keyholder": "Guest", "locks": ["Cabin door"]},
        return_response=True,
    )
    assert codes(cabin, LOCK_CABIN) == {cabin_key["passcode"]}
    # A key id names its site.
    renewed = await call(
        hass, "generate_passcode", {"key_id": cabin_key["key_id"]}, return_response=True
    )
    assert codes(cabin, LOCK_CABIN) == {renewed["passcode"]}
    await call(hass, "cancel_key", {"key_id": home_key["key_id"]})
    assert codes(loaded_site) == set()
    listed = await call(hass, "list_keys", {"keyholder": "Guest"}, return_response=True)
    assert [k["key_id"] for k in listed["keys"]] == [cabin_key["key_id"]]
    await call(hass, "block_user", {"keyholder": "Guest"})
    assert cabin.runtime_data.site.keyholders["kh_guest"].blocked
    # A code found on a door: the door names the site.
    cabin.runtime_data.locks[LOCK_CABIN].provider.codes[P(9)] = "246813"
    await call(
        hass,
        "adopt_code",
        {"keyholder": "Plumber", "lock": "Cabin door", "slot": 9},
        return_response=True,
    )
    (adopted,) = cabin.runtime_data.site.keys_of(CABIN_PLUMBER)
    assert adopted.secret == "246813"


async def test_site_named_by_title_or_id_wins(
    hass: HomeAssistant, loaded_site: MockConfigEntry, cabin: MockConfigEntry
) -> None:
    await issue(hass, config_entry_id="Home")
    await call(
        hass,
        "issue_key",
        {
            "config_entry_id": "site_cabin",
            "keyholder": "Plumber",
            "locks": ["Cabin door"],
        },
        return_response=True,
    )
    assert len(codes(loaded_site)) == 1
    assert len(codes(cabin, LOCK_CABIN)) == 1
    # The cabin has no front door.
    with pytest.raises(ServiceValidationError) as err:
        await issue(hass, config_entry_id="Cabin")
    assert err.value.translation_key == "unknown_lock"
    with pytest.raises(ServiceValidationError) as err:
        await issue(hass, config_entry_id="nope")
    assert err.value.translation_key == "unknown_site"


@pytest.mark.parametrize(
    ("service", "data"),
    [
        ("block_user", {"keyholder": "Plumber"}),  # a plumber in each site
        ("list_keys", {}),
        ("add_keyholder", {"given_name": "Dora"}),
    ],
)
async def test_ambiguous_calls_list_the_sites(
    hass: HomeAssistant,
    loaded_site: MockConfigEntry,
    cabin: MockConfigEntry,
    service: str,
    data: dict[str, Any],
) -> None:
    subentries = (set(loaded_site.subentries), set(cabin.subentries))
    with pytest.raises(ServiceValidationError) as err:
        await call(hass, service, data, return_response=service != "block_user")
    assert err.value.translation_key == "site_required"
    assert err.value.translation_placeholders == {"sites": "Cabin, Home"}
    assert "Cabin, Home" in str(err.value)
    assert not loaded_site.runtime_data.site.keyholders[PLUMBER].blocked
    assert not cabin.runtime_data.site.keyholders[CABIN_PLUMBER].blocked
    assert (set(loaded_site.subentries), set(cabin.subentries)) == subentries


async def test_names_found_in_no_site_list_the_sites(
    hass: HomeAssistant, loaded_site: MockConfigEntry, cabin: MockConfigEntry
) -> None:
    # The guest is at the cabin, the front door at home: no site has both.
    for data in (
        {"keyholder": "Nobody"},
        {"keyholder": "Guest", "locks": ["Front door"]},
    ):
        with pytest.raises(ServiceValidationError) as err:
            await issue(hass, **data)
        assert err.value.translation_key == "site_not_found"
        assert err.value.translation_placeholders == {"sites": "Cabin, Home"}
    assert loaded_site.runtime_data.site.keys == {}
    assert cabin.runtime_data.site.keys == {}


async def test_virtual_lock_needs_right_code(
    hass: HomeAssistant, loaded_site: MockConfigEntry
) -> None:
    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call(
            "lock", "unlock", {"entity_id": "lock.front_door"}, blocking=True
        )
    assert err.value.translation_key == "wrong_code"
    with pytest.raises(HomeAssistantError):
        await hass.services.async_call(
            "lock",
            "open",
            {"entity_id": "lock.front_door", "code": "9182"},
            blocking=True,
        )
    key = await issue(hass, uses=1)
    await hass.services.async_call(
        "lock",
        "open",
        {"entity_id": "lock.front_door", "code": key["passcode"]},
        blocking=True,
    )
    assert hass.states.get("lock.front_door").state == "open"
    # A one-time code is used up and leaves the lock.
    assert codes(loaded_site) == set()
    assert hass.states.get("sensor.plumber_status").state == "used_up"
    await hass.services.async_call(
        "lock", "lock", {"entity_id": "lock.front_door"}, blocking=True
    )
    assert hass.states.get("lock.front_door").state == "locked"


async def test_passcode_length_follows_site_options(
    hass: HomeAssistant, loaded_site: MockConfigEntry
) -> None:
    hass.config_entries.async_update_entry(loaded_site, options={"passcode_length": 8})
    await hass.async_block_till_done()
    key = await issue(hass)
    assert len(key["passcode"]) == 8


async def test_timer_follows_every_change(
    hass: HomeAssistant, loaded_site: MockConfigEntry
) -> None:
    """The one armed timer always points at the site's next status change."""
    runtime = loaded_site.runtime_data

    def expected() -> object:
        return next_site_change(runtime.site, dt_util.utcnow(), runtime.tz)

    assert runtime.timer.next_transition is None
    key = await issue(hass, weekdays=["thu"], start_time="13:00", end_time="17:00")
    assert runtime.timer.next_transition == expected()
    assert runtime.timer.next_transition is not None
    soon = await issue(
        hass, valid_until=(dt_util.utcnow() + timedelta(hours=1)).isoformat()
    )
    assert runtime.timer.next_transition == expected()
    await call(hass, "cancel_key", {"key_id": soon["key_id"]})
    assert runtime.timer.next_transition == expected()
    await call(hass, "block_user", {"keyholder": "Plumber"})
    assert runtime.timer.next_transition == expected()
    await call(hass, "unblock_user", {"keyholder": "Plumber"})
    assert runtime.timer.next_transition == expected()
    await call(hass, "cancel_key", {"key_id": key["key_id"]})
    assert runtime.timer.next_transition == expected() is None


async def test_no_site_loaded(
    hass: HomeAssistant, loaded_site: MockConfigEntry
) -> None:
    assert await hass.config_entries.async_unload(loaded_site.entry_id)
    with pytest.raises(ServiceValidationError) as err:
        await issue(hass)
    assert err.value.translation_key == "no_site"
