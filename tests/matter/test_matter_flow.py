"""Adding and changing a Matter lock through the lock subentry flow."""

from __future__ import annotations

from homeassistant import config_entries
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.keyholder.families.matter import MatterLock

from ..helpers import pins
from .sim import MatterFactory


async def _start(hass: HomeAssistant, site: MockConfigEntry) -> dict[str, object]:
    result = await hass.config_entries.subentries.async_init(
        (site.entry_id, "lock"), context={"source": config_entries.SOURCE_USER}
    )
    assert result["step_id"] == "user"
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"provider": "matter"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "matter"
    return dict(result)


async def test_add_and_reconfigure_a_matter_lock(
    hass: HomeAssistant, loaded_site: MockConfigEntry, matter_lock: MatterFactory
) -> None:
    harness = await matter_lock(pins=12, pin_min=4, pin_max=10)
    harness.lock.seed(1, "9911")
    result = await _start(hass, loaded_site)
    schema = {str(key): key for key in result["data_schema"].schema}  # type: ignore[attr-defined]
    selector = schema["lock_entity"]
    assert result["data_schema"].schema[selector].config == {  # type: ignore[attr-defined]
        "integration": "matter",
        "domain": ["lock"],
        "multiple": False,
        "reorder": False,
    }
    lock = {"name": "Back door", "lock_entity": harness.entity_id}

    for bad, error in (
        ({**lock, "name": "front door"}, {"name": "lock_exists"}),
        ({**lock, "name": "  "}, {"name": "name_required"}),
    ):
        result = dict(
            await hass.config_entries.subentries.async_configure(
                str(result["flow_id"]), bad
            )
        )
        assert result["type"] is FlowResultType.FORM
        assert result["errors"] == error

    result = dict(
        await hass.config_entries.subentries.async_configure(
            str(result["flow_id"]), {**lock, "name": " Back door "}
        )
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    lock_id, sub = next(
        (sid, s) for sid, s in loaded_site.subentries.items() if s.title == "Back door"
    )
    assert sub.data == {**lock, "provider": "matter"}
    provider = loaded_site.runtime_data.locks[lock_id].provider
    assert isinstance(provider, MatterLock)
    # The lock was read: its capacities are known, its own code is left alone.
    assert pins(provider.capabilities).last == 12
    assert provider.capabilities.pin_max == 10
    sync = hass.states.get("sensor.back_door_sync")
    assert sync is not None
    assert sync.state == "in_sync"
    assert sync.attributes["unmanaged_slots"] == [1]

    # The same lock entity cannot be added twice.
    result = await _start(hass, loaded_site)
    result = dict(
        await hass.config_entries.subentries.async_configure(
            str(result["flow_id"]), {**lock, "name": "Side door"}
        )
    )
    assert result["errors"] == {"lock_entity": "entity_in_use"}

    result = dict(await loaded_site.start_subentry_reconfigure_flow(hass, lock_id))
    assert result["step_id"] == "matter"
    result = dict(
        await hass.config_entries.subentries.async_configure(
            str(result["flow_id"]), {**lock, "name": "Garden door"}
        )
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert loaded_site.subentries[lock_id].data == {
        "name": "Garden door",
        "lock_entity": harness.entity_id,
        "provider": "matter",
    }
    assert loaded_site.subentries[lock_id].title == "Garden door"
    await hass.async_block_till_done()
    assert await hass.config_entries.async_unload(loaded_site.entry_id)
