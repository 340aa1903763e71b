"""Tests for the lock and keyholder subentry flows."""

from __future__ import annotations

from homeassistant import config_entries
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from pytest_homeassistant_custom_component.common import MockConfigEntry

from .conftest import LOCK_FRONT, PLUMBER

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


async def test_add_keyholder(hass: HomeAssistant, loaded_site: MockConfigEntry) -> None:
    result = await _start(hass, loaded_site, "keyholder")
    assert result["type"] is FlowResultType.FORM
    details = {
        "given_name": " Carla ",
        "family_name": "Cleaner",
        "email": "carla@example.com",
        "role": "keyholder",
        "active_from": "2026-12-01 08:00:00",
        "expires_on": "2027-03-31",
    }
    for bad, error in (
        ({**details, "given_name": " "}, {"given_name": "name_required"}),
        (
            {**details, "given_name": "alice", "family_name": "owner"},
            {"given_name": "keyholder_exists"},
        ),
        ({**details, "email": "not-an-email"}, {"email": "invalid_email"}),
        (
            {**details, "expires_on": "2026-11-30"},
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
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Carla Cleaner"
    assert result["data"] == {**details, "given_name": "Carla"}
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
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert loaded_site.subentries[PLUMBER].title == "Plumber Joe"
    assert loaded_site.runtime_data.site.keyholders[PLUMBER].name == "Plumber Joe"
