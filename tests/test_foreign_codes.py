"""Codes already on a lock (slots Keyholder does not manage) are never handed out."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
import json
import logging
from pathlib import Path
import shutil
from typing import Any
from zoneinfo import ZoneInfo

from freezegun.api import FrozenDateTimeFactory
from homeassistant.auth.models import User
from homeassistant.components.conversation import async_converse
from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.keyholder.access.keys import async_reschedule_key
from custom_components.keyholder.const import DOMAIN
from custom_components.keyholder.model import passcode as passcode_module

from .conftest import LOCK_FRONT, LOCK_GARAGE
from .helpers import P, by_slot, issue
from .test_bookings import (
    BOOKING,
    add_booking,
    add_notify_entity,
    create_event,
    setup_calendar,
)

BERLIN = ZoneInfo("Europe/Berlin")
MONDAY = datetime(2026, 11, 30, 9, 0, tzinfo=BERLIN)
OWNER_CODE = "2580"
OWNER_SLOT = 7
SENTENCES = Path(__file__).resolve().parent.parent / "custom_sentences"


@pytest.fixture
async def site(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    berlin: None,
    site_entry: MockConfigEntry,
) -> MockConfigEntry:
    """The site, with an owner code in a slot of the front door it did not write."""
    freezer.move_to(MONDAY)
    site_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(site_entry.entry_id)
    await hass.async_block_till_done()
    runtime = site_entry.runtime_data
    runtime.locks[LOCK_FRONT].provider.codes[P(OWNER_SLOT)] = OWNER_CODE
    await runtime.async_apply_changes()
    assert runtime.lock_status[LOCK_FRONT].unmanaged == (P(OWNER_SLOT),)
    return site_entry


def front_codes(entry: MockConfigEntry) -> dict[int, str]:
    return by_slot(entry.runtime_data.locks[LOCK_FRONT].provider.codes)


class ScriptedRandom:
    """Hands out the digits of the given codes, one code after another."""

    def __init__(self, *codes: str) -> None:
        self._digits: Iterator[str] = iter("".join(codes))

    def choice(self, _digits: str) -> str:
        return next(self._digits)


@pytest.fixture
def draws(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Make each generation draw the codes in this list, in order."""
    queue: list[str] = []

    def _system_random() -> ScriptedRandom:
        return ScriptedRandom(*queue)

    monkeypatch.setattr(passcode_module.secrets, "SystemRandom", _system_random)
    return queue


async def test_own_passcode_on_the_lock_is_refused(
    hass: HomeAssistant, site: MockConfigEntry, caplog: pytest.LogCaptureFixture
) -> None:
    """The owner's code is refused as an own passcode; nothing changes."""
    caplog.set_level(logging.DEBUG)
    runtime = site.runtime_data
    keys_before = dict(runtime.site.keys)
    with pytest.raises(ServiceValidationError) as err:
        await issue(hass, passcode=OWNER_CODE)
    assert err.value.translation_key == "passcode_on_lock"
    assert err.value.translation_placeholders == {"lock": "Front door"}
    assert str(err.value) == (
        "This passcode is already on Front door (a code Keyholder does not "
        "manage); choose another"
    )
    # Named among other locks, it is still refused.
    with pytest.raises(ServiceValidationError) as err:
        await issue(hass, locks=["Garage", "Front door"], passcode=OWNER_CODE)
    assert err.value.translation_key == "passcode_on_lock"
    assert runtime.site.keys == keys_before
    assert front_codes(site) == {OWNER_SLOT: OWNER_CODE}
    # Another lock does not hold it: there it is a fine code.
    garage = await issue(hass, locks=["Garage"], passcode=OWNER_CODE)
    assert garage["passcode"] == OWNER_CODE
    # The owner's code never shows in logs or the sync sensor.
    assert not [
        r
        for r in caplog.records
        if r.name.startswith("custom_components.keyholder")
        and OWNER_CODE in r.getMessage()
    ]
    sync = hass.states.get("sensor.front_door_sync")
    assert OWNER_CODE not in json.dumps(dict(sync.attributes), default=str)


async def test_new_own_passcode_on_the_lock_is_refused(
    hass: HomeAssistant, site: MockConfigEntry
) -> None:
    key = await issue(hass)
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN,
            "generate_passcode",
            {"key_id": key["key_id"], "passcode": OWNER_CODE},
            blocking=True,
            return_response=True,
        )
    assert err.value.translation_key == "passcode_on_lock"
    assert site.runtime_data.site.keys[key["key_id"]].secret == key["passcode"]


