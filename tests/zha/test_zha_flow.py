"""Adding and changing a ZHA lock through the lock subentry flow."""

from __future__ import annotations

from typing import Any

from homeassistant import config_entries
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.keyholder.families.zha import ZhaLock

from ..helpers import pins
from ..zha_sim import ZhaFactory


async def _zha_step(hass: HomeAssistant, entry: MockConfigEntry) -> Any:
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, "lock"), context={"source": config_entries.SOURCE_USER}
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"provider": "zha"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "zha"
    return result


async def test_add_and_reconfigure_a_zha_lock(
    hass: HomeAssistant, loaded_site: MockConfigEntry, zha_lock: ZhaFactory
) -> None:
    zha = await zha_lock()
    lock = {
        "name": "Back door",
        "lock_entity": zha.entity_id,
        "first_slot": 3,
        "slots": 12,
        "pin_min": 4,
        "pin_max": 6,
    }
    result = await hass.config_entries.subentries.async_init(
        (loaded_site.entry_id, "lock"), context={"source": config_entries.SOURCE_USER}
    )
    options = result["data_schema"].schema["provider"].config["options"]
    assert "zha" in options
    result = await _zha_step(hass, loaded_site)
    flow_id = result["flow_id"]
    schema = result["data_schema"].schema
    defaults = {str(key): key.default() for key in schema if str(key) != "lock_entity"}
    assert defaults == {
        "name": "",
        "first_slot": 1,
        "slots": 20,
        "pin_min": 4,
        "pin_max": 8,
    }
    selector = next(value for key, value in schema.items() if key == "lock_entity")
    assert selector.config["integration"] == "zha"
    assert selector.config["domain"] == ["lock"]

    for bad, error in (
        ({**lock, "name": "front door"}, {"name": "lock_exists"}),
        ({**lock, "name": " "}, {"name": "name_required"}),
        ({**lock, "pin_min": 8, "pin_max": 6}, {"pin_max": "pin_range"}),
    ):
        result = await hass.config_entries.subentries.async_configure(flow_id, bad)
        assert result["type"] is FlowResultType.FORM
        assert result["errors"] == error

    result = await hass.config_entries.subentries.async_configure(
        flow_id, {**lock, "name": " Back door "}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    lock_id, sub = next(
        (sid, s) for sid, s in loaded_site.subentries.items() if s.title == "Back door"
    )
    assert sub.data == {**lock, "provider": "zha"}
    provider = loaded_site.runtime_data.locks[lock_id].provider
    assert isinstance(provider, ZhaLock)
    assert provider.entity_id == zha.entity_id
    assert pins(provider.capabilities).first == 3
    assert pins(provider.capabilities).last == 14
    assert provider.capabilities.can_read_back is False
    sync = hass.states.get("sensor.back_door_sync")
    assert sync is not None
    assert sync.state == "in_sync"

    # The same lock entity cannot be added twice.
    result = await _zha_step(hass, loaded_site)
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {**lock, "name": "Side door"}
    )
    assert result["errors"] == {"lock_entity": "entity_in_use"}

    result = await loaded_site.start_subentry_reconfigure_flow(hass, lock_id)
    assert result["step_id"] == "zha"
    schema = {str(key): key for key in result["data_schema"].schema}
    assert schema["slots"].default() == 12
    # Its own entity is not "in use" when the lock itself is reconfigured.
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {**lock, "slots": 30, "pin_max": 8}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert loaded_site.subentries[lock_id].data == {
        **lock,
        "slots": 30,
        "pin_max": 8,
        "provider": "zha",
    }
    await hass.async_block_till_done()
    assert await hass.config_entries.async_unload(loaded_site.entry_id)
