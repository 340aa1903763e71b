"""One fixture object per lock family: build its provider and act on its device.

A family stands for a real device the provider talks to. Tests act on the device
(take it offline, press its keypad, look inside it) only through the family, and
on Keyholder's side only through the ``LockProvider`` protocol.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
)
from homeassistant.helpers import device_registry as dr, entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.keyholder.families import LockProvider
from custom_components.keyholder.families.matter import MatterLock
from custom_components.keyholder.families.ttlock import TTLockLock, parse_ekey
from custom_components.keyholder.families.virtual import VirtualLock
from custom_components.keyholder.families.zha import ZhaLock
from custom_components.keyholder.families.zigbee2mqtt import Zigbee2MqttLock
from custom_components.keyholder.families.zwave_js import ZwaveJSLock
from custom_components.keyholder.model.values import CredentialRef

from ..helpers import P, async_add_zwave_lock
from ..matter.sim import MatterFactory, MatterHarness
from ..ttlock_sim import ADDRESS, FakeBluetooth, SimTTLock, ekey_dict, install
from ..zha_sim import ZhaFactory, ZhaHarness
from ..zigbee2mqtt_sim import BASE, DEVICE, Z2MFactory, Z2MHarness


class Family:
    """
    A lock family's device, as the contract tests see it.

    The device's side speaks of its own passcode slots (numbers); Keyholder's
    side, the provider, of credentials (:class:`CredentialRef`).
    """

    id: ClassVar[str]
    # Keypad use reaches Keyholder through async_listen_usage (the virtual
    # lock's keypad is its own lock entity, which attributes use itself).
    reports_keypad: ClassVar[bool] = True
    # async_listen_available fires when the device is back (the virtual lock
    # is switched online by Keyholder itself, which syncs it at once).
    announces_return: ClassVar[bool] = True
    # The device shows codes only as "occupied" (an instance setting).
    masks_codes = False
    # The device numbers its codes; where it does not (TTLock keeps bare
    # passcodes), the provider numbers them and a code put there behind
    # Keyholder's back gets whichever free slot the provider picks.
    numbered_slots: ClassVar[bool] = True
    # Codes put on the device by others show up in reads (ZHA cannot read
    # slots at all: it reports only what Keyholder wrote).
    sees_foreign_codes: ClassVar[bool] = True

    async def async_build(self) -> LockProvider:
        """Create the device and a provider driving it."""
        raise NotImplementedError

    async def async_set_online(self, *, online: bool) -> None:
        """Make the device (un)reachable, and return once Keyholder can tell."""
        raise NotImplementedError

    async def async_press_keypad(self, slot: int) -> None:
        """Open the lock at its keypad with the code in ``slot``."""
        raise NotImplementedError

    async def async_unlock_by_hand(self, slot: int) -> None:
        """Open the lock by hand; the device's report still names ``slot``."""
        raise NotImplementedError

    async def async_seed(self, slot: int, code: str) -> None:
        """Put a code on the device behind Keyholder's back."""
        raise NotImplementedError

    async def async_held(self) -> dict[int, str]:
        """Return slot -> code of what the device holds now."""
        raise NotImplementedError


class VirtualFamily(Family):
    """Keyholder's own virtual keypad lock."""

    id = "virtual"
    reports_keypad = False
    announces_return = False

    def __init__(self) -> None:
        """Prepare an empty lock memory."""
        self.codes: dict[CredentialRef, str] = {}
        self.lock: VirtualLock | None = None

    async def async_build(self) -> LockProvider:
        """Build a lock with 10 slots for 4 to 8 digits."""
        self.lock = VirtualLock(slots=10, pin_min=4, pin_max=8, codes=self.codes)
        return self.lock

    async def async_set_online(self, *, online: bool) -> None:
        """Switch the simulated lock."""
        assert self.lock is not None
        self.lock.online = online

    async def async_seed(self, slot: int, code: str) -> None:
        """Write straight into the lock's memory."""
        self.codes[P(slot)] = code

    async def async_held(self) -> dict[int, str]:
        """Return the lock's memory."""
        return {ref.index: code for ref, code in self.codes.items()}


ZLOCK = "lock.contract_front"


