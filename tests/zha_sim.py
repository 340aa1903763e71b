"""
A Zigbee door lock behind Home Assistant's real zha integration.

The radio is faked where zigpy meets the radio library: ``FakeRadio`` is a zigpy
``ControllerApplication`` whose ``send_packet`` hands every frame to the
simulated devices, which answer with frames of their own through
``packet_received``, as a coordinator would. Everything above that (zigpy's
clusters and request matching, the zha library, Home Assistant's zha entities,
actions and ``zha_event``) is the real code.

``SimLock`` keeps a DoorLock cluster's PIN table: it answers ``set_pin_code``,
``clear_pin_code``, ``set_user_status`` and ``get_pin_code`` (statuses as the
ZCL specifies: a duplicate code or a code of the wrong length is refused with a
failure status), can be taken off the network (frames to it are not delivered)
and sends ``operation_event_notification`` like a real lock's keypad.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
import contextlib
from dataclasses import dataclass, field
import time
from typing import Any
from unittest.mock import patch

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
import zigpy.application
import zigpy.config
import zigpy.device
import zigpy.endpoint
import zigpy.exceptions
from zigpy.profiles import zha as zha_profile
import zigpy.types as t
from zigpy.zcl import foundation
from zigpy.zcl.clusters.closures import DoorLock
from zigpy.zcl.clusters.general import Basic
import zigpy.zdo.types as zdo_t

COORDINATOR_IEEE = t.EUI64.convert("00:15:8d:00:02:32:4f:32")
LOCK_IEEE = t.EUI64.convert("00:0d:6f:00:0a:90:69:e7")
LOCK_NWK = t.NWK(0xB79C)
# A battery-powered end device, as most keypad locks are (zigpy waits for their
# answers APS_REPLY_TIMEOUT_EXTENDED, which the tests shorten).
END_DEVICE_NODE_DESC = b"\x02@\x807\x10\x7fd\x00\x00*d\x00\x00"
REPLY_TIMEOUT = 0.3
COORDINATOR_NODE_DESC = b"\x00@\x8f\x02\x10RR\x00\x00\x00R\x00\x00"

Status = foundation.Status
UserStatus = DoorLock.UserStatus


class FakeRadio(zigpy.application.ControllerApplication):
    """A coordinator whose frames go to simulated devices instead of a radio."""

    def __init__(self, config: dict[str, Any]) -> None:
        """Start with no simulated device."""
        super().__init__(config)
        self.devices_sim: dict[t.NWK, SimLock] = {}

    async def connect(self) -> None:
        """Nothing to connect to."""

    async def disconnect(self) -> None:
        """Nothing to disconnect from."""

    async def start_network(self) -> None:
        """The network is always up."""

    async def force_remove(self, dev: zigpy.device.Device) -> None:
        """Nothing to remove."""

    async def add_endpoint(self, descriptor: zdo_t.SimpleDescriptor) -> None:
        """Nothing to register."""

    async def permit_ncp(self, time_s: int = 60) -> None:
        """Joining is not simulated."""

    async def permit_with_link_key(
        self, node: t.EUI64, link_key: t.KeyData, time_s: int = 60
    ) -> None:
        """Joining is not simulated."""

    async def write_network_info(self, *, network_info: Any, node_info: Any) -> None:
        """Nothing to write."""

    async def load_network_info(self, *, load_devices: bool = False) -> None:
        """The network set up in ``make_radio``, and the coordinator itself."""
        if COORDINATOR_IEEE not in self.devices:
            coordinator = self.add_device(COORDINATOR_IEEE, t.NWK(0x0000))
            coordinator.node_desc = zdo_t.NodeDescriptor.deserialize(
                COORDINATOR_NODE_DESC
            )[0]
            endpoint = coordinator.add_endpoint(1)
            endpoint.profile_id = zha_profile.PROFILE_ID
            endpoint.device_type = zha_profile.DeviceType.CONFIGURATION_TOOL
            endpoint.status = zigpy.endpoint.Status.ZDO_INIT
            coordinator.status = zigpy.device.Status.ENDPOINTS_INIT

    async def reset_network_info(self) -> None:
        """Nothing to reset."""

    async def send_packet(self, packet: t.ZigbeePacket) -> None:
        """Deliver a frame to the simulated device it is addressed to."""
        assert packet.dst is not None
        if packet.dst.addr_mode not in (t.AddrMode.NWK, t.AddrMode.IEEE):
            return  # broadcasts and group casts: nothing answers them
        address = packet.dst.address
        device = next(
            (
                sim
                for sim in self.devices_sim.values()
                if address in (LOCK_NWK, LOCK_IEEE)
            ),
            None,
        )
        if device is None:
            return
        if not device.online:
            raise zigpy.exceptions.DeliveryError("No route to the device")
        device.receive(packet)


def make_radio() -> FakeRadio:
    """Return a coordinator with a formed network and no database."""
    app = FakeRadio(
        {
            zigpy.config.CONF_DATABASE: None,
            zigpy.config.CONF_DEVICE: {zigpy.config.CONF_DEVICE_PATH: "/dev/null"},
            zigpy.config.CONF_NWK_BACKUP_ENABLED: False,
            zigpy.config.CONF_TOPO_SCAN_ENABLED: False,
        }
    )
    app.state.node_info.nwk = t.NWK(0x0000)
    app.state.node_info.ieee = COORDINATOR_IEEE
    app.state.network_info.pan_id = t.PanId(0x1234)
    app.state.network_info.extended_pan_id = COORDINATOR_IEEE
    app.state.network_info.channel = 15
    app.state.network_info.network_key.key = t.KeyData(range(16))
    return app


@dataclass
class SimLock:
    """A Zigbee keypad lock: a PIN table behind the DoorLock cluster."""

    radio: FakeRadio
    users: int = 10
    pin_min: int = 4
    pin_max: int = 8
    online: bool = True
    # user id (0-based, as on the air) -> (status, code)
    table: dict[int, tuple[UserStatus, str]] = field(default_factory=dict)
    # Commands the lock received, by name (never with their codes).
    received: list[str] = field(default_factory=list)
    # Commands of these names are received but never answered.
    silent: set[str] = field(default_factory=set)
    zigpy_device: zigpy.device.Device | None = None

    def pair(self) -> zigpy.device.Device:
        """Add the lock to the coordinator's device list (as if joined earlier)."""
        device = self.radio.add_device(LOCK_IEEE, LOCK_NWK)
        device.node_desc = zdo_t.NodeDescriptor.deserialize(END_DEVICE_NODE_DESC)[0]
        endpoint = device.add_endpoint(1)
        endpoint.profile_id = zha_profile.PROFILE_ID
        endpoint.device_type = zha_profile.DeviceType.DOOR_LOCK
        endpoint.add_input_cluster(Basic.cluster_id)
        endpoint.add_input_cluster(DoorLock.cluster_id)
        endpoint.status = zigpy.endpoint.Status.ZDO_INIT
        device.manufacturer = "Keyholder Test"
        device.model = "SimLock"
        device.status = zigpy.device.Status.ENDPOINTS_INIT
        device.last_seen = time.time()
        self.radio.devices_sim[LOCK_NWK] = self
        self.zigpy_device = device
        return device

    # -- what the test does to the lock ------------------------------------------

    def codes(self) -> dict[int, str]:
        """Return Home Assistant slot (user id + 1) -> code of enabled users."""
        return {
            user + 1: code
            for user, (status, code) in self.table.items()
            if status == UserStatus.Enabled
        }

    def seed(self, slot: int, code: str) -> None:
        """Program a code at the lock itself (slot numbered as in Home Assistant)."""
        self.table[slot - 1] = (UserStatus.Enabled, code)

    def press_keypad(self, slot: int, *, operation: str = "Unlock") -> None:
        """Open the lock with the keypad code of ``slot`` (or fail to)."""
        self._notify(DoorLock.OperationEventSource.Keypad, operation, slot - 1)

    def unlock_by_hand(self, slot: int) -> None:
        """Turn the thumb turn; some locks still name the last user."""
        self._notify(DoorLock.OperationEventSource.Manual, "Unlock", slot - 1)

    def _notify(
        self, source: DoorLock.OperationEventSource, operation: str, user: int
    ) -> None:
        command = DoorLock.ClientCommandDefs.operation_event_notification
        schema = command.schema(
            operation_event_source=source,
            operation_event_code=DoorLock.OperationEvent[operation],
            user_id=user,
            pin="",
            local_time=0,
            data="",
        )
        self._send(
            foundation.ZCLHeader.cluster(
                tsn=0x40,
                command_id=command.id,
                direction=foundation.Direction.Server_to_Client,
            ),
            schema,
        )

    # -- the air -----------------------------------------------------------------

    def receive(self, packet: t.ZigbeePacket) -> None:
        """Handle one frame sent to the lock."""
        if packet.dst_ep == 0:
            return  # ZDO (binds...): nothing the tests need answered
        hdr, rest = foundation.ZCLHeader.deserialize(packet.data.serialize())
        if hdr.frame_control.frame_type != foundation.FrameType.CLUSTER_COMMAND:
            self._general(packet, hdr, rest)
            return
        if packet.cluster_id != DoorLock.cluster_id:
            self._default_response(packet, hdr, Status.UNSUP_CLUSTER_COMMAND)
            return
        command = DoorLock.ServerCommandDefs.__dict__.get(
            DoorLock.server_commands[hdr.command_id].name
        )
        assert command is not None
        args, _ = command.schema.deserialize(rest)
        self.received.append(command.name)
        if command.name in self.silent:
            return
        handler = getattr(self, f"_on_{command.name}", None)
        if handler is None:
            self._default_response(packet, hdr, Status.UNSUP_CLUSTER_COMMAND)
            return
        reply = handler(args)
        response = DoorLock.ClientCommandDefs.__dict__[f"{command.name}_response"]
        self._send(
            foundation.ZCLHeader.cluster(
                tsn=hdr.tsn,
                command_id=response.id,
                direction=foundation.Direction.Server_to_Client,
            ),
            response.schema(**reply),
        )

    def _general(
        self, packet: t.ZigbeePacket, hdr: foundation.ZCLHeader, rest: bytes
    ) -> None:
        """Attribute reads (the lock's state) and reporting configuration."""
        if hdr.command_id == foundation.GeneralCommand.Read_Attributes:
            request, _ = foundation.GENERAL_COMMANDS[
                foundation.GeneralCommand.Read_Attributes
            ].schema.deserialize(rest)
            records = []
            for attr_id in request.attribute_ids:
                record = foundation.ReadAttributeRecord(
                    attrid=attr_id, status=Status.UNSUPPORTED_ATTRIBUTE
                )
                value = self._attribute(packet.cluster_id, attr_id)
                if value is not None:
                    record.status = Status.SUCCESS
                    record.value = value
                records.append(record)
            schema = foundation.GENERAL_COMMANDS[
                foundation.GeneralCommand.Read_Attributes_rsp
            ].schema(status_records=records)
            self._send(
                foundation.ZCLHeader.general(
                    tsn=hdr.tsn,
                    command_id=foundation.GeneralCommand.Read_Attributes_rsp,
                    direction=foundation.Direction.Server_to_Client,
                ),
                schema,
                cluster_id=packet.cluster_id,
            )
            return
        self._default_response(packet, hdr, Status.SUCCESS)

    @staticmethod
    def _attribute(cluster_id: int, attr_id: int) -> foundation.TypeValue | None:
        values: dict[tuple[int, int], foundation.TypeValue] = {
            (Basic.cluster_id, Basic.AttributeDefs.manufacturer.id): (
                foundation.TypeValue(
                    type=foundation.DataTypeId.string,
                    value=t.CharacterString("Keyholder Test"),
                )
            ),
            (Basic.cluster_id, Basic.AttributeDefs.model.id): foundation.TypeValue(
                type=foundation.DataTypeId.string, value=t.CharacterString("SimLock")
            ),
            (DoorLock.cluster_id, DoorLock.AttributeDefs.lock_state.id): (
                foundation.TypeValue(
                    type=foundation.DataTypeId.enum8, value=DoorLock.LockState.Locked
                )
            ),
        }
        return values.get((cluster_id, attr_id))

    def _default_response(
        self, packet: t.ZigbeePacket, hdr: foundation.ZCLHeader, status: Status
    ) -> None:
        if hdr.frame_control.disable_default_response:
            return
        schema = foundation.GENERAL_COMMANDS[
            foundation.GeneralCommand.Default_Response
        ].schema(command_id=hdr.command_id, status=status)
        self._send(
            foundation.ZCLHeader.general(
                tsn=hdr.tsn,
                command_id=foundation.GeneralCommand.Default_Response,
                direction=hdr.frame_control.direction.flip(),
            ),
            schema,
            cluster_id=packet.cluster_id,
        )

    def _send(
        self,
        hdr: foundation.ZCLHeader,
        schema: foundation.CommandSchema,
        *,
        cluster_id: int = DoorLock.cluster_id,
    ) -> None:
        packet = t.ZigbeePacket(
            src=t.AddrModeAddress(addr_mode=t.AddrMode.NWK, address=LOCK_NWK),
            src_ep=1,
            dst=t.AddrModeAddress(addr_mode=t.AddrMode.NWK, address=0x0000),
            dst_ep=1,
            tsn=hdr.tsn,
            profile_id=zha_profile.PROFILE_ID,
            cluster_id=cluster_id,
            data=t.SerializableBytes(hdr.serialize() + schema.serialize()),
            lqi=255,
            rssi=-40,
        )
        # Answers arrive after the request was sent, as over the air.
        asyncio.get_running_loop().call_soon(self.radio.packet_received, packet)

    # -- the PIN table -----------------------------------------------------------

    def _on_set_pin_code(self, args: Any) -> dict[str, Any]:
        code = str(args.pin_code)
        duplicate = any(
            other == code and user != args.user_id
            for user, (_, other) in self.table.items()
        )
        if args.user_id >= self.users:
            return {"status": Status.INVALID_VALUE}
        if duplicate or not self.pin_min <= len(code) <= self.pin_max:
            # The ZCL's "duplicate code" (3) and "general failure" (1).
            return {"status": Status.FAILURE}
        self.table[args.user_id] = (UserStatus(args.user_status), code)
        return {"status": Status.SUCCESS}

    def _on_clear_pin_code(self, args: Any) -> dict[str, Any]:
        self.table.pop(args.user_id, None)
        return {"status": Status.SUCCESS}

    def _on_set_user_status(self, args: Any) -> dict[str, Any]:
        if args.user_id not in self.table:
            return {"status": Status.FAILURE}
        code = self.table[args.user_id][1]
        self.table[args.user_id] = (UserStatus(args.user_status), code)
        return {"status": Status.SUCCESS}


