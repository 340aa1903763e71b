"""Adding a TTLock: the lock subentry step and Bluetooth discovery."""

from __future__ import annotations

import json

from homeassistant import config_entries
from homeassistant.components.bluetooth import BluetoothServiceInfoBleak
from homeassistant.config_entries import ConfigSubentryData
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.loader import async_get_bluetooth
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from ttlock_ble import LockAdvertisement

from custom_components.keyholder.const import DOMAIN
from custom_components.keyholder.families.ttlock import TTLockLock
from custom_components.keyholder.site import build_locks
from custom_components.keyholder.storage.store import SiteData

from ..helpers import P
from ..ttlock_sim import ADDRESS, FakeBluetooth, SimTTLock, ekey_dict, install

EKEY = json.dumps(ekey_dict())


@pytest.fixture
def air(hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch) -> FakeBluetooth:
    """Bluetooth reaching a simulated lock."""
    hass.config.components.add("bluetooth")
    return install(monkeypatch, SimTTLock())


async def _lock_flow(hass: HomeAssistant, entry: MockConfigEntry) -> str:
    result = await hass.config_entries.subentries.async_init(
        (entry.entry_id, "lock"), context={"source": config_entries.SOURCE_USER}
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"provider": "ttlock"}
    )
    assert result["step_id"] == "ttlock"
    return str(result["flow_id"])


