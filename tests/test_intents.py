"""Voice: Keyholder's intents through Home Assistant's own conversation agent."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
import shutil
from zoneinfo import ZoneInfo

from freezegun.api import FrozenDateTimeFactory
from homeassistant.auth.models import User
from homeassistant.components.conversation import async_converse
from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import intent
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.keyholder.const import DOMAIN

from .conftest import LOCK_FRONT, PLUMBER, _keyholder, _lock
from .helpers import by_slot, issue, move_to

SENTENCES = Path(__file__).resolve().parent.parent / "custom_sentences"
BERLIN = ZoneInfo("Europe/Berlin")
MONDAY = datetime(2026, 11, 30, 9, 0, tzinfo=BERLIN)
THURSDAY = datetime(2026, 12, 3, tzinfo=BERLIN)


@pytest.fixture
async def site(
    hass: HomeAssistant,
    tmp_path: Path,
    freezer: FrozenDateTimeFactory,
    berlin: None,
    site_entry: MockConfigEntry,
) -> MockConfigEntry:
    """A loaded site, Assist with Keyholder's sentences, on a Monday morning."""
    freezer.move_to(MONDAY)
    hass.config.config_dir = str(tmp_path)
    shutil.copytree(SENTENCES, tmp_path / "custom_sentences")
    site_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(site_entry.entry_id)
    assert await async_setup_component(hass, "homeassistant", {})
    assert await async_setup_component(hass, "conversation", {})
    assert await async_setup_component(hass, "intent", {})
    await hass.async_block_till_done()
    return site_entry


async def ask(hass: HomeAssistant, text: str, user: User | None) -> tuple[str, str]:
    """Say ``text`` as ``user`` (None: a voice satellite); return type and speech."""
    result = await async_converse(
        hass,
        text,
        None,
        Context(user_id=user.id if user else None),
        language="en",
    )
    response = result.response
    return response.response_type.value, response.speech["plain"]["speech"]


def front_codes(entry: MockConfigEntry) -> dict[int, str]:
    return by_slot(entry.runtime_data.locks[LOCK_FRONT].provider.codes)


async def test_grant_access_for_an_afternoon(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    site: MockConfigEntry,
    hass_admin_user: User,
) -> None:
    # The plumber's usual key: the garage, on Mondays.
    usual = await issue(
        hass, locks=["Garage"], weekdays=["mon"], start_time="08:00", end_time="09:00"
    )
    code = usual["passcode"]
    kind, speech = await ask(
        hass,
        "give plumber access to the front door on thursday from 13 to 17",
        hass_admin_user,
    )
    assert kind == "action_done", speech
    assert speech == (
        "Plumber can open Front door on Thursday from 13:00 to 17:00 with their passcode"
    )
    assert code not in speech
    for at, held in (
        (THURSDAY.replace(hour=12, minute=59, second=59), False),
        (THURSDAY.replace(hour=13), True),
        (THURSDAY.replace(hour=16, minute=59, second=59), True),
        (THURSDAY.replace(hour=17), False),
    ):
        await move_to(hass, freezer, at)
        assert (code in front_codes(site).values()) is held, at


async def test_grant_access_for_a_whole_day(
    hass: HomeAssistant, site: MockConfigEntry, hass_admin_user: User
) -> None:
    await issue(hass, weekdays=["mon"], start_time="08:00", end_time="09:00")
    kind, speech = await ask(
        hass, "let plumber into the garage tomorrow", hass_admin_user
    )
    assert kind == "action_done", speech
    assert speech == (
        "Plumber can open Garage on Tuesday from 00:00 to midnight with their passcode"
    )
    keys = [k for k in site.runtime_data.site.keys.values() if k.name == "Voice"]
    (key,) = keys
    assert key.schedule.valid_from == datetime(
        2026, 11, 30, 23, 0, tzinfo=ZoneInfo("UTC")
    )
    assert key.schedule.valid_until == datetime(
        2026, 12, 1, 23, 0, tzinfo=ZoneInfo("UTC")
    )