@dataclass
class _Node:
    """What a Z-Wave lock node holds, as zwave_js's actions show it."""

    slots: int = 20
    codes: dict[int, str] = field(default_factory=dict)
    masked: bool = False


class ZwaveFamily(Family):
    """A Z-Wave lock behind Home Assistant's zwave_js actions (faked at the actions)."""

    id = "zwave_js"

    def __init__(self, hass: HomeAssistant, *, masked: bool = False) -> None:
        """Prepare a node (masking codes like some locks do, if asked)."""
        self.hass = hass
        self.node = _Node(masked=masked)
        self.masks_codes = masked
        self.device_id = ""

    async def async_build(self) -> LockProvider:
        """Register the zwave_js actions, the lock entity and its device."""
        node = self.node

        def get_codes(call: ServiceCall) -> ServiceResponse:
            return {
                ZLOCK: {
                    str(slot): {
                        "usercode": ("*" * 4 if node.masked else node.codes[slot])
                        if slot in node.codes
                        else "",
                        "in_use": slot in node.codes,
                    }
                    for slot in range(1, node.slots + 1)
                }
            }

        def set_code(slot: int, code: str) -> None:
            node.codes[slot] = code

        def clear_code(call: ServiceCall) -> None:
            node.codes.pop(call.data["code_slot"], None)

        services = self.hass.services
        services.async_register(
            "zwave_js",
            "get_lock_usercode",
            get_codes,
            supports_response=SupportsResponse.ONLY,
        )
        services.async_register("zwave_js", "clear_lock_usercode", clear_code)
        entry = MockConfigEntry(domain="zwave_js", data={"url": "ws://127.0.0.1:1"})
        entry.add_to_hass(self.hass)
        device = dr.async_get(self.hass).async_get_or_create(
            config_entry_id=entry.entry_id, identifiers={("zwave_js", "99-5")}
        )
        er.async_get(self.hass).async_get_or_create(
            "lock",
            "zwave_js",
            "99.5-98-0-currentMode",
            device_id=device.id,
            config_entry=entry,
            suggested_object_id="contract_front",
        )
        self.device_id = device.id
        # Codes are set through the lock entity's handler, not the action.
        await async_add_zwave_lock(
            self.hass, entry, "99.5-98-0-currentMode", "99-5", set_code
        )
        return ZwaveJSLock(self.hass, ZLOCK)

    async def async_set_online(self, *, online: bool) -> None:
        """The node is marked dead (unavailable) or alive again."""
        self.hass.states.async_set(ZLOCK, "locked" if online else "unavailable")
        await self.hass.async_block_till_done()

    def _notify(self, event: int, slot: int) -> None:
        data: dict[str, Any] = {
            "device_id": self.device_id,
            "command_class": 113,
            "type": 6,  # Access Control
            "event": event,
            "parameters": {"userId": slot},
        }
        self.hass.bus.async_fire("zwave_js_notification", data)

    async def async_press_keypad(self, slot: int) -> None:
        """Access Control event 6: keypad unlock operation."""
        self._notify(6, slot)
        await self.hass.async_block_till_done()

    async def async_unlock_by_hand(self, slot: int) -> None:
        """Access Control event 2: manual unlock operation."""
        self._notify(2, slot)
        await self.hass.async_block_till_done()

    async def async_seed(self, slot: int, code: str) -> None:
        """Store a code in the node."""
        self.node.codes[slot] = code

    async def async_held(self) -> dict[int, str]:
        """Return the node's codes."""
        return dict(self.node.codes)


