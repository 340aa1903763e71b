"""The Z-Wave JS provider against Home Assistant's zwave_js actions (faked).

The real Z-Wave JS stack is exercised by tests/e2e; these tests cover the
provider's own logic and error paths quickly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant import config_entries
from homeassistant.components.zwave_js import helpers as zwave_helpers
from homeassistant.config_entries import ConfigSubentryData
from homeassistant.const import EVENT_CALL_SERVICE
from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
)
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import (
    device_registry as dr,
    entity_registry as er,
    issue_registry as ir,
)
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
    async_fire_time_changed,
)

from custom_components.keyholder.const import DOMAIN, EVENT_ACCESS, EVENT_ALERT
from custom_components.keyholder.families import ProviderError
from custom_components.keyholder.families.zwave_js import ZwaveJSLock
from custom_components.keyholder.sync.alerts import alert_issue_id

from .conftest import PLUMBER, _keyholder
from .helpers import P, async_add_zwave_lock, issue, pins

ZLOCK = "lock.z_front"
LOCK_ID = "lock_zfront"


@dataclass
class FakeNode:
    """What a Z-Wave lock node holds, as zwave_js's actions show it."""

    slots: int = 20
    codes: dict[int, str] = field(default_factory=dict)
    masked: bool = False
    lag: bool = False
    fail: bool = False
    pending: dict[int, str | None] = field(default_factory=dict)
    writes: list[tuple[str, int]] = field(default_factory=list)
    # Called when the node refuses a code another slot holds (None: it takes it).
    on_duplicate: Callable[[], None] | None = None

    def flush(self) -> None:
        for slot, code in self.pending.items():
            if code is None:
                self.codes.pop(slot, None)
            else:
                self.codes[slot] = code
        self.pending.clear()

    def _write(self, slot: int, code: str | None) -> None:
        if self.fail:
            raise HomeAssistantError("Node 5 is dead")
        self.writes.append(("set" if code else "clear", slot))
        if self.on_duplicate and code in {
            c for s, c in self.codes.items() if s != slot
        }:
            self.on_duplicate()  # acknowledged, not stored, reported
            return
        self.pending[slot] = code
        if not self.lag:
            self.flush()


@pytest.fixture
def node(hass: HomeAssistant) -> FakeNode:
    fake = FakeNode()

    def get_codes(call: ServiceCall) -> ServiceResponse:
        if fake.fail:
            raise HomeAssistantError("Node 5 is dead")
        return {
            ZLOCK: {
                str(slot): {
                    "usercode": (
                        "*" * len(fake.codes[slot]) if fake.masked else fake.codes[slot]
                    )
                    if slot in fake.codes
                    else "",
                    "in_use": slot in fake.codes,
                }
                for slot in range(1, fake.slots + 1)
            }
        }

    def set_code(call: ServiceCall) -> None:
        # Keyholder writes codes through the entity, never through the action.
        raise AssertionError("set_lock_usercode called as an action")

    def clear_code(call: ServiceCall) -> None:
        fake._write(call.data["code_slot"], None)

    hass.services.async_register(
        "zwave_js",
        "get_lock_usercode",
        get_codes,
        supports_response=SupportsResponse.ONLY,
    )
    hass.services.async_register("zwave_js", "set_lock_usercode", set_code)
    hass.services.async_register("zwave_js", "clear_lock_usercode", clear_code)
    return fake


@pytest.fixture
async def zwave_device(
    hass: HomeAssistant,
    device_registry: dr.DeviceRegistry,
    entity_registry: er.EntityRegistry,
    node: FakeNode,
) -> str:
    """A zwave_js lock entity on its device; returns the device id."""
    zwave_entry = MockConfigEntry(domain="zwave_js", data={"url": "ws://127.0.0.1:1"})
    zwave_entry.add_to_hass(hass)
    device = device_registry.async_get_or_create(
        config_entry_id=zwave_entry.entry_id, identifiers={("zwave_js", "123-5")}
    )
    entity_registry.async_get_or_create(
        "lock",
        "zwave_js",
        "123.5-98-0-currentMode",
        device_id=device.id,
        config_entry=zwave_entry,
        suggested_object_id="z_front",
    )
    entity = await async_add_zwave_lock(
        hass, zwave_entry, "123.5-98-0-currentMode", "123-5", node._write
    )
    assert entity.entity_id == ZLOCK
    return device.id