@pytest.mark.parametrize("who", ["read_only", "satellite"])
async def test_only_admins_change_access_by_voice(
    hass: HomeAssistant,
    site: MockConfigEntry,
    hass_read_only_user: User,
    who: str,
) -> None:
    await issue(hass)
    keys_before = dict(site.runtime_data.site.keys)
    user = hass_read_only_user if who == "read_only" else None
    for sentence in (
        "give plumber access to the front door tomorrow",
        "block the plumber",
    ):
        kind, speech = await ask(hass, sentence, user)
        assert kind == "error"
        assert "administrator" in speech
    assert site.runtime_data.site.keys == keys_before
    assert not site.runtime_data.site.keyholders[PLUMBER].blocked


async def test_grant_needs_a_passcode_and_a_known_name(
    hass: HomeAssistant, site: MockConfigEntry, hass_admin_user: User
) -> None:
    _, speech = await ask(
        hass, "give plumber access to the front door tomorrow", hass_admin_user
    )
    assert speech == "Plumber has no passcode yet: give them a key in Keyholder first"
    _, speech = await ask(
        hass, "give bob access to the front door tomorrow", hass_admin_user
    )
    assert speech == "There is no keyholder called bob"
    await issue(hass)
    _, speech = await ask(
        hass, "give plumber access to the back door tomorrow", hass_admin_user
    )
    assert speech == "There is no door called back door"
    # A passcode is on a door once: the plumber's key there already has it.
    _, speech = await ask(
        hass, "give plumber access to the front door tomorrow", hass_admin_user
    )
    assert speech == (
        "Plumber's passcode is already in use on Front door by another key: "
        "change that key in Keyholder instead"
    )
    _, speech = await ask(
        hass,
        "give plumber access to the front door today from 17 to 13",
        hass_admin_user,
    )
    assert speech == "The end must be after the start"
    _, speech = await ask(
        hass, "give plumber access to the front door today from 6 to 8", hass_admin_user
    )
    assert speech == "That time has already passed"
    assert [k.name for k in site.runtime_data.site.keys.values()] == [""]


async def test_block_and_unblock(
    hass: HomeAssistant, site: MockConfigEntry, hass_admin_user: User
) -> None:
    code = (await issue(hass))["passcode"]
    assert code in front_codes(site).values()
    kind, speech = await ask(hass, "block the plumber", hass_admin_user)
    assert (kind, speech) == ("action_done", "Plumber is blocked")
    assert code not in front_codes(site).values()
    kind, speech = await ask(hass, "unblock plumber", hass_admin_user)
    assert (kind, speech) == ("action_done", "Plumber can open doors again")
    assert code in front_codes(site).values()


async def test_who_last_unlocked(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    site: MockConfigEntry,
    hass_read_only_user: User,
) -> None:
    _, speech = await ask(hass, "who last unlocked the front door", hass_read_only_user)
    assert speech == "Nobody has opened Front door with a code yet"
    code = (await issue(hass))["passcode"]
    await move_to(hass, freezer, MONDAY.replace(hour=13, minute=5))
    await hass.services.async_call(
        "lock", "unlock", {"entity_id": "lock.front_door", "code": code}, blocking=True
    )
    # Anyone may ask: the answer is what the door's event entity shows.
    kind, speech = await ask(hass, "who opened the front door", hass_read_only_user)
    assert (kind, speech) == ("query_answer", "Plumber unlocked Front door at 13:05")


async def test_last_unlock_is_not_hidden_by_a_later_refused_try(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    site: MockConfigEntry,
    hass_read_only_user: User,
) -> None:
    """Plumber unlocks, a wrong code is typed the same minute: Plumber is named."""
    await move_to(hass, freezer, MONDAY.replace(hour=13, minute=5))
    with pytest.raises(HomeAssistantError):
        await unlock(hass, "000000")
    _, speech = await ask(hass, "who last unlocked the front door", hass_read_only_user)
    assert speech == (
        "Nobody has unlocked Front door with a code yet; the last try, at 13:05, "
        "was refused"
    )
    code = (await issue(hass))["passcode"]
    await move_to(hass, freezer, MONDAY.replace(hour=13, minute=6, second=10))
    await unlock(hass, code)
    freezer.tick(20)
    with pytest.raises(HomeAssistantError):
        await unlock(hass, "000000")
    state = hass.states.get("event.front_door_access")
    assert state.attributes["event_type"] == "denied"
    assert state.attributes["last_unlocked_by"] == "Plumber"

    kind, speech = await ask(
        hass, "who last unlocked the front door", hass_read_only_user
    )

    assert (kind, speech) == ("query_answer", "Plumber unlocked Front door at 13:06")