class Zigbee2MqttFamily(Family):
    """A Zigbee lock behind Zigbee2MQTT, over a real Mosquitto broker."""

    id = "zigbee2mqtt"

    def __init__(
        self, hass: HomeAssistant, make: Z2MFactory, *, expose_pin: bool = True
    ) -> None:
        """Prepare a simulated lock (hiding codes unless ``expose_pin``)."""
        self.hass = hass
        self.make = make
        self.expose_pin = expose_pin
        self.masks_codes = not expose_pin
        self.harness: Z2MHarness | None = None

    @property
    def z2m(self) -> Z2MHarness:
        """Return the running simulated lock."""
        assert self.harness is not None
        return self.harness

    async def async_build(self) -> LockProvider:
        """Start the simulated lock and a provider for users 0 to 9."""
        self.harness = await self.make(expose_pin=self.expose_pin)
        return Zigbee2MqttLock(
            self.hass, base_topic=BASE, device=DEVICE, slots=10, pin_min=4, pin_max=8
        )

    async def async_set_online(self, *, online: bool) -> None:
        """Zigbee2MQTT reports the lock (un)available."""
        self.z2m.lock.set_online(online=online)
        await self.z2m.async_delivered()

    async def async_press_keypad(self, slot: int) -> None:
        """The lock reports an unlock from the keypad by user ``slot``."""
        self.z2m.lock.press_keypad(slot)
        await self.z2m.async_delivered()

    async def async_unlock_by_hand(self, slot: int) -> None:
        """The lock reports a manual unlock."""
        self.z2m.lock.unlock_by_hand(slot)
        await self.z2m.async_delivered()

    async def async_seed(self, slot: int, code: str) -> None:
        """Store a code in the lock."""
        self.z2m.lock.seed(slot, code)

    async def async_held(self) -> dict[int, str]:
        """Return the lock's codes once it handled every command sent."""
        return await self.z2m.async_held()


class MatterFamily(Family):
    """A Matter lock behind Home Assistant's matter integration (server simulated)."""

    id = "matter"
    # Matter never reveals a PIN.
    masks_codes = True

    def __init__(self, hass: HomeAssistant, make: MatterFactory) -> None:
        """Prepare a simulated Matter server with one keypad lock."""
        self.hass = hass
        self.make = make
        self.harness: MatterHarness | None = None

    @property
    def matter(self) -> MatterHarness:
        """Return the running matter integration and its lock."""
        assert self.harness is not None
        return self.harness

    async def async_build(self) -> LockProvider:
        """Set up matter with the lock (10 PIN users, 4 to 8 digits)."""
        self.harness = await self.make()
        return MatterLock(self.hass, self.harness.entity_id)

    async def async_set_online(self, *, online: bool) -> None:
        """The Matter server reports the node (un)available."""
        self.matter.server.set_online(online=online)
        await self.matter.async_delivered()

    async def async_press_keypad(self, slot: int) -> None:
        """The lock sends a LockOperation event: unlock from the keypad."""
        self.matter.server.press_keypad(slot)
        await self.matter.async_delivered()

    async def async_unlock_by_hand(self, slot: int) -> None:
        """The lock sends a LockOperation event: manual unlock."""
        self.matter.server.unlock_by_hand(slot)
        await self.matter.async_delivered()

    async def async_seed(self, slot: int, code: str) -> None:
        """Store a PIN credential (with its own user) in the lock."""
        self.matter.lock.seed(slot, code)

    async def async_held(self) -> dict[int, str]:
        """Return the lock's PIN credentials."""
        return self.matter.lock.held()


class TTLockFamily(Family):
    """A TTLock over Bluetooth, simulated at the BleakClient level."""

    id = "ttlock"
    numbered_slots = False

    def __init__(self, hass: HomeAssistant, monkeypatch: Any) -> None:
        """Prepare a lock in range."""
        self.hass = hass
        self.lock = SimTTLock()
        self.air: FakeBluetooth = install(monkeypatch, self.lock)
        self.slot_map: dict[CredentialRef, str] = {}

    async def async_build(self) -> LockProvider:
        """Build a provider with 10 slots."""
        self.hass.config.components.add("bluetooth")
        return TTLockLock(
            self.hass,
            address=ADDRESS,
            key=parse_ekey(ekey_dict()),
            slots=10,
            slot_map=self.slot_map,
        )

    async def async_set_online(self, *, online: bool) -> None:
        """The lock goes out of Bluetooth range, or is heard again."""
        self.air.set_online(online=online)
        await self.hass.async_block_till_done()

    def _code(self, slot: int) -> str:
        return self.slot_map[P(slot)]

    async def async_press_keypad(self, slot: int) -> None:
        """Type the slot's code; the lock logs it and advertises new records."""
        assert self.lock.press_keypad(self._code(slot))
        self.air.advertise()
        await self.hass.async_block_till_done(wait_background_tasks=True)

    async def async_unlock_by_hand(self, slot: int) -> None:
        """Open with the mechanical key (the log names no passcode)."""
        self.lock.unlock_by_hand()
        self.air.advertise()
        await self.hass.async_block_till_done(wait_background_tasks=True)

    async def async_seed(self, slot: int, code: str) -> None:
        """Add a passcode with the TTLock app (no slot on a TTLock)."""
        self.lock.seed(code)

    async def async_held(self) -> dict[int, str]:
        """Return the lock's passcodes under the slots the provider gave them."""
        by_code = {code: ref.index for ref, code in self.slot_map.items()}
        assert set(self.lock.passcodes) <= set(by_code), "a code with no slot"
        return {by_code[code]: code for code in self.lock.passcodes}