@pytest.fixture
def seed_codes() -> dict[int, str]:
    """Codes on the lock before Keyholder starts (none by default)."""
    return {}


@pytest.fixture
async def zwave_site(
    hass: HomeAssistant,
    enable_custom_integrations: None,
    berlin: None,
    node: FakeNode,
    zwave_device: str,
    seed_codes: dict[int, str],
) -> MockConfigEntry:
    node.codes.update(seed_codes)
    entry = MockConfigEntry(
        domain=DOMAIN,
        entry_id="site_z",
        title="Home",
        data={"name": "Home", "passcode_length": 6, "booking_grace_minutes": 30},
        subentries_data=[
            ConfigSubentryData(
                data={
                    "name": "Front door",
                    "provider": "zwave_js",
                    "lock_entity": ZLOCK,
                },
                subentry_id=LOCK_ID,
                subentry_type="lock",
                title="Front door",
                unique_id=None,
            ),
            _keyholder(PLUMBER, "Plumber"),
        ],
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


async def settle(hass: HomeAssistant, freezer: FrozenDateTimeFactory) -> None:
    """Let the lock's report catch up and Keyholder read its writes back."""
    freezer.tick(timedelta(seconds=5))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()


@pytest.mark.parametrize("seed_codes", [{1: "9911"}])  # someone else's code
async def test_codes_set_and_cleared_leaving_foreign_slots(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    node: FakeNode,
    zwave_site: MockConfigEntry,
) -> None:
    entry = zwave_site
    calls = async_capture_events(hass, EVENT_CALL_SERVICE)
    key = await issue(hass)
    assert node.codes == {1: "9911", 2: key["passcode"]}
    # Written without an action call: the code is in no call_service event
    # (which the recorder would keep), while clears and reads are actions.
    zwave_calls = [e.data for e in calls if e.data["domain"] == "zwave_js"]
    assert [c["service"] for c in zwave_calls] == ["get_lock_usercode"] * len(
        zwave_calls
    )
    assert zwave_calls
    assert all(key["passcode"] not in repr(e.data) for e in calls)
    assert hass.states.get("sensor.front_door_sync").state == "pending"
    await settle(hass, freezer)
    sync = hass.states.get("sensor.front_door_sync")
    assert sync.state == "in_sync"
    assert sync.attributes["unmanaged_slots"] == [1]
    await hass.services.async_call(
        DOMAIN, "cancel_key", {"key_id": key["key_id"]}, blocking=True
    )
    assert node.codes == {1: "9911"}
    assert ("clear", 1) not in node.writes
    assert pins(entry.runtime_data.locks[LOCK_ID].provider.capabilities).last == 20


async def test_keypad_unlock_is_attributed(
    hass: HomeAssistant, zwave_site: MockConfigEntry, node: FakeNode, zwave_device: str
) -> None:
    accesses = async_capture_events(hass, EVENT_ACCESS)
    key = await issue(hass, uses=2)
    slot = next(s for s, c in node.codes.items() if c == key["passcode"])

    def notify(device_id: str, user_id: int, event: int = 6) -> None:
        hass.bus.async_fire(
            "zwave_js_notification",
            {
                "device_id": device_id,
                "command_class": 113,
                "type": 6,
                "event": event,
                "parameters": {"userId": user_id},
            },
        )

    notify("another-device", slot)
    notify(zwave_device, slot, event=5)  # keypad lock: not an unlock
    await hass.async_block_till_done()
    assert accesses == []
    notify(zwave_device, slot)
    await hass.async_block_till_done()
    assert accesses[-1].data["keyholder"] == "Plumber"
    assert accesses[-1].data["result"] == "unlocked"
    assert (
        hass.states.get("event.front_door_access").attributes["keyholder"] == "Plumber"
    )
    assert zwave_site.runtime_data.site.keys[key["key_id"]].uses == 1
    notify(zwave_device, 17)  # a code Keyholder did not write
    await hass.async_block_till_done()
    assert accesses[-1].data["keyholder"] is None
    # The second use of a two-use code takes it off the lock.
    notify(zwave_device, slot)
    await hass.async_block_till_done()
    assert key["passcode"] not in node.codes.values()


async def test_unavailable_and_failing_lock(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    zwave_site: MockConfigEntry,
    node: FakeNode,
) -> None:
    hass.states.async_set(ZLOCK, "unavailable")
    await issue(hass)
    sync = hass.states.get("sensor.front_door_sync")
    assert sync.state == "failed"
    assert sync.attributes["last_error"] == "lock_offline"
    assert node.codes == {}

    # The node answers but errors: another failure, the retry pause doubles.
    node.fail = True
    hass.states.async_set(ZLOCK, "locked")  # back: Keyholder retries at once
    await hass.async_block_till_done()
    status = zwave_site.runtime_data.lock_status[LOCK_ID]
    assert status.failures == 2
    assert status.last_error == "lock_error"

    # Next time it is back, the code goes on without waiting for the pause.
    node.fail = False
    hass.states.async_set(ZLOCK, "unavailable")
    hass.states.async_set(ZLOCK, "locked")
    await hass.async_block_till_done()
    assert len(node.codes) == 1
    # Written, but failures only clear once the lock reports the code.
    assert hass.states.get("sensor.front_door_sync").state == "failed"
    await settle(hass, freezer)
    assert hass.states.get("sensor.front_door_sync").state == "in_sync"
    assert status.failures == 0


async def test_masked_codes_are_not_rewritten(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    zwave_site: MockConfigEntry,
    node: FakeNode,
) -> None:
    node.masked = True
    key = await issue(hass)
    assert list(node.codes.values()) == [key["passcode"]]
    provider = zwave_site.runtime_data.locks[LOCK_ID].provider
    await settle(hass, freezer)
    await zwave_site.runtime_data.async_retry_now(LOCK_ID)
    assert provider.capabilities.can_read_back is False
    assert node.writes == [("set", 1)]
    assert hass.states.get("sensor.front_door_sync").state == "in_sync"
    await hass.services.async_call(
        DOMAIN, "cancel_key", {"key_id": key["key_id"]}, blocking=True
    )
    assert node.codes == {}


async def test_lagging_driver_values_do_not_cause_rewrites(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    zwave_site: MockConfigEntry,
    node: FakeNode,
) -> None:
    node.lag = True
    key = await issue(hass)
    runtime = zwave_site.runtime_data
    # The driver has not reported the new code yet: no second write, not unmanaged.
    await runtime.async_retry_now(LOCK_ID)
    assert node.writes == [("set", 1)]
    assert runtime.lock_status[LOCK_ID].unmanaged == ()
    assert hass.states.get("sensor.front_door_sync").state == "pending"
    node.flush()
    await settle(hass, freezer)
    assert hass.states.get("sensor.front_door_sync").state == "in_sync"
    await hass.services.async_call(
        DOMAIN, "cancel_key", {"key_id": key["key_id"]}, blocking=True
    )
    # The clear is not reported yet: the stale code is neither rewritten nor adopted.
    await runtime.async_retry_now(LOCK_ID)
    assert node.writes == [("set", 1), ("clear", 1)]
    assert runtime.lock_status[LOCK_ID].unmanaged == ()
    node.flush()
    await settle(hass, freezer)
    assert node.codes == {}
    assert hass.states.get("sensor.front_door_sync").state == "in_sync"


async def test_code_the_lock_does_not_take_fails_and_retries(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    zwave_site: MockConfigEntry,
    node: FakeNode,
) -> None:
    """A lock acknowledges a write but never reports the code: that is a failure."""
    node.lag = True  # writes stay pending: the lock never takes them
    await issue(hass)
    await settle(hass, freezer)
    sync = hass.states.get("sensor.front_door_sync")
    assert sync.state == "failed"
    assert sync.attributes["last_error"] == "write_not_confirmed"
    status = zwave_site.runtime_data.lock_status[LOCK_ID]
    # The retry writes again; once the lock takes it, everything converges.
    node.lag = False
    node.pending.clear()
    freezer.move_to(status.next_retry)
    async_fire_time_changed(hass, status.next_retry)
    await hass.async_block_till_done()
    await settle(hass, freezer)
    assert hass.states.get("sensor.front_door_sync").state == "in_sync"
    assert node.writes == [("set", 1), ("set", 1)]


def _notify_duplicate(
    hass: HomeAssistant, device_id: str, parameters: dict[str, Any] | None = None
) -> None:
    """Fire what zwave_js fires for Access Control event 15 (duplicate code)."""
    hass.bus.async_fire(
        "zwave_js_notification",
        {
            "device_id": device_id,
            "command_class": 113,
            "type": 6,
            "event": 15,
            "event_label": "New user code not added due to duplicate code",
            "parameters": parameters or {},
        },
    )


async def test_duplicate_code_refused_by_the_lock_is_reported_not_resent(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    zwave_site: MockConfigEntry,
    node: FakeNode,
    zwave_device: str,
) -> None:
    """Event 15 after a write: code_duplicate for that key, and no resend loop."""
    node.on_duplicate = lambda: _notify_duplicate(hass, zwave_device)
    start = dt_util.utcnow()
    key = await issue(hass, valid_from=(start + timedelta(hours=1)).isoformat())
    # Meanwhile the owner sets the same code at the lock.
    node.codes[1] = key["passcode"]
    freezer.move_to(start + timedelta(hours=1))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert node.writes == [("set", 2)]
    await settle(hass, freezer)
    sync = hass.states.get("sensor.front_door_sync")
    assert sync.state == "incomplete"
    assert sync.attributes["failures"] == 0
    assert sync.attributes["not_fitting"] == {"code_duplicate": 1}
    listed = await hass.services.async_call(
        DOMAIN, "list_keys", {}, blocking=True, return_response=True
    )
    assert listed is not None
    assert listed["keys"][0]["not_on_locks"] == [  # type: ignore[index]
        {"lock": "Front door", "lock_id": LOCK_ID, "reason": "code_duplicate"}
    ]
    assert ir.async_get(hass).async_get_issue(DOMAIN, f"code_duplicate_{LOCK_ID}")
    # Later passes and retries do not send the refused code again.
    for _ in range(3):
        await zwave_site.runtime_data.async_retry_now(LOCK_ID)
        await settle(hass, freezer)
    assert node.writes == [("set", 2)]
    assert node.codes == {1: key["passcode"]}

    # The owner's code is removed and the user asks to try again (repair flow).
    del node.codes[1]
    zwave_site.runtime_data.placement.forget_refusals(LOCK_ID)
    await zwave_site.runtime_data.async_retry_now(LOCK_ID)
    await settle(hass, freezer)
    # The key had left slot 2 when it was refused; now the lowest is free.
    assert node.codes == {1: key["passcode"]}
    assert node.writes == [("set", 2), ("set", 1)]
    assert hass.states.get("sensor.front_door_sync").state == "in_sync"


async def test_duplicate_report_naming_a_slot(
    hass: HomeAssistant, node: FakeNode, zwave_device: str
) -> None:
    hass.states.async_set(ZLOCK, "locked")
    provider = ZwaveJSLock(hass, ZLOCK)
    unsub = provider.async_listen_usage(lambda ref: None)
    await provider.async_read_credentials()
    await provider.async_set_credential(P(3), "4829")
    await provider.async_set_credential(P(4), "5930")
    _notify_duplicate(hass, zwave_device, {"userId": 4})
    _notify_duplicate(hass, "another-device")
    await hass.async_block_till_done()
    assert provider.refusal(P(3)) is None
    assert provider.refusal(P(4)) == "code_duplicate"
    # Writing the slot again starts afresh.
    await provider.async_set_credential(P(4), "6041")
    assert provider.refusal(P(4)) is None
    unsub()


async def test_provider_rejects_bad_writes(hass: HomeAssistant, node: FakeNode) -> None:
    hass.states.async_set(ZLOCK, "locked")
    provider = ZwaveJSLock(hass, ZLOCK)
    with pytest.raises(ProviderError) as err:
        await provider.async_set_credential(P(31), "4826")
    assert err.value.reason == "slot_out_of_range"
    with pytest.raises(ProviderError) as err:
        await provider.async_set_credential(P(1), "48261357913")
    assert err.value.reason == "code_rejected"
    with pytest.raises(ProviderError) as err:
        await ZwaveJSLock(hass, "lock.missing").async_read_credentials()
    assert err.value.reason == "lock_offline"
    assert node.writes == []


async def test_provider_without_zwave_js(hass: HomeAssistant) -> None:
    hass.states.async_set(ZLOCK, "locked")
    with pytest.raises(ProviderError) as err:
        await ZwaveJSLock(hass, ZLOCK).async_read_credentials()
    assert err.value.reason == "integration_not_loaded"


async def test_zwave_lock_subentry_flow(
    hass: HomeAssistant, zwave_site: MockConfigEntry
) -> None:
    result = await hass.config_entries.subentries.async_init(
        (zwave_site.entry_id, "lock"), context={"source": config_entries.SOURCE_USER}
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"provider": "zwave_js"}
    )
    assert result["step_id"] == "zwave_js"
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"name": "Back door", "lock_entity": ZLOCK}
    )
    assert result["errors"] == {"lock_entity": "entity_in_use"}
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"name": "front door", "lock_entity": ZLOCK}
    )
    assert result["errors"] == {"name": "lock_exists"}

    result = await zwave_site.start_subentry_reconfigure_flow(hass, LOCK_ID)
    assert result["step_id"] == "zwave_js"
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"name": "Main door", "lock_entity": ZLOCK}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert zwave_site.subentries[LOCK_ID].data == {
        "name": "Main door",
        "lock_entity": ZLOCK,
        "provider": "zwave_js",
    }


