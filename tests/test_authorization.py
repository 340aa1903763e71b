"""Only administrators may use Keyholder's actions; others change nothing."""

from __future__ import annotations

from typing import Any

from homeassistant.auth.const import GROUP_ID_USER
from homeassistant.auth.models import User
from homeassistant.auth.providers import homeassistant
from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import Unauthorized, UnknownUser
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, MockUser

from custom_components.keyholder.const import DOMAIN
from custom_components.keyholder.families.virtual import VirtualLock

from .conftest import LOCK_FRONT, PLUMBER
from .helpers import P, issue
from .test_fuzz_actions import RETURNS_RESPONSE, snapshot

FOREIGN_SLOT = 9

# Data with which each action succeeds for an administrator ("KEY" is replaced
# by the id of a key the plumber holds).
ACTIONS: dict[str, dict[str, Any]] = {
    "issue_key": {"keyholder": "Plumber", "locks": ["Front door"]},
    "cancel_key": {"key_id": "KEY"},
    "generate_passcode": {"key_id": "KEY"},
    "block_user": {"keyholder": "Plumber"},
    "unblock_user": {"keyholder": "Plumber"},
    "list_keys": {},
    "add_keyholder": {"given_name": "Mallory"},
    "remove_keyholder": {"keyholder": "Plumber"},
    "adopt_code": {"keyholder": "Plumber", "lock": "Front door", "slot": FOREIGN_SLOT},
    "set_lock_online": {"entity_id": "lock.front_door", "online": False},
}


async def prepared_site(hass: HomeAssistant, entry: MockConfigEntry) -> str:
    """Give the plumber a key, block them, and put a stranger's code on a lock."""
    key = await issue(hass)
    await hass.services.async_call(
        DOMAIN, "block_user", {"keyholder": "Plumber"}, blocking=True
    )
    lock = entry.runtime_data.locks[LOCK_FRONT].provider
    assert isinstance(lock, VirtualLock)
    lock.codes[P(FOREIGN_SLOT)] = "4711"
    await hass.async_block_till_done()
    key_id: str = key["key_id"]
    return key_id


async def call_as(
    hass: HomeAssistant, action: str, data: dict[str, Any], user_id: str
) -> Any:
    return await hass.services.async_call(
        DOMAIN,
        action,
        data,
        blocking=True,
        context=Context(user_id=user_id),
        return_response=RETURNS_RESPONSE.get(action, False),
    )


@pytest.mark.parametrize("action", sorted(ACTIONS))
@pytest.mark.parametrize("who", ["read_only_user", "unknown_user"])
async def test_only_admins_may_act(
    hass: HomeAssistant,
    loaded_site: MockConfigEntry,
    hass_read_only_user: User,
    hass_admin_user: User,
    action: str,
    who: str,
) -> None:
    """Every action (listing keys too) refuses non-admins; an admin succeeds."""
    key_id = await prepared_site(hass, loaded_site)
    if action == "block_user":
        await hass.services.async_call(
            DOMAIN, "unblock_user", {"keyholder": PLUMBER}, blocking=True
        )
    data = {k: key_id if v == "KEY" else v for k, v in ACTIONS[action].items()}
    user_id = hass_read_only_user.id if who == "read_only_user" else "no-such-user"
    assert not hass_read_only_user.is_admin
    before = snapshot(hass, loaded_site)

    with pytest.raises(Unauthorized) as err:
        await call_as(hass, action, data, user_id)
    if who == "unknown_user":
        assert isinstance(err.value, UnknownUser)
    await hass.async_block_till_done()
    assert snapshot(hass, loaded_site) == before

    # The same call is fine for an administrator: only the user was wrong.
    await call_as(hass, action, data, hass_admin_user.id)
    await hass.async_block_till_done()
    if action != "list_keys":
        assert snapshot(hass, loaded_site) != before