@dataclass
class ZhaHarness:
    """The running zha integration with one simulated lock."""

    hass: HomeAssistant
    radio: FakeRadio
    lock: SimLock
    entity_id: str
    entry: MockConfigEntry

    @property
    def zha_device(self) -> Any:
        """Return the zha library's device of the lock."""
        from homeassistant.components.zha.helpers import (
            get_zha_gateway,
        )

        return get_zha_gateway(self.hass).get_device(LOCK_IEEE)

    async def async_set_online(self, *, online: bool) -> None:
        """Take the lock off the network or bring it back, as zha notices it."""
        self.lock.online = online
        # zha's availability checker would notice after its interval; this is
        # what it does once it has.
        self.zha_device.update_available(online)
        # Coming back, zha reads the lock again before the entity shows it.
        async with asyncio.timeout(5):
            while True:
                await self.async_air()
                state = self.hass.states.get(self.entity_id)
                if state is not None and (state.state != "unavailable") is online:
                    return

    async def async_air(self) -> None:
        """Let frames in flight arrive and Home Assistant handle them."""
        for _ in range(5):
            await asyncio.sleep(0)
            await self.hass.async_block_till_done()


ZhaFactory = Callable[..., Awaitable[ZhaHarness]]


@pytest.fixture
async def zha_lock(hass: HomeAssistant) -> AsyncIterator[ZhaFactory]:
    """Return a factory that sets up zha with a simulated lock paired to it."""
    started: list[ZhaHarness] = []
    patches = contextlib.ExitStack()
    for target, value in (
        # Only the lock platform (core's zha tests do the same): the others
        # would pull in requirements of integrations the lock does not need.
        ("homeassistant.components.zha.PLATFORMS", (Platform.LOCK,)),
        # zigpy reads this when it sends to an end device: a lock that stays
        # silent is given up on quickly (answers arrive at once anyway).
        ("zigpy.device.APS_REPLY_TIMEOUT_EXTENDED", REPLY_TIMEOUT),
        # Waits for radio threads that do not exist (and under a frozen clock
        # would never end).
        ("zha.application.gateway.SHUT_DOWN_DELAY_S", 0),
        ("homeassistant.components.zha.radio_manager.CONNECT_DELAY_S", 0),
    ):
        patches.enter_context(patch(target, value))

    async def _make(**lock_options: Any) -> ZhaHarness:
        radio = make_radio()
        lock = SimLock(radio, **lock_options)
        lock.pair()

        async def _new(*args: Any, **kwargs: Any) -> FakeRadio:
            return radio

        entry = MockConfigEntry(
            domain="zha",
            version=5,
            data={
                "device": {
                    "path": "/dev/ttyKeyholderTest",
                    "baudrate": 115200,
                    "flow_control": None,
                },
                "radio_type": "ezsp",
            },
        )
        entry.add_to_hass(hass)
        with patch("bellows.zigbee.application.ControllerApplication.new", _new):
            assert await async_setup_component(
                hass, "zha", {"zha": {"enable_quirks": False}}
            )
            await hass.async_block_till_done()
        assert entry.state is ConfigEntryState.LOADED
        entity_id = er.async_get(hass).async_get_entity_id(
            "lock", "zha", f"{LOCK_IEEE}-1"
        )
        if entity_id is None:
            entity_id = next(
                e.entity_id
                for e in er.async_entries_for_config_entry(
                    er.async_get(hass), entry.entry_id
                )
                if e.domain == "lock"
            )
        harness = ZhaHarness(hass, radio, lock, entity_id, entry)
        started.append(harness)
        return harness

    with patches:
        yield _make
        for harness in started:
            await hass.config_entries.async_unload(harness.entry.entry_id)
            await hass.async_block_till_done()