async def test_adopt_unmanaged_code(
    hass: HomeAssistant, zwave_site: MockConfigEntry, node: FakeNode
) -> None:
    node.codes[3] = "7351"
    await zwave_site.runtime_data.async_retry_now(LOCK_ID)
    assert zwave_site.runtime_data.lock_status[LOCK_ID].unmanaged == (P(3),)

    async def adopt(slot: int) -> Any:
        return await hass.services.async_call(
            DOMAIN,
            "adopt_code",
            {
                "keyholder": "Plumber",
                "lock": "Front door",
                "slot": slot,
                "name": "Old code",
            },
            blocking=True,
            return_response=True,
        )

    with pytest.raises(ServiceValidationError) as err:
        await adopt(4)
    assert err.value.translation_key == "slot_empty"
    node.codes[4] = "1111"
    with pytest.raises(ServiceValidationError) as err:
        await adopt(4)
    assert err.value.translation_key == "passcode_one_digit"
    del node.codes[4]
    result = await adopt(3)
    runtime = zwave_site.runtime_data
    key = runtime.site.keys[result["key_id"]]
    assert key.secret == "7351"
    assert runtime.lock_status[LOCK_ID].unmanaged == ()
    assert node.codes == {3: "7351"}
    assert node.writes == []
    with pytest.raises(ServiceValidationError) as err:
        await adopt(3)
    assert err.value.translation_key == "slot_managed"
    # Adopted means managed: cancelling the key clears the slot.
    await hass.services.async_call(
        DOMAIN, "cancel_key", {"key_id": key.id}, blocking=True
    )
    assert node.codes == {}


