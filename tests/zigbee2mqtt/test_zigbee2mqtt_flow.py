"""Adding and changing a Zigbee2MQTT lock through the lock subentry flow."""

from __future__ import annotations

from homeassistant import config_entries
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.keyholder.families.zigbee2mqtt import Zigbee2MqttLock

from ..helpers import pins

LOCK = {
    "name": "Back door",
    "base_topic": "zigbee2mqtt",
    "device": "Back door lock",
    "slots": 12,
    "pin_min": 4,
    "pin_max": 6,
}


async def test_add_and_reconfigure_a_zigbee2mqtt_lock(
    hass: HomeAssistant, loaded_site: MockConfigEntry
) -> None:
    result = await hass.config_entries.subentries.async_init(
        (loaded_site.entry_id, "lock"), context={"source": config_entries.SOURCE_USER}
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"provider": "zigbee2mqtt"}
    )
    assert result["step_id"] == "zigbee2mqtt"
    schema = {str(key): key for key in result["data_schema"].schema}
    assert schema["base_topic"].default() == "zigbee2mqtt"
    assert schema["slots"].default() == 20

    for bad, error in (
        ({**LOCK, "name": "front door"}, {"name": "lock_exists"}),
        ({**LOCK, "base_topic": "zigbee2mqtt/"}, {"base_topic": "invalid_topic"}),
        ({**LOCK, "device": "lock/#"}, {"device": "invalid_topic"}),
        ({**LOCK, "device": " "}, {"device": "invalid_topic"}),
        ({**LOCK, "pin_min": 8, "pin_max": 6}, {"pin_max": "pin_range"}),
    ):
        result = await hass.config_entries.subentries.async_configure(
            result["flow_id"], bad
        )
        assert result["type"] is FlowResultType.FORM
        assert result["errors"] == error

    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {**LOCK, "device": " Back door lock "}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    lock_id, sub = next(
        (sid, s) for sid, s in loaded_site.subentries.items() if s.title == "Back door"
    )
    assert sub.data == {**LOCK, "provider": "zigbee2mqtt"}
    provider = loaded_site.runtime_data.locks[lock_id].provider
    assert isinstance(provider, Zigbee2MqttLock)
    assert provider.topic == "zigbee2mqtt/Back door lock"
    assert pins(provider.capabilities).last == 11
    # MQTT is not set up in this test: the lock fails, and says why.
    sync = hass.states.get("sensor.back_door_sync")
    assert sync is not None
    assert sync.state == "failed"
    assert sync.attributes["last_error"] == "integration_not_loaded"

    # The same device cannot be added twice.
    result = await hass.config_entries.subentries.async_init(
        (loaded_site.entry_id, "lock"), context={"source": config_entries.SOURCE_USER}
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"provider": "zigbee2mqtt"}
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {**LOCK, "name": "Side door"}
    )
    assert result["errors"] == {"device": "device_in_use"}

    result = await loaded_site.start_subentry_reconfigure_flow(hass, lock_id)
    assert result["step_id"] == "zigbee2mqtt"
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {**LOCK, "base_topic": "z2m", "slots": 30}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert loaded_site.subentries[lock_id].data == {
        **LOCK,
        "base_topic": "z2m",
        "slots": 30,
        "provider": "zigbee2mqtt",
    }
    # Unloading (once reloaded) cancels the failed lock's retry.
    await hass.async_block_till_done()
    assert await hass.config_entries.async_unload(loaded_site.entry_id)