async def test_add_and_reconfigure_ttlock(
    hass: HomeAssistant, loaded_site: MockConfigEntry, air: FakeBluetooth
) -> None:
    flow_id = await _lock_flow(hass, loaded_site)
    form = {"name": "Back door", "address": "", "slots": 20}
    for bad, error in (
        ({**form, "ekey": "not json"}, {"ekey": "invalid_ekey"}),
        ({**form, "ekey": ""}, {"ekey": "invalid_ekey"}),
        (
            {**form, "ekey": json.dumps(ekey_dict(aesKeyStr="00"))},
            {"ekey": "invalid_ekey"},
        ),
        (
            {**form, "ekey": json.dumps(ekey_dict(adminPs=""))},
            {"ekey": "ekey_not_admin"},
        ),
        ({**form, "ekey": EKEY, "address": "nowhere"}, {"address": "invalid_address"}),
        ({**form, "ekey": EKEY, "name": "Front door"}, {"name": "lock_exists"}),
    ):
        result = await hass.config_entries.subentries.async_configure(flow_id, bad)
        assert result["type"] is FlowResultType.FORM
        assert result["errors"] == error
        # Nothing entered is shown back in the form's eKey field.
        fields = {str(key): key for key in result["data_schema"].schema}
        assert fields["ekey"].default() == ""

    # A keys.json with just this lock is taken too; the address comes from the eKey.
    result = await hass.config_entries.subentries.async_configure(
        flow_id, {**form, "ekey": json.dumps([ekey_dict()])}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    added = next(s for s in loaded_site.subentries.values() if s.title == "Back door")
    assert added.data == {
        "name": "Back door",
        "provider": "ttlock",
        "address": ADDRESS,
        "ekey": ekey_dict(),
        "slots": 20,
    }
    assert hass.states.get("sensor.back_door_sync").state == "in_sync"

    # The same lock cannot be added twice to the site.
    flow_id = await _lock_flow(hass, loaded_site)
    result = await hass.config_entries.subentries.async_configure(
        flow_id, {**form, "name": "Again", "ekey": EKEY}
    )
    assert result["errors"] == {"address": "ttlock_in_use"}

    # Reconfiguring without pasting the eKey keeps it.
    result = await loaded_site.start_subentry_reconfigure_flow(hass, added.subentry_id)
    assert result["step_id"] == "ttlock"
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {"name": "Back door", "address": ADDRESS.lower(), "ekey": "", "slots": 30},
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    changed = loaded_site.subentries[added.subentry_id]
    assert changed.data["ekey"] == ekey_dict()
    assert changed.data["slots"] == 30


def _discovered(address: str = ADDRESS) -> BluetoothServiceInfoBleak:
    lock = SimTTLock(address=address)
    return FakeBluetooth(lock).service_info()


async def test_discovered_lock_joins_a_site(
    hass: HomeAssistant, loaded_site: MockConfigEntry, air: FakeBluetooth
) -> None:
    result = await hass.config_entries.flow.async_init(
        DOMAIN,
        context={"source": config_entries.SOURCE_BLUETOOTH},
        data=_discovered(),
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "bluetooth_confirm"
    assert result["description_placeholders"]["address"] == ADDRESS
    # A second advertisement does not start a second flow.
    again = await hass.config_entries.flow.async_init(
        DOMAIN,
        context={"source": config_entries.SOURCE_BLUETOOTH},
        data=_discovered(),
    )
    assert again["type"] is FlowResultType.ABORT
    assert again["reason"] == "already_in_progress"

    form = {"site": loaded_site.entry_id, "name": "Shed", "slots": 20}
    for bad, error in (
        ({**form, "ekey": "{}"}, {"ekey": "invalid_ekey"}),
        ({**form, "ekey": EKEY, "name": "Garage"}, {"name": "lock_exists"}),
        ({**form, "ekey": EKEY, "name": " "}, {"name": "lock_name_required"}),
        ({**form, "ekey": EKEY, "name": "Shed\u202e"}, {"name": "name_invalid"}),
        ({**form, "ekey": EKEY, "name": "x" * 65}, {"name": "name_too_long"}),
    ):
        result = await hass.config_entries.flow.async_configure(result["flow_id"], bad)
        assert result["errors"] == error
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {**form, "ekey": EKEY}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "lock_added"
    await hass.async_block_till_done()
    shed = next(s for s in loaded_site.subentries.values() if s.title == "Shed")
    assert shed.data["address"] == ADDRESS
    assert hass.states.get("sensor.shed_sync").state == "in_sync"

    # Known now: discovery leaves it alone.
    result = await hass.config_entries.flow.async_init(
        DOMAIN,
        context={"source": config_entries.SOURCE_BLUETOOTH},
        data=_discovered(),
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_discovery_without_a_site(hass: HomeAssistant) -> None:
    result = await hass.config_entries.flow.async_init(
        DOMAIN,
        context={"source": config_entries.SOURCE_BLUETOOTH},
        data=_discovered(),
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "no_site"
    result = await hass.config_entries.flow.async_init(
        DOMAIN,
        context={"source": config_entries.SOURCE_BLUETOOTH},
        data=_discovered("D1A2B3C4-0000-1111-2222-333344445555"),
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "not_supported"


async def test_manifest_matches_ttlock_advertisements(hass: HomeAssistant) -> None:
    """The matcher's manufacturer id is the V3 header (05 03) TTLocks advertise."""
    matchers = [m for m in await async_get_bluetooth(hass) if m["domain"] == DOMAIN]
    assert matchers == [{"domain": DOMAIN, "manufacturer_id": 773, "connectable": True}]
    info = _discovered()
    assert list(info.manufacturer_data) == [773]
    (payload,) = info.manufacturer_data.values()
    decoded = LockAdvertisement.from_manufacturer_data(773, payload)
    assert decoded is not None
    assert decoded.lock_mac == ADDRESS


async def test_lock_pointed_at_another_ttlock_keeps_a_saved_numbering(
    hass: HomeAssistant,
) -> None:
    """The old lock's numbering is dropped before the new provider gets its own."""
    entry = MockConfigEntry(
        domain="keyholder",
        data={"name": "Home"},
        subentries_data=[
            ConfigSubentryData(
                data={
                    "name": "Shed",
                    "provider": "ttlock",
                    "address": ADDRESS,
                    "ekey": ekey_dict(),
                    "slots": 10,
                },
                subentry_id="lock_shed",
                subentry_type="lock",
                title="Shed",
                unique_id=None,
            )
        ],
    )
    data = SiteData()
    data.virtual["lock_shed"] = {P(1): "4711"}
    data.targets["lock_shed"] = "AA:BB:CC:DD:EE:00"  # the lock it drove before
    locks = build_locks(hass, entry, data)
    provider = locks["lock_shed"].provider
    assert isinstance(provider, TTLockLock)
    assert provider.slot_map == {}
    # What the provider numbers from now on is what the store saves.
    assert provider.slot_map is data.virtual["lock_shed"]