async def test_adopt_needs_a_readable_reachable_code(
    hass: HomeAssistant, zwave_site: MockConfigEntry, node: FakeNode
) -> None:
    node.codes[3] = "7351"
    node.masked = True
    data = {"keyholder": "Plumber", "lock": "Front door", "slot": 3}
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(DOMAIN, "adopt_code", data, blocking=True)
    assert err.value.translation_key == "code_masked"
    node.fail = True
    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call(DOMAIN, "adopt_code", data, blocking=True)
    assert err.value.translation_key == "lock_unreachable"
    assert zwave_site.runtime_data.site.keys == {}


# --------------------------------------------------------------------------- v1 alarms


class FakeZwaveNode:
    """The zwave_js_server Node surface the provider uses for alarm reports."""

    def __init__(self, node_id: int = 5) -> None:
        self.node_id = node_id
        self.ready = True
        self.values: dict[str, SimpleNamespace] = {}
        self.listeners: dict[str, list[Callable[[dict[str, Any]], None]]] = {}

    def on(
        self, event: str, callback: Callable[[dict[str, Any]], None]
    ) -> Callable[[], None]:
        self.listeners.setdefault(event, []).append(callback)
        return lambda: self.listeners[event].remove(callback)

    def listening(self) -> bool:
        return any(self.listeners.values())

    def set_value(self, command_class: int, prop: str, value: int) -> None:
        """Store a value and emit its event, as the driver's client does."""
        value_id = f"{self.node_id}-{command_class}-0-{prop}"
        event = "value updated" if value_id in self.values else "value added"
        self.values[value_id] = SimpleNamespace(value=value)
        args = {"commandClass": command_class, "endpoint": 0, "property": prop}
        for callback in list(self.listeners.get(event, [])):
            callback({"args": {**args, "newValue": value}})

    def alarm(self, alarm_type: int, level: int) -> None:
        """A v1 Alarm report: the driver sets alarmType, then alarmLevel."""
        self.set_value(113, "alarmType", alarm_type)
        self.set_value(113, "alarmLevel", level)


