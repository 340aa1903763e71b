"""A simulated TTLock at the BleakClient level, speaking the ttlock-ble protocol.

There is no Bluetooth here. ``SimTTLock`` is the lock: it keeps passcodes (with
their type and window), an operation log with the lock's own read cursor, its bolt
and clock, and answers the library's encrypted frames the way a V3 TTLock does
(frames, AES and payload layouts come from the library's own encoders, so a
library that changed its wire format would fail here). ``SimBleakClient`` is what
``bleak_retry_connector.establish_connection`` returns to the library: GATT
service 0x1910 with write FFF2 / notify FFF4, answers chunked in 20 bytes.

``FakeBluetooth`` stands in for Home Assistant's ``bluetooth`` helpers the
provider uses (presence, BLEDevice lookup, advertisement and unavailability
callbacks), driven by the lock being in range or not.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient
from bleak.backends.device import BLEDevice
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bleak.exc import BleakError
from homeassistant.components import bluetooth as ha_bluetooth
from homeassistant.util import dt as dt_util
from ttlock_ble import KeyboardPwdType, LockVersion, LogOperate, VirtualKey
from ttlock_ble.ble import BleTransport
from ttlock_ble.ble.constants import TTL_NOTIFY, TTL_SERVICE, TTL_WRITE
from ttlock_ble.commands import opcodes as op
from ttlock_ble.commands.encoding import decode_date5, decode_date6
from ttlock_ble.crypto import aes_decrypt, aes_encrypt, hex_key_to_bytes
from ttlock_ble.protocol import Frame, FrameReassembler

ADDRESS = "AA:BB:CC:DD:EE:01"
AES_HEX = "00112233445566778899aabbccddeeff"
ADMIN_PS = "12345678"
UNLOCK_KEY = "87654321"

# Error bytes of a TTLock (TTLock SDK's LockError).
ERR_ADMIN = 0x03
ERR_EXISTS = 0x14
ERR_NOT_FOUND = 0x15
ERR_FULL = 0x16


def ekey_dict(**changes: Any) -> dict[str, Any]:
    """Return an eKey as ``ttlock sync`` stores it (VirtualKey.to_dict)."""
    key = VirtualKey(
        keyId=1,
        lockId=2,
        lockMac=ADDRESS,
        lockAlias="Front door",
        lockName="S31_ee01",
        lockVersion=LockVersion(
            protocolType=5, protocolVersion=3, scene=2, groupId=1, orgId=1
        ),
        aesKeyStr=AES_HEX,
        unlockKey=UNLOCK_KEY,
        lockFlagPos=0,
        timezoneRawOffSet=0,
        adminPs=ADMIN_PS,
        uid=4242,
    )
    return {**key.to_dict(), **changes}


@dataclass
class Passcode:
    """A passcode as the lock keeps it (window on the lock's clock)."""

    pwd_type: int
    start: datetime | None
    end: datetime | None


@dataclass
class LogRecord:
    """One operation-log record."""

    record_type: int
    when: datetime
    password: str | None = None


@dataclass
class SimTTLock:
    """The lock's memory and behaviour."""

    address: str = ADDRESS
    admin_ps: str = ADMIN_PS
    capacity: int = 150
    online: bool = True
    answers: bool = True
    reject_lengths: bool = False
    locked: bool = True
    passcodes: dict[str, Passcode] = field(default_factory=dict)
    log: list[LogRecord] = field(default_factory=list)
    log_cursor: int = 0
    clock_offset: float = 0.0
    calibrations: int = 0
    connections: int = 0
    admin_commands: list[str] = field(default_factory=list)

    @property
    def aes(self) -> bytes:
        """Return the lock's AES key."""
        return hex_key_to_bytes(AES_HEX)

    def now(self) -> datetime:
        """Return the lock's clock (naive wall clock of Home Assistant's zone)."""
        shifted = dt_util.now() + timedelta(seconds=self.clock_offset)
        return shifted.replace(tzinfo=None)

    def seed(self, code: str, pwd_type: int = KeyboardPwdType.PERMANENT) -> None:
        """Add a passcode behind Keyholder's back (as the TTLock app would)."""
        self.passcodes[code] = Passcode(pwd_type, None, None)

    def accepts(self, code: str) -> bool:
        """Return True when typing ``code`` now opens the lock (window included)."""
        held = self.passcodes.get(code)
        if held is None:
            return False
        if held.pwd_type == KeyboardPwdType.PERIOD:
            assert held.start is not None
            assert held.end is not None
            return held.start <= self.now() < held.end
        return True

    def press_keypad(self, code: str) -> bool:
        """Type a code at the keypad; log the unlock (or the wrong code)."""
        if self.accepts(code):
            self.locked = False
            self.log.append(
                LogRecord(LogOperate.KEYBOARD_PASSWORD_UNLOCK, self.now(), code)
            )
            return True
        self.log.append(LogRecord(LogOperate.ERROR_PASSWORD_UNLOCK, self.now(), code))
        return False

    def unlock_by_hand(self) -> None:
        """Open with the mechanical key (logged without a passcode)."""
        self.locked = False
        self.log.append(LogRecord(LogOperate.OPERATE_KEY_UNLOCK, self.now()))

    @property
    def has_new_records(self) -> bool:
        """Return True when the log holds records nobody fetched yet."""
        return self.log_cursor < len(self.log)

    def manufacturer_data(self) -> dict[int, bytes]:
        """Return the advertisement's manufacturer data (V3 layout)."""
        flags = (0 if self.locked else 0x01) | (0x02 if self.has_new_records else 0)
        raw = bytes([5, 3, 2, flags, 90]) + bytes(4)
        mac = self.address.replace(":", "")
        raw += bytes(reversed(bytes.fromhex(mac))) if len(mac) == 12 else bytes(6)
        return {int.from_bytes(raw[:2], "little"): raw[2:]}

    # -- the protocol ----------------------------------------------------------

    def handle(self, command: int, plain: bytes) -> bytes:
        """Answer one decrypted command with the plaintext reply."""
        handler = _HANDLERS.get(command)
        if handler is None:
            return bytes([command, 0, 0x1B])
        return handler(self, plain)

    def _check_user_time(self, plain: bytes) -> bytes:
        return bytes([op.CMD_CHECK_USER_TIME, 1]) + (1000).to_bytes(4, "big")

    def _check_admin(self, plain: bytes) -> bytes:
        if int.from_bytes(plain[0:4], "big") != int(self.admin_ps):
            return bytes([op.CMD_CHECK_ADMIN, 0, ERR_ADMIN])
        return bytes([op.CMD_CHECK_ADMIN, 1]) + (2000).to_bytes(4, "big")

    def _check_random(self, plain: bytes) -> bytes:
        ok = int.from_bytes(plain[:4], "big") == (2000 + int(UNLOCK_KEY)) & 0xFFFFFFFF
        return bytes([op.CMD_CHECK_RANDOM, 1 if ok else 0])

    def _manage_passcode(self, plain: bytes) -> bytes:
        fail = bytes([op.CMD_MANAGE_KEYBOARD_PASSWORD, 0])
        operation = plain[0]
        if operation == 1:  # clear
            self.passcodes.clear()
            self.admin_commands.append("clear")
            return bytes([op.CMD_MANAGE_KEYBOARD_PASSWORD, 1])
        pwd_type, length = plain[1], plain[2]
        code = plain[3 : 3 + length].decode()
        rest = plain[3 + length :]
        if operation == 3:  # remove one
            if code not in self.passcodes:
                return fail + bytes([ERR_NOT_FOUND])
            del self.passcodes[code]
            self.admin_commands.append("delete")
            return bytes([op.CMD_MANAGE_KEYBOARD_PASSWORD, 1])
        if operation != 2:
            return fail + bytes([0x1B])
        if self.reject_lengths:
            return fail + bytes([0x0F])
        if code in self.passcodes:
            return fail + bytes([ERR_EXISTS])
        if len(self.passcodes) >= self.capacity:
            return fail + bytes([ERR_FULL])
        start = end = None
        if pwd_type == KeyboardPwdType.PERIOD:
            start, end = decode_date5(rest[:5]), decode_date5(rest[5:10])
            assert start is not None
            assert end is not None
        self.passcodes[code] = Passcode(pwd_type, start, end)
        self.admin_commands.append("add")
        return bytes([op.CMD_MANAGE_KEYBOARD_PASSWORD, 1])

    def _list_passcodes(self, plain: bytes) -> bytes:
        index = int.from_bytes(plain[:2], "big")
        codes = list(self.passcodes.items())
        if index >= len(codes):
            return bytes([op.CMD_GET_PASSCODES, 1, 0, 0])
        code, held = codes[index]
        following = index + 1 if index + 1 < len(codes) else 0
        raw = code.encode()
        if held.pwd_type == KeyboardPwdType.PERIOD:
            assert held.start is not None
            assert held.end is not None
            trailer = _date5(held.start) + _date5(held.end)
        else:
            trailer = bytes([0, 1, 31, 14, 0])
        item = bytes([held.pwd_type, len(raw)]) + raw + bytes([len(raw)]) + raw
        item += trailer
        header = bytes([0, 0]) + following.to_bytes(2, "big")
        return bytes([op.CMD_GET_PASSCODES, 1]) + header + bytes([len(item)]) + item

    def _operate_log(self, plain: bytes) -> bytes:
        if not self.has_new_records:
            return bytes([op.CMD_GET_OPERATE_LOG, 1, 0, 0])
        record = self.log[self.log_cursor]
        self.log_cursor += 1
        body = bytes([record.record_type]) + _date6(record.when) + bytes([90])
        if record.password is not None:
            pwd = record.password.encode()
            body += bytes([len(pwd)]) + pwd + bytes([len(pwd)]) + pwd
        sequence = self.log_cursor + 1
        data = (1).to_bytes(2, "big") + sequence.to_bytes(2, "big")
        return bytes([op.CMD_GET_OPERATE_LOG, 1]) + data + bytes([len(body)]) + body

    def _query_state(self, plain: bytes) -> bytes:
        return bytes([op.CMD_QUERY_STATE, 1, 90, 1 if self.locked else 0])

    def _unlock(self, plain: bytes) -> bytes:
        self.locked = False
        return bytes([op.CMD_UNLOCK, 1])

    def _lock(self, plain: bytes) -> bytes:
        self.locked = True
        return bytes([op.CMD_LOCK, 1])

    def _get_time(self, plain: bytes) -> bytes:
        return bytes([op.CMD_GET_LOCK_TIME, 1]) + _date6(self.now())

    def _calibrate(self, plain: bytes) -> bytes:
        when = decode_date6(plain[:6])
        assert when is not None
        self.clock_offset = (when - dt_util.now().replace(tzinfo=None)).total_seconds()
        self.calibrations += 1
        return bytes([op.CMD_TIME_CALIBRATE, 1])


def _date5(when: datetime) -> bytes:
    return bytes([when.year - 2000, when.month, when.day, when.hour, when.minute])


def _date6(when: datetime) -> bytes:
    return _date5(when) + bytes([when.second])


_HANDLERS: dict[int, Callable[[SimTTLock, bytes], bytes]] = {
    op.CMD_CHECK_USER_TIME: SimTTLock._check_user_time,
    op.CMD_CHECK_ADMIN: SimTTLock._check_admin,
    op.CMD_CHECK_RANDOM: SimTTLock._check_random,
    op.CMD_MANAGE_KEYBOARD_PASSWORD: SimTTLock._manage_passcode,
    op.CMD_GET_PASSCODES: SimTTLock._list_passcodes,
    op.CMD_GET_OPERATE_LOG: SimTTLock._operate_log,
    op.CMD_QUERY_STATE: SimTTLock._query_state,
    op.CMD_UNLOCK: SimTTLock._unlock,
    op.CMD_LOCK: SimTTLock._lock,
    op.CMD_GET_LOCK_TIME: SimTTLock._get_time,
    op.CMD_TIME_CALIBRATE: SimTTLock._calibrate,
}


class _Char:
    def __init__(self, uuid: str) -> None:
        self.uuid = uuid


class _Service:
    def __init__(self) -> None:
        self.chars = {TTL_WRITE: _Char(TTL_WRITE), TTL_NOTIFY: _Char(TTL_NOTIFY)}

    def get_characteristic(self, uuid: str) -> _Char | None:
        return self.chars.get(uuid)


class _Services:
    def __init__(self) -> None:
        self.service = _Service()

    def get_service(self, uuid: str) -> _Service | None:
        return self.service if uuid == TTL_SERVICE else None


class SimBleakClient:
    """The BleakClient the library gets from establish_connection."""

    def __init__(self, lock: SimTTLock) -> None:
        """Connect to ``lock``."""
        self.lock = lock
        self.services = _Services()
        self.is_connected = True
        self._notify: Callable[[Any, bytearray], None] | None = None
        self._inbound = FrameReassembler()

    async def start_notify(self, char: Any, callback: Callable[..., None]) -> None:
        """Subscribe to the notify characteristic."""
        assert char.uuid == TTL_NOTIFY
        self._notify = callback

    async def stop_notify(self, char: Any) -> None:
        """Unsubscribe."""
        self._notify = None

    async def read_gatt_char(self, uuid: Any) -> bytearray:
        """Only the battery level is readable."""
        if uuid == "00002a19-0000-1000-8000-00805f9b34fb":
            return bytearray([100])
        raise BleakError("characteristic not found")

    async def write_gatt_char(
        self, char: Any, data: bytes, response: bool = False
    ) -> None:
        """Take one chunk; answer each complete frame on the notify char."""
        if not self.lock.online:
            self.is_connected = False
            raise BleakError("disconnected")
        assert char.uuid == TTL_WRITE
        assert len(data) <= 20
        for frame in self._inbound.feed(bytes(data)):
            plain = aes_decrypt(frame.data, self.lock.aes)
            if not self.lock.answers:
                continue
            reply = self.lock.handle(frame.command, plain)
            answer = Frame(
                frame.protocol_type,
                frame.sub_version,
                frame.scene,
                frame.group_id,
                frame.sub_org,
                op.CMD_RESPONSE,
                0xAA,
                aes_encrypt(reply, self.lock.aes),
            ).build()
            loop = asyncio.get_running_loop()
            for i in range(0, len(answer), 20):
                loop.call_soon(self._deliver, answer[i : i + 20])

    def _deliver(self, chunk: bytes) -> None:
        if self._notify is not None and self.is_connected:
            self._notify(self.services.service.chars[TTL_NOTIFY], bytearray(chunk))

    async def disconnect(self) -> bool:
        """Drop the link."""
        self.is_connected = False
        return True


class FakeBluetooth:
    """Home Assistant's bluetooth helpers as the provider uses them."""

    BluetoothCallbackMatcher = ha_bluetooth.BluetoothCallbackMatcher
    BluetoothScanningMode = ha_bluetooth.BluetoothScanningMode
    BluetoothChange = ha_bluetooth.BluetoothChange

    def __init__(self, lock: SimTTLock) -> None:
        """Hear ``lock`` while it is online."""
        self.lock = lock
        self.adv_callbacks: list[tuple[Callable[..., None], Any]] = []
        self.gone_callbacks: list[Callable[..., None]] = []

    def async_address_present(
        self, hass: Any, address: str, connectable: bool = True
    ) -> bool:
        """The lock is present while it is online."""
        return self.lock.online and address == self.lock.address

    def async_ble_device_from_address(
        self, hass: Any, address: str, connectable: bool = True
    ) -> BLEDevice | None:
        """Return the lock's BLEDevice while it is in range."""
        if not self.async_address_present(hass, address):
            return None
        return BLEDevice(address, "S31_ee01", details={})

    def async_register_callback(
        self, hass: Any, callback: Callable[..., None], matcher: Any, mode: Any
    ) -> Callable[[], None]:
        """Remember an advertisement callback."""
        entry = (callback, matcher)
        self.adv_callbacks.append(entry)
        return lambda: self.adv_callbacks.remove(entry)

    def async_track_unavailable(
        self, hass: Any, callback: Callable[..., None], address: str, connectable: bool
    ) -> Callable[[], None]:
        """Remember an unavailability callback."""
        self.gone_callbacks.append(callback)
        return lambda: self.gone_callbacks.remove(callback)

    def service_info(self) -> ha_bluetooth.BluetoothServiceInfoBleak:
        """Return the lock's current advertisement."""
        device = BLEDevice(self.lock.address, "S31_ee01", details={})
        return ha_bluetooth.BluetoothServiceInfoBleak(
            name="S31_ee01",
            address=self.lock.address,
            rssi=-60,
            manufacturer_data=self.lock.manufacturer_data(),
            service_data={},
            service_uuids=[TTL_SERVICE],
            source="local",
            device=device,
            advertisement=None,  # type: ignore[arg-type]
            connectable=True,
            time=0,
            tx_power=None,
        )

    def advertise(self) -> None:
        """The lock advertises (callbacks fire)."""
        info = self.service_info()
        for callback, matcher in list(self.adv_callbacks):
            if matcher.get("address", self.lock.address) == self.lock.address:
                callback(info, ha_bluetooth.BluetoothChange.ADVERTISEMENT)

    def set_online(self, *, online: bool) -> None:
        """Bring the lock in or out of range."""
        self.lock.online = online
        if online:
            self.advertise()
        else:
            info = self.service_info()
            for callback in list(self.gone_callbacks):
                callback(info)


def install(monkeypatch: Any, lock: SimTTLock) -> FakeBluetooth:
    """Route the library's connections to ``lock``; return the fake bluetooth."""
    from custom_components.keyholder.families import ttlock_link

    async def _connect(
        client_class: Any, device: BLEDevice, *args: Any, **kwargs: Any
    ) -> SimBleakClient:
        if not lock.online:
            raise BleakError("device not found")
        lock.connections += 1
        return SimBleakClient(lock)

    air = FakeBluetooth(lock)
    monkeypatch.setattr("ttlock_ble.ble.transport.establish_connection", _connect)
    monkeypatch.setattr("ttlock_ble.ble.transport.POST_NOTIFY_SETTLE", 0)
    # A lock that does not answer is given up on after 0.3 s instead of 6 s.
    monkeypatch.setattr(BleTransport.exchange, "__kwdefaults__", {"timeout": 0.3})
    monkeypatch.setattr(ttlock_link, "bluetooth", air)
    return air


class SimBackend(BaseBleakClient):
    """A bleak backend reaching ``SimBackend.lock``: the real BleakClient stack."""

    lock: SimTTLock

    def __init__(self, address_or_ble_device: Any, **kwargs: Any) -> None:
        """Create the backend (no I/O)."""
        super().__init__(address_or_ble_device, **kwargs)
        self._link: SimBleakClient | None = None

    @property
    def mtu_size(self) -> int:
        """The minimum ATT MTU (20-byte writes)."""
        return 23

    @property
    def name(self) -> str:
        """The lock's advertised name."""
        return "S31_ee01"

    @property
    def is_connected(self) -> bool:
        """Whether the link is up."""
        return self._link is not None and self._link.is_connected

    async def connect(self, pair: bool, **kwargs: Any) -> None:
        """Connect and serve the lock's GATT table."""
        if not self.lock.online:
            raise BleakError("device not found")
        self.lock.connections += 1
        self._link = SimBleakClient(self.lock)
        services = BleakGATTServiceCollection()
        handle = 0

        def _add(service: BleakGATTService, uuid: str, properties: list[Any]) -> None:
            nonlocal handle
            handle += 1
            services.add_characteristic(
                BleakGATTCharacteristic(
                    None, handle, uuid, properties, lambda: 20, service
                )
            )

        ttl = BleakGATTService(None, 100, TTL_SERVICE)
        services.add_service(ttl)
        _add(ttl, TTL_WRITE, ["write-without-response", "write"])
        _add(ttl, TTL_NOTIFY, ["notify"])
        battery = BleakGATTService(None, 200, "0000180f-0000-1000-8000-00805f9b34fb")
        services.add_service(battery)
        _add(battery, "00002a19-0000-1000-8000-00805f9b34fb", ["read"])
        self.services = services

    async def disconnect(self) -> None:
        """Drop the link."""
        if self._link is not None:
            await self._link.disconnect()

    async def pair(self, *args: Any, **kwargs: Any) -> None:
        """TTLocks do not pair at the Bluetooth level."""

    async def unpair(self) -> None:
        """TTLocks do not pair at the Bluetooth level."""

    async def read_gatt_char(self, characteristic: Any, **kwargs: Any) -> bytearray:
        """Read (only the battery level is readable)."""
        assert self._link is not None
        return await self._link.read_gatt_char(characteristic.uuid)

    async def read_gatt_descriptor(self, descriptor: Any, **kwargs: Any) -> bytearray:
        """No descriptors are read."""
        raise BleakError("no descriptors")

    async def write_gatt_char(
        self, characteristic: Any, data: Any, response: bool
    ) -> None:
        """Hand the chunk to the lock."""
        assert self._link is not None
        await self._link.write_gatt_char(characteristic, bytes(data), response)

    async def write_gatt_descriptor(self, descriptor: Any, data: Any) -> None:
        """No descriptors are written."""
        raise BleakError("no descriptors")

    async def start_notify(
        self, characteristic: Any, callback: Callable[[bytearray], None], **kwargs: Any
    ) -> None:
        """Deliver the lock's answers to ``callback``."""
        assert self._link is not None
        await self._link.start_notify(
            characteristic, lambda _char, data: callback(data)
        )

    async def stop_notify(self, characteristic: Any) -> None:
        """Stop delivering."""
        if self._link is not None:
            await self._link.stop_notify(characteristic)


def install_backend(monkeypatch: Any, lock: SimTTLock) -> FakeBluetooth:
    """Like ``install``, but through bleak-retry-connector and BleakClient."""
    from custom_components.keyholder.families import ttlock_link

    SimBackend.lock = lock
    monkeypatch.setattr(
        "bleak.get_platform_client_backend_type", lambda: (SimBackend, "sim")
    )
    monkeypatch.setattr("ttlock_ble.ble.transport.POST_NOTIFY_SETTLE", 0)
    monkeypatch.setattr(BleTransport.exchange, "__kwdefaults__", {"timeout": 0.3})
    air = FakeBluetooth(lock)
    monkeypatch.setattr(ttlock_link, "bluetooth", air)
    return air