class ZhaFamily(Family):
    """A Zigbee lock behind Home Assistant's zha integration, over a faked radio."""

    id = "zha"
    # ZHA has no action that reads codes: the provider reports its own writes,
    # each as an occupied slot with a hidden code.
    masks_codes = True
    sees_foreign_codes = False

    def __init__(self, hass: HomeAssistant, make: ZhaFactory) -> None:
        """Prepare a simulated lock paired with zha."""
        self.hass = hass
        self.make = make
        self.harness: ZhaHarness | None = None

    @property
    def zha(self) -> ZhaHarness:
        """Return the running zha integration and lock."""
        assert self.harness is not None
        return self.harness

    async def async_build(self) -> LockProvider:
        """Set up zha with the lock and a provider for slots 1 to 10."""
        self.harness = await self.make()
        return ZhaLock(
            self.hass,
            self.zha.entity_id,
            lock_id="contract_zha",
            slots=10,
            pin_min=4,
            pin_max=8,
        )

    async def async_set_online(self, *, online: bool) -> None:
        """The lock leaves the network or comes back; zha notices."""
        await self.zha.async_set_online(online=online)

    async def async_press_keypad(self, slot: int) -> None:
        """The lock reports a keypad unlock by the user of ``slot``."""
        self.zha.lock.press_keypad(slot)
        await self.zha.async_air()

    async def async_unlock_by_hand(self, slot: int) -> None:
        """The lock reports a manual unlock naming ``slot``."""
        self.zha.lock.unlock_by_hand(slot)
        await self.zha.async_air()

    async def async_seed(self, slot: int, code: str) -> None:
        """Program a code at the lock."""
        self.zha.lock.seed(slot, code)

    async def async_held(self) -> dict[int, str]:
        """Return the lock's enabled codes by ZHA slot."""
        return self.zha.lock.codes()


def _z2m(hass: HomeAssistant, request: Any, *, expose_pin: bool) -> Family:
    return Zigbee2MqttFamily(
        hass, request.getfixturevalue("z2m_lock"), expose_pin=expose_pin
    )


# name -> (family class, build(hass, pytest request))
FAMILIES: dict[str, tuple[type[Family], Callable[[HomeAssistant, Any], Family]]] = {
    "virtual": (VirtualFamily, lambda hass, request: VirtualFamily()),
    "zwave_js": (ZwaveFamily, lambda hass, request: ZwaveFamily(hass)),
    "zwave_js_masked": (
        ZwaveFamily,
        lambda hass, request: ZwaveFamily(hass, masked=True),
    ),
    "zigbee2mqtt": (
        Zigbee2MqttFamily,
        lambda hass, request: _z2m(hass, request, expose_pin=True),
    ),
    "ttlock": (
        TTLockFamily,
        lambda hass, request: TTLockFamily(
            hass, request.getfixturevalue("monkeypatch")
        ),
    ),
    "zigbee2mqtt_masked": (
        Zigbee2MqttFamily,
        lambda hass, request: _z2m(hass, request, expose_pin=False),
    ),
    "matter": (
        MatterFamily,
        lambda hass, request: MatterFamily(
            hass, request.getfixturevalue("matter_lock")
        ),
    ),
    "zha": (
        ZhaFamily,
        lambda hass, request: ZhaFamily(hass, request.getfixturevalue("zha_lock")),
    ),
}


def family_names(**flags: bool) -> list[str]:
    """Return the families whose class flags match ``flags`` (all by default)."""
    return [
        name
        for name, (cls, _) in FAMILIES.items()
        if all(getattr(cls, flag) == value for flag, value in flags.items())
    ]