@dataclass
class NodeLookup:
    """What zwave_js's node lookup returns (None: it raises ValueError)."""

    node: FakeZwaveNode | None = None
    calls: list[str] = field(default_factory=list)


@pytest.fixture
def zwave_node(monkeypatch: pytest.MonkeyPatch) -> NodeLookup:
    """Serve zwave_js's ``async_get_node_from_entity_id`` from a fake node."""
    lookup = NodeLookup(node=FakeZwaveNode())

    def get_node(hass: HomeAssistant, entity_id: str) -> FakeZwaveNode:
        lookup.calls.append(entity_id)
        if lookup.node is None:
            raise ValueError("Device config entry is not loaded")
        return lookup.node

    monkeypatch.setattr(zwave_helpers, "async_get_node_from_entity_id", get_node)
    return lookup


def notify_unlock(hass: HomeAssistant, device_id: str, slot: int) -> None:
    hass.bus.async_fire(
        "zwave_js_notification",
        {
            "device_id": device_id,
            "command_class": 113,
            "type": 6,
            "event": 6,
            "parameters": {"userId": slot},
        },
    )


async def test_refused_codes_and_lockouts_are_reported(
    hass: HomeAssistant, zwave_site: MockConfigEntry, node: FakeNode, zwave_device: str
) -> None:
    """Invalid codes are denied attempts; a keypad lockout alerts at once."""
    accesses = async_capture_events(hass, EVENT_ACCESS)
    alerts = async_capture_events(hass, EVENT_ALERT)

    def notify(device_id: str, event: int) -> None:
        hass.bus.async_fire(
            "zwave_js_notification",
            {
                "device_id": device_id,
                "command_class": 113,
                "type": 6,
                "event": event,
                "parameters": {},
            },
        )

    notify("another-device", 0x13)
    notify(zwave_device, 0x0F)  # duplicate code on a write: not a guess
    notify(zwave_device, 0x30)  # a right code outside its schedule: no guess
    await hass.async_block_till_done()
    assert accesses == []
    notify(zwave_device, 0x32)  # invalid credential used
    notify(zwave_device, 0x14)  # unlock by RF with an invalid user code
    await hass.async_block_till_done()
    assert [e.data["result"] for e in accesses] == ["denied", "denied"]
    assert alerts == []
    # The lock itself reports that too many codes were typed: alert at once.
    notify(zwave_device, 0x13)
    await hass.async_block_till_done()
    assert accesses[-1].data["result"] == "locked_out"
    assert [(a.data["locked_out"], a.data["attempts"]) for a in alerts] == [(True, 3)]
    found = ir.async_get(hass).async_get_issue(DOMAIN, alert_issue_id(LOCK_ID))
    assert found is not None
    assert found.translation_key == "wrong_codes_locked_out"
    notify(zwave_device, 0x10)  # keypad temporarily disabled: the same run
    await hass.async_block_till_done()
    assert accesses[-1].data["result"] == "locked_out"
    assert len(alerts) == 1
    assert await hass.config_entries.async_unload(zwave_site.entry_id)
    notify(zwave_device, 0x13)
    await hass.async_block_till_done()
    assert len(accesses) == 4