async def test_generated_passcodes_avoid_codes_on_the_lock(
    hass: HomeAssistant, site: MockConfigEntry, draws: list[str]
) -> None:
    """The generator draws the owner's code first: it is skipped, every time."""
    # Four digits, like the owner's code.
    await hass.config_entries.async_unload(site.entry_id)
    hass.config_entries.async_update_entry(
        site, data={**site.data, "passcode_length": len(OWNER_CODE)}
    )
    assert await hass.config_entries.async_setup(site.entry_id)
    await hass.async_block_till_done()
    runtime = site.runtime_data
    assert runtime.queries.foreign_codes([LOCK_FRONT]) == {OWNER_CODE: LOCK_FRONT}

    draws[:] = [OWNER_CODE, "1357"]
    issued = await issue(hass)
    assert issued["passcode"] == "1357"

    draws[:] = [OWNER_CODE, "9642"]
    response: Any = await hass.services.async_call(
        DOMAIN,
        "generate_passcode",
        {"key_id": issued["key_id"]},
        blocking=True,
        return_response=True,
    )
    assert response["passcode"] == "9642"
    assert sorted(front_codes(site).values()) == sorted([OWNER_CODE, "9642"])

    # On a lock without that code the same draw is a fine code.
    draws[:] = [OWNER_CODE]
    assert (await issue(hass, locks=["Garage"]))["passcode"] == OWNER_CODE


async def test_moving_a_key_onto_a_lock_holding_its_code_is_refused(
    hass: HomeAssistant, site: MockConfigEntry
) -> None:
    """A booking guest's key moved to more locks: the code must be free there too."""
    runtime = site.runtime_data
    garage = await issue(hass, locks=["Garage"], passcode=OWNER_CODE)
    key = runtime.site.keys[garage["key_id"]]
    with pytest.raises(ServiceValidationError) as err:
        await async_reschedule_key(
            runtime, key.id, key.schedule, frozenset({LOCK_GARAGE, LOCK_FRONT})
        )
    assert err.value.translation_key == "passcode_on_lock"
    assert runtime.site.keys[key.id].lock_ids == {LOCK_GARAGE}


async def test_adopting_the_code_still_works(
    hass: HomeAssistant, site: MockConfigEntry
) -> None:
    """Adopted, the owner's code is a key of Keyholder's: no longer someone else's."""
    runtime = site.runtime_data
    result: Any = await hass.services.async_call(
        DOMAIN,
        "adopt_code",
        {
            "keyholder": "Alice Owner",
            "lock": "Front door",
            "slot": OWNER_SLOT,
            "name": "Owner code",
        },
        blocking=True,
        return_response=True,
    )
    assert runtime.site.keys[result["key_id"]].secret == OWNER_CODE
    assert runtime.queries.foreign_codes([LOCK_FRONT]) == {}
    assert front_codes(site) == {OWNER_SLOT: OWNER_CODE}
    # Now another key of Keyholder's holds it: still refused, as any code in use.
    with pytest.raises(ServiceValidationError) as err:
        await issue(hass, passcode=OWNER_CODE)
    assert err.value.translation_key == "passcode_in_use"


async def test_voice_grant_refuses_a_code_on_the_lock(
    hass: HomeAssistant,
    tmp_path: Path,
    site: MockConfigEntry,
    hass_admin_user: User,
) -> None:
    """The keyholder's passcode is an owner code on the door: no voice key."""
    hass.config.config_dir = str(tmp_path)
    shutil.copytree(SENTENCES, tmp_path / "custom_sentences")
    assert await async_setup_component(hass, "homeassistant", {})
    assert await async_setup_component(hass, "conversation", {})
    assert await async_setup_component(hass, "intent", {})
    await hass.async_block_till_done()
    await issue(hass, locks=["Garage"], passcode=OWNER_CODE)
    result = await async_converse(
        hass,
        "give plumber access to the front door tomorrow",
        None,
        Context(user_id=hass_admin_user.id),
        language="en",
    )
    speech = result.response.speech["plain"]["speech"]
    assert speech == (
        "Plumber's passcode is already on Front door as a code Keyholder does not "
        "manage: give them another passcode in Keyholder"
    )
    assert OWNER_CODE not in speech
    assert not [k for k in site.runtime_data.site.keys.values() if k.name == "Voice"]


async def test_booking_guest_codes_avoid_codes_on_the_lock(
    hass: HomeAssistant,
    tmp_path: Path,
    freezer: FrozenDateTimeFactory,
    berlin: None,
    site_entry: MockConfigEntry,
    draws: list[str],
) -> None:
    """A guest from the booking calendar never gets a code the door already holds."""
    await setup_calendar(hass, tmp_path, freezer)
    await add_notify_entity(hass)
    site_entry.add_to_hass(hass)
    add_booking(hass, site_entry)
    assert await hass.config_entries.async_setup(site_entry.entry_id)
    await hass.async_block_till_done()
    runtime = site_entry.runtime_data
    owner_code = "258013"  # as long as the site's generated codes
    runtime.locks[LOCK_FRONT].provider.codes[P(OWNER_SLOT)] = owner_code
    await runtime.async_apply_changes()

    draws[:] = [owner_code, "135792"]
    await create_event(hass)
    (key,) = runtime.site.keys_of(BOOKING)
    assert key.secret == "135792"