async def unlock(hass: HomeAssistant, code: str) -> None:
    await hass.services.async_call(
        "lock", "unlock", {"entity_id": "lock.front_door", "code": code}, blocking=True
    )
    await hass.async_block_till_done()


async def test_intents_are_registered_for_llm_agents(
    hass: HomeAssistant, site: MockConfigEntry
) -> None:
    """Every intent describes itself (what an LLM-based agent is shown)."""
    ours = {
        handler.intent_type: handler
        for handler in intent.async_get(hass)
        if handler.intent_type.startswith("Keyholder")
    }
    assert sorted(ours) == [
        "KeyholderBlock",
        "KeyholderGrantAccess",
        "KeyholderLastUnlock",
        "KeyholderUnblock",
    ]
    assert all(handler.description for handler in ours.values())


async def test_grant_never_brings_back_a_withdrawn_code(
    hass: HomeAssistant, site: MockConfigEntry, hass_admin_user: User
) -> None:
    """Only a code of a key that still works is reused, and only if it is the one."""
    leaked = await issue(hass, locks=["Garage"])
    await hass.services.async_call(
        "keyholder", "cancel_key", {"key_id": leaked["key_id"]}, blocking=True
    )
    _, speech = await ask(
        hass, "give plumber access to the front door tomorrow", hass_admin_user
    )
    assert speech == "Plumber has no passcode yet: give them a key in Keyholder first"

    await issue(
        hass, locks=["Garage"], weekdays=["mon"], start_time="08:00", end_time="09:00"
    )
    await issue(
        hass, locks=["Garage"], weekdays=["tue"], start_time="08:00", end_time="09:00"
    )
    _, speech = await ask(
        hass, "give plumber access to the front door tomorrow", hass_admin_user
    )
    assert speech == ("Plumber has more than one passcode: give this key in Keyholder")
    assert not [k for k in site.runtime_data.site.keys.values() if k.name == "Voice"]


async def test_the_site_is_the_one_with_the_keyholder_and_the_door(
    hass: HomeAssistant, site: MockConfigEntry, hass_admin_user: User
) -> None:
    cabin = MockConfigEntry(
        domain=DOMAIN,
        entry_id="site_cabin",
        title="Cabin",
        data={"name": "Cabin", "passcode_length": 6, "booking_grace_minutes": 30},
        subentries_data=[
            _lock("lock_cabin", "Cabin door"),
            _lock("lock_shed", "Shed"),
            _keyholder("kh_cabin_plumber", "Plumber"),
        ],
    )
    cabin.add_to_hass(hass)
    assert await hass.config_entries.async_setup(cabin.entry_id)
    await hass.async_block_till_done()
    code = (await issue(hass, config_entry_id="Cabin", locks=["Shed"]))["passcode"]

    # Only the cabin has a plumber and a cabin door.
    kind, speech = await ask(
        hass, "give plumber access to the cabin door tomorrow", hass_admin_user
    )
    assert kind == "action_done", speech
    cabin_door = cabin.runtime_data.locks["lock_cabin"].provider
    assert [k.name for k in cabin.runtime_data.site.keys.values()] == ["", "Voice"]
    assert code not in cabin_door.codes.values()  # tomorrow
    # Both sites have a plumber: Keyholder asks instead of guessing.
    kind, speech = await ask(hass, "block the plumber", hass_admin_user)
    assert kind == "error"
    assert speech == "plumber is a keyholder in several sites: Cabin, Home"
    assert not site.runtime_data.site.keyholders[PLUMBER].blocked
    assert not cabin.runtime_data.site.keyholders["kh_cabin_plumber"].blocked