async def test_alarm_keypad_unlock_is_attributed(
    hass: HomeAssistant, zwave_node: NodeLookup, zwave_site: MockConfigEntry
) -> None:
    node = zwave_node.node
    assert node is not None
    assert zwave_node.calls[0] == ZLOCK
    accesses = async_capture_events(hass, EVENT_ACCESS)
    key = await issue(hass)
    runtime = zwave_site.runtime_data
    slot = runtime.site.slots[LOCK_ID][key["key_id"]]

    # Keypad lock (18), manual unlock (22), an unknown type: no unlock.
    node.alarm(18, slot)
    node.alarm(22, 1)
    node.alarm(130, slot)
    node.set_value(98, "alarmLevel", slot)  # another CC's value of that name
    node.ready = False  # interviewed: values may be answers to the driver's queries
    node.alarm(19, slot)
    node.ready = True
    await hass.async_block_till_done()
    assert accesses == []

    node.alarm(19, slot)
    await hass.async_block_till_done()
    assert [e.data["keyholder"] for e in accesses] == ["Plumber"]
    assert accesses[0].data["result"] == "unlocked"
    assert runtime.site.keys[key["key_id"]].uses == 1
    # The same user again at once (one source): another unlock.
    node.alarm(19, slot)
    await hass.async_block_till_done()
    assert runtime.site.keys[key["key_id"]].uses == 2
    # A slot Keyholder did not write: unlocked by someone unknown.
    node.alarm(19, 17)
    await hass.async_block_till_done()
    assert accesses[-1].data["keyholder"] is None
    assert accesses[-1].data["result"] == "unlocked"


