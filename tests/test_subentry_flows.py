"""Tests for the lock and keyholder subentry flows."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from homeassistant import config_entries
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType, InvalidData
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.keyholder.families import ProviderError
from custom_components.keyholder.families.virtual import VirtualLock

from .conftest import LOCK_FRONT, PLUMBER
from .helpers import P

LOCK = {"name": "Back door", "slots": 12, "pin_min": 4, "pin_max": 6}


async def _start(hass: HomeAssistant, entry: MockConfigEntry, kind: str) -> dict:
    return await hass.config_entries.subentries.async_init(
        (entry.entry_id, kind), context={"source": config_entries.SOURCE_USER}
    )


async def test_add_virtual_lock(
    hass: HomeAssistant, loaded_site: MockConfigEntry
) -> None:
    result = await _start(hass, loaded_site, "lock")
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"provider": "virtual"}
    )
    assert result["step_id"] == "virtual"

    for bad, error in (
        ({**LOCK, "name": " "}, {"name": "name_required"}),
        ({**LOCK, "name": "front DOOR"}, {"name": "lock_exists"}),
        ({**LOCK, "pin_min": 8, "pin_max": 6}, {"pin_max": "pin_range"}),
    ):
        result = await hass.config_entries.subentries.async_configure(
            result["flow_id"], bad
        )
        assert result["type"] is FlowResultType.FORM
        assert result["errors"] == error

    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], LOCK
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Back door"
    await hass.async_block_till_done()
    added = [s for s in loaded_site.subentries.values() if s.title == "Back door"]
    assert added[0].data == {**LOCK, "provider": "virtual"}
    # The site reloaded with the new lock and its entities.
    assert hass.states.get("lock.back_door") is not None
    assert hass.states.get("sensor.back_door_sync").state == "in_sync"


async def test_reconfigure_lock(
    hass: HomeAssistant, loaded_site: MockConfigEntry
) -> None:
    result = await loaded_site.start_subentry_reconfigure_flow(hass, LOCK_FRONT)
    assert result["step_id"] == "virtual"
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {**LOCK, "name": "Garage"}
    )
    assert result["errors"] == {"name": "lock_exists"}
    # Its own name is fine.
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {**LOCK, "name": "Front door", "slots": 30}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert loaded_site.subentries[LOCK_FRONT].data["slots"] == 30


async def test_virtual_lock_write_delay(
    hass: HomeAssistant, loaded_site: MockConfigEntry
) -> None:
    result = await _start(hass, loaded_site, "lock")
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"provider": "virtual"}
    )
    for bad in (-1, 30.5):
        with pytest.raises(InvalidData):
            await hass.config_entries.subentries.async_configure(
                result["flow_id"], {**LOCK, "write_delay": bad}
            )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {**LOCK, "write_delay": 0.2}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == {**LOCK, "write_delay": 0.2, "provider": "virtual"}
    await hass.async_block_till_done()
    lock_id = next(
        sid for sid, sub in loaded_site.subentries.items() if sub.title == "Back door"
    )
    lock = loaded_site.runtime_data.locks[lock_id].provider
    assert isinstance(lock, VirtualLock)

    # A write takes the simulated radio's time ...
    loop = asyncio.get_running_loop()
    started = loop.time()
    await lock.async_set_credential(P(1), "4711")
    assert loop.time() - started >= 0.2
    assert lock.codes[P(1)] == "4711"
    # ... and fails when the lock drops offline meanwhile.
    writing = hass.async_create_task(lock.async_set_credential(P(2), "5813"))
    await asyncio.sleep(0.05)
    assert P(2) not in lock.codes
    lock.online = False
    with pytest.raises(ProviderError):
        await writing
    assert P(2) not in lock.codes

    # Back to no delay: the option leaves the lock's data.
    result = await loaded_site.start_subentry_reconfigure_flow(hass, lock_id)
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {**LOCK, "write_delay": 0}
    )
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert loaded_site.subentries[lock_id].data == {**LOCK, "provider": "virtual"}
    lock = loaded_site.runtime_data.locks[lock_id].provider
    assert isinstance(lock, VirtualLock)
    assert lock.write_delay == 0


async def test_add_keyholder(hass: HomeAssistant, loaded_site: MockConfigEntry) -> None:
    result = await _start(hass, loaded_site, "keyholder")
    assert result["type"] is FlowResultType.FORM
    # Dates relative to today: the person starts in ten days (upcoming).
    today = dt_util.now().date()
    details = {
        "given_name": " Carla ",
        "family_name": "Cleaner",
        "email": "carla@example.com",
        "role": "keyholder",
        "active_from": f"{today + timedelta(days=10)} 08:00:00",
        "expires_on": str(today + timedelta(days=120)),
    }
    for bad, error in (
        ({**details, "given_name": " "}, {"given_name": "name_required"}),
        (
            {**details, "given_name": "alice", "family_name": "owner"},
            {"given_name": "keyholder_exists"},
        ),
        ({**details, "email": "not-an-email"}, {"email": "invalid_email"}),
        (
            {**details, "expires_on": str(today + timedelta(days=9))},
            {"expires_on": "expires_before_active"},
        ),
    ):
        result = await hass.config_entries.subentries.async_configure(
            result["flow_id"], bad
        )
        assert result["type"] is FlowResultType.FORM
        assert result["errors"] == error
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], details
    )
    assert result["step_id"] == "access"
    result = await hass.config_entries.subentries.async_configure(result["flow_id"], {})
    assert result["step_id"] == "key"
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"key": "none"}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "keyholder_added_no_key"
    assert result["description_placeholders"] == {"name": "Carla Cleaner", "doors": "-"}
    (added,) = (
        sub for sub in loaded_site.subentries.values() if sub.title == "Carla Cleaner"
    )
    assert dict(added.data) == {**details, "given_name": "Carla"}
    await hass.async_block_till_done()
    assert hass.states.get("sensor.carla_cleaner_status").state == "upcoming"
    assert hass.states.get("switch.carla_cleaner_access").state == "on"

    # A second person with the same e-mail is refused.
    result = await _start(hass, loaded_site, "keyholder")
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {"given_name": "Dora", "email": "CARLA@example.com", "role": "keyholder"},
    )
    assert result["errors"] == {"email": "email_exists"}


async def test_reconfigure_keyholder(
    hass: HomeAssistant, loaded_site: MockConfigEntry
) -> None:
    result = await loaded_site.start_subentry_reconfigure_flow(hass, PLUMBER)
    assert result["step_id"] == "user"
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {"given_name": "Plumber", "family_name": "Joe", "role": "keyholder"},
    )
    assert result["step_id"] == "access"
    result = await hass.config_entries.subentries.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert loaded_site.subentries[PLUMBER].title == "Plumber Joe"
    assert loaded_site.runtime_data.site.keyholders[PLUMBER].name == "Plumber Joe"