# Entity actions that change access, and the entity state each one leads to.
ACCESS_ENTITY_ACTIONS = [
    ("switch", "turn_on", "switch.plumber_access", "on"),
    ("switch", "toggle", "switch.plumber_access", "on"),
    ("switch", "turn_off", "switch.plumber_access", "off"),
]


@pytest.fixture
async def hass_plain_user(
    hass: HomeAssistant, local_auth: homeassistant.HassAuthProvider
) -> MockUser:
    """A non-admin user with the ordinary users' rights (may control entities)."""
    group = await hass.auth.async_get_group(GROUP_ID_USER)
    return MockUser(groups=[group]).add_to_hass(hass)


async def _entity_call(
    hass: HomeAssistant, domain: str, action: str, entity_id: str, user_id: str | None
) -> None:
    await hass.services.async_call(
        domain,
        action,
        {"entity_id": entity_id},
        blocking=True,
        context=Context(user_id=user_id),
    )


@pytest.mark.parametrize(
    ("domain", "action", "entity_id", "after"), ACCESS_ENTITY_ACTIONS
)
@pytest.mark.parametrize("who", ["plain_user", "unknown_user"])
async def test_only_admins_change_access_through_entities(
    hass: HomeAssistant,
    loaded_site: MockConfigEntry,
    hass_plain_user: MockUser,
    hass_admin_user: User,
    domain: str,
    action: str,
    entity_id: str,
    after: str,
    who: str,
) -> None:
    """A non-admin cannot unblock (or block) a keyholder through its switch."""
    await prepared_site(hass, loaded_site)
    if after == "off":
        await hass.services.async_call(
            DOMAIN, "unblock_user", {"keyholder": "Plumber"}, blocking=True
        )
    before = snapshot(hass, loaded_site)
    state_before = hass.states.get(entity_id)
    assert state_before is not None
    assert state_before.state != after
    user_id = hass_plain_user.id if who == "plain_user" else "no-such-user"
    assert not hass_plain_user.is_admin

    with pytest.raises(Unauthorized) as err:
        await _entity_call(hass, domain, action, entity_id, user_id)
    if who == "unknown_user":
        assert isinstance(err.value, UnknownUser)
    await hass.async_block_till_done()
    assert snapshot(hass, loaded_site) == before
    state = hass.states.get(entity_id)
    assert state is not None
    assert state.state == state_before.state

    await _entity_call(hass, domain, action, entity_id, hass_admin_user.id)
    await hass.async_block_till_done()
    assert snapshot(hass, loaded_site) != before
    state = hass.states.get(entity_id)
    assert state is not None
    assert state.state == after


@pytest.mark.parametrize(
    ("domain", "action", "entity_id", "after"), ACCESS_ENTITY_ACTIONS
)
async def test_automations_change_access_through_entities(
    hass: HomeAssistant,
    loaded_site: MockConfigEntry,
    domain: str,
    action: str,
    entity_id: str,
    after: str,
) -> None:
    """Automations and scripts (no user in the context) keep working."""
    await prepared_site(hass, loaded_site)
    if after == "off":
        await hass.services.async_call(
            DOMAIN, "unblock_user", {"keyholder": "Plumber"}, blocking=True
        )
    await _entity_call(hass, domain, action, entity_id, None)
    await hass.async_block_till_done()
    state = hass.states.get(entity_id)
    assert state is not None
    assert state.state == after
    blocked = loaded_site.runtime_data.queries.keyholder(PLUMBER).blocked
    assert blocked is (after == "off")


async def test_plain_users_still_use_keys(
    hass: HomeAssistant, loaded_site: MockConfigEntry, hass_plain_user: MockUser
) -> None:
    """Unlocking with a code is using a key, not changing access: open to users."""
    key = await issue(hass)
    await hass.services.async_call(
        "lock",
        "unlock",
        {"entity_id": "lock.front_door", "code": key["passcode"]},
        blocking=True,
        context=Context(user_id=hass_plain_user.id),
    )
    state = hass.states.get("lock.front_door")
    assert state is not None
    assert state.state == "unlocked"