async def test_unlock_reported_as_alarm_and_notification_counts_once(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    zwave_node: NodeLookup,
    zwave_site: MockConfigEntry,
    zwave_device: str,
) -> None:
    node = zwave_node.node
    assert node is not None
    key = await issue(hass)
    runtime = zwave_site.runtime_data
    slot = runtime.site.slots[LOCK_ID][key["key_id"]]

    def uses() -> int:
        return runtime.site.keys[key["key_id"]].uses

    # zwave-js sets the values before it emits the notification.
    node.alarm(19, slot)
    notify_unlock(hass, zwave_device, slot)
    await hass.async_block_till_done()
    assert uses() == 1
    # The other order, and another slot in between, still pair up.
    freezer.tick(timedelta(seconds=1))
    notify_unlock(hass, zwave_device, slot)
    await hass.async_block_till_done()
    node.alarm(19, 17)
    node.alarm(19, slot)
    await hass.async_block_till_done()
    assert uses() == 2
    # Reports of the two kinds further apart are two unlocks.
    freezer.tick(timedelta(seconds=5))
    node.alarm(19, slot)
    freezer.tick(timedelta(seconds=5))
    notify_unlock(hass, zwave_device, slot)
    await hass.async_block_till_done()
    assert uses() == 4


async def test_alarm_node_missing_then_loaded_and_replaced(
    hass: HomeAssistant, zwave_node: NodeLookup, zwave_site: MockConfigEntry
) -> None:
    """The node is looked up again when zwave_js loads and when the lock changes."""
    first = zwave_node.node
    assert first is not None
    zwave_node.node = None  # zwave_js unloads: no node
    zwave_entry = hass.config_entries.async_entries("zwave_js")[0]
    zwave_entry.mock_state(hass, config_entries.ConfigEntryState.NOT_LOADED)
    assert not first.listening()
    key = await issue(hass)
    runtime = zwave_site.runtime_data
    slot = runtime.site.slots[LOCK_ID][key["key_id"]]

    # zwave_js writes the entity's state while it is still setting up.
    second = FakeZwaveNode()
    hass.states.async_set(ZLOCK, "unavailable")
    hass.states.async_set(ZLOCK, "locked")
    zwave_entry.mock_state(hass, config_entries.ConfigEntryState.SETUP_IN_PROGRESS)
    assert not second.listening()
    zwave_node.node = second
    zwave_entry.mock_state(hass, config_entries.ConfigEntryState.LOADED)
    first.alarm(19, slot)
    second.alarm(19, slot)
    await hass.async_block_till_done()
    assert runtime.site.keys[key["key_id"]].uses == 1

    # The lock is re-included: a new node object behind the same entity.
    third = FakeZwaveNode()
    zwave_node.node = third
    hass.states.async_set(ZLOCK, "unlocked")
    assert not second.listening()
    second.alarm(19, slot)
    third.alarm(19, slot)
    await hass.async_block_till_done()
    assert runtime.site.keys[key["key_id"]].uses == 2

    # Unloading Keyholder lets go of the node and of zwave_js's entry.
    assert await hass.config_entries.async_unload(zwave_site.entry_id)
    assert not third.listening()
    calls = len(zwave_node.calls)
    zwave_entry.mock_state(hass, config_entries.ConfigEntryState.LOADED)
    hass.states.async_set(ZLOCK, "locked")
    assert len(zwave_node.calls) == calls
