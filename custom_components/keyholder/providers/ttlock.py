"""
TTLock-family locks reached over Bluetooth, through the ``ttlock-ble`` library.

The lock is found through Home Assistant's ``bluetooth`` integration (local
adapters or Bluetooth proxies); every operation opens a short BLE session with
the lock's eKey (AES key, unlock key and, for passcodes, the admin password) and
closes it again.

A TTLock keeps passcodes, not numbered slots: Keyholder's slots are this
provider's own numbering of the passcodes on the lock, kept in ``slot_map`` (slot
-> code, saved with the site). A code found on the lock that is not in the map
(added with the TTLock app, say) is given a free slot of its own, so Keyholder
sees it as someone else's and never touches it.

Codes are written as the lock's own *period* passcodes when Keyholder passes the
key's current window (``valid=(start, end)``), so the lock stops accepting a code
at its end by itself, even while Home Assistant is down. Without an end they are
permanent passcodes.

Keypad use is read from the lock's operation log: after every session that reads
the lock, and whenever the lock advertises that it has new records. Nothing here
logs or raises with a code in it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping
import contextlib
from dataclasses import dataclass
from datetime import datetime, timedelta
import logging
import re
from typing import TYPE_CHECKING, Any, Final

from homeassistant.components import bluetooth
from homeassistant.core import HomeAssistant, callback
from homeassistant.util import dt as dt_util
from ttlock_ble import (
    KeyboardPwdType,
    LockAdvertisement,
    LockState,
    LogOperate,
    TTLockClient,
    TTLockError,
    VirtualKey,
)

from ..const import CONF_SLOTS, LOGGER
from ..engine.model import KeyKind, LockCapabilities
from . import LockSetup, ProviderError, RefusesWhileWriting

if TYPE_CHECKING:
    from bleak.backends.device import BLEDevice
    from ttlock_ble import LogEntry, PasscodeEntry

PROVIDER_TTLOCK: Final = "ttlock"
BLUETOOTH_DOMAIN: Final = "bluetooth"
CONF_ADDRESS: Final = "address"
CONF_EKEY: Final = "ekey"
DEFAULT_SLOTS: Final = 20
# The library refuses more than this many passcodes from one lock.
MAX_SLOTS: Final = 150
# How often the lock's clock is checked (with a write of a period passcode).
CLOCK_CHECK: Final = timedelta(hours=6)
# Pause after a failed log fetch before an advertisement may start another.
LOG_RETRY: Final = 60.0
PIN_MIN: Final = 4
PIN_MAX: Final = 9
# TTLock's 128-bit service, as its locks advertise it.
TTLOCK_SERVICE_UUID: Final = "00001910-0000-1000-8000-00805f9b34fb"

# Error bytes the lock answers a passcode command with (TTLock's SDK names them).
_PASSCODE_LENGTH_INVALID: Final = 0x0F
_PASSCODE_EXISTS: Final = 0x14
_PASSCODE_NOT_FOUND: Final = 0x15
_NO_FREE_MEMORY: Final = 0x16
# The library puts the error byte in its message only ("... error=16").
_ERROR_BYTE = re.compile(r"error=([0-9a-f]{2})")
# The firmware keeps dates from 2000 to 2099 (two-digit years).
_LAST_DATE = datetime(2099, 12, 31, 23, 59)  # noqa: DTZ001 - the lock's own wall clock

_KEYPAD_UNLOCKS: Final = frozenset({LogOperate.KEYBOARD_PASSWORD_UNLOCK})

type Validity = tuple[datetime, datetime | None]
"""When a code works: from ``start`` until ``end`` (None: for good)."""


class _NoPlaintext(logging.Filter):
    """Drop the library's debug dumps of decrypted replies (they hold passcodes)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "plaintext" not in str(record.msg)


logging.getLogger("ttlock_ble.client").addFilter(_NoPlaintext())


class NotAdminKeyError(ValueError):
    """The eKey has no admin password, so it cannot manage passcodes."""


_MAC = re.compile(r"^([0-9A-F]{2}:){5}[0-9A-F]{2}$")


def parse_ekey(data: Mapping[str, Any]) -> VirtualKey:
    """
    Build the lock's eKey from what ``ttlock sync`` stores (one keys.json entry).

    Raises ValueError (NotAdminKeyError without an admin password), never
    quoting a value.
    """
    try:
        key = VirtualKey.from_dict(dict(data))
        TTLockClient(key)  # checks the AES key without any I/O
        int(key.unlockKey)
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise ValueError("not a TTLock eKey") from err
    if not key.adminPs.isdigit():
        raise NotAdminKeyError("the eKey carries no admin password")
    return key


def normalize_address(address: str) -> str | None:
    """Return a Bluetooth address as ``AA:BB:CC:DD:EE:FF`` (None if it is none)."""
    text = address.strip().upper().replace("-", ":")
    return text if _MAC.match(text) else None


def _error_byte(err: TTLockError) -> int | None:
    match = _ERROR_BYTE.search(str(err))
    return int(match.group(1), 16) if match else None


def _lock_time(instant: datetime) -> datetime:
    """Return ``instant`` on the lock's clock (Home Assistant's local time, naive)."""
    return min(dt_util.as_local(instant).replace(tzinfo=None), _LAST_DATE)


def _lock_date(instant: datetime) -> str:
    return instant.strftime("%y%m%d%H%M")


@dataclass(frozen=True, slots=True)
class _Held:
    """A passcode on the lock, with its window on the lock's clock (to the minute)."""

    pwd_type: KeyboardPwdType
    start: datetime | None
    end: datetime | None


class TTLockLock(RefusesWhileWriting):
    """A TTLock reached over Bluetooth; slots are this provider's numbering."""

    model = "TTLock (Bluetooth)"
    settle_seconds = 0.0

    def __init__(
        self,
        hass: HomeAssistant,
        *,
        address: str,
        key: VirtualKey,
        slots: int,
        slot_map: dict[int, str],
    ) -> None:
        """Drive the lock at ``address`` with ``key``; ``slot_map`` is persisted."""
        self.hass = hass
        self.address = address.upper()
        self.key = key
        self.slot_map = slot_map
        self._capabilities = LockCapabilities(
            credential_kinds=frozenset({KeyKind.PASSCODE}),
            slot_min=1,
            slot_max=slots,
            pin_min=PIN_MIN,
            pin_max=PIN_MAX,
            can_read_back=True,
            reports_slot=True,
            native_schedule=True,
        )
        self._held: dict[str, _Held] = {}
        self._session_guard = asyncio.Lock()
        self._usage: list[Callable[[int], None]] = []
        self._log_task: asyncio.Task[None] | None = None
        self._log_retry_at = 0.0
        self._clock_checked: datetime | None = None
        # The zone offset the clock was set for: a daylight saving change sets it again.
        self._clock_offset: timedelta | None = None
        self.locked: bool | None = None
        """Where the bolt is, as last heard (None: not known yet)."""

    @property
    def capabilities(self) -> LockCapabilities:
        """Return the lock's capabilities."""
        return self._capabilities

    @property
    def _bluetooth_loaded(self) -> bool:
        return BLUETOOTH_DOMAIN in self.hass.config.components

    @property
    def available(self) -> bool:
        """Return True while Home Assistant hears the lock and can connect to it."""
        return self._bluetooth_loaded and bluetooth.async_address_present(
            self.hass, self.address, connectable=True
        )

    # -- sessions ------------------------------------------------------------

    def _device(self) -> BLEDevice:
        if not self._bluetooth_loaded:
            raise ProviderError(
                "integration_not_loaded", "The Bluetooth integration is not loaded"
            )
        device = bluetooth.async_ble_device_from_address(
            self.hass, self.address, connectable=True
        )
        if device is None:
            raise ProviderError("lock_offline", "The lock is not in Bluetooth range")
        return device

    @contextlib.asynccontextmanager
    async def _session(self, *, read_log: bool = False) -> AsyncIterator[TTLockClient]:
        """Connect, run the body, read new keypad use if asked, and disconnect."""
        async with self._session_guard:
            client = TTLockClient.from_ble_device(
                self._device(), self.key, keep_alive_after_command=0
            )
            try:
                await client.connect()
            except TTLockError as err:
                raise ProviderError("lock_offline", "Could not connect") from err
            try:
                yield client
                if read_log and self._usage:
                    await self._async_read_log(client)
            except TTLockError as err:
                raise _failure(err) from err
            finally:
                with contextlib.suppress(Exception):
                    await client.disconnect()

    async def _async_read_held(self, client: TTLockClient) -> None:
        entries: list[PasscodeEntry] = await client.get_passcodes()
        self._held = {
            entry.passcode: _Held(entry.pwd_type, entry.start_date, entry.end_date)
            for entry in entries
        }

    # -- the protocol --------------------------------------------------------

    async def async_read_slots(self) -> Mapping[int, str | None]:
        """Read the lock's passcodes and report them by slot."""
        async with self._session(read_log=True) as client:
            await self._async_read_held(client)
        on_lock = set(self._held)
        for slot, code in list(self.slot_map.items()):
            if code not in on_lock:
                del self.slot_map[slot]
        known = set(self.slot_map.values())
        for code in sorted(on_lock - known):
            free = self._free_slot()
            if free is None:
                break  # more codes than slots: the rest stay unknown to Keyholder
            self.slot_map[free] = code
        return dict(self.slot_map)

    def _free_slot(self) -> int | None:
        caps = self._capabilities
        return next(
            (
                slot
                for slot in range(caps.slot_min, caps.slot_max + 1)
                if slot not in self.slot_map
            ),
            None,
        )

    def _check(self, slot: int, code: str | None = None) -> None:
        caps = self._capabilities
        if not caps.slot_min <= slot <= caps.slot_max:
            raise ProviderError("slot_out_of_range", f"Slot {slot} does not exist")
        if code is not None and not (
            caps.pin_min <= len(code) <= caps.pin_max
            and code.isascii()
            and code.isdigit()
        ):
            raise ProviderError("code_rejected", "The lock refuses such a code")

    async def async_set_code(
        self, slot: int, code: str, *, valid: Validity | None = None
    ) -> None:
        """Write ``code`` as the passcode of ``slot``, limited to ``valid``."""
        self._check(slot, code)
        wanted = self._wanted(valid)
        held = self._held.get(code)
        if self.slot_map.get(slot) == code and held is not None and _same(held, wanted):
            return  # the last read found it on the lock with this very window
        async with self._session() as client:
            await self._async_read_held(client)
            if valid is not None:
                await self._async_check_clock(client)
            old = self.slot_map.get(slot)
            if old is not None and old != code and old in self._held:
                await self._async_delete(client, old)
            held = self._held.get(code)
            if held is None or not _same(held, wanted):
                if held is not None:
                    await self._async_delete(client, code)
                await self._async_add(client, code, wanted)
                self._held[code] = wanted
            for other in [s for s, c in self.slot_map.items() if c == code]:
                del self.slot_map[other]
            self.slot_map[slot] = code

    async def _async_check_clock(self, client: TTLockClient) -> None:
        """
        Set the lock's clock when it drifted (at most every few hours).

        Period passcodes are only as right as the lock's clock, which keeps
        local wall-clock time with no zone: it also needs setting after a
        daylight saving change. A lock refusing it does not stop the write.
        """
        now = dt_util.utcnow()
        offset = dt_util.as_local(now).utcoffset()
        if (
            self._clock_checked is not None
            and now - self._clock_checked < CLOCK_CHECK
            and offset == self._clock_offset
        ):
            return
        try:
            await client.sync_time(local_time=_lock_time(now))
        except TTLockError:
            # Tried again with the next write.
            LOGGER.warning("Could not check the clock of the TTLock %s", self.address)
            return
        self._clock_checked = now
        self._clock_offset = offset

    async def async_clear_code(self, slot: int) -> None:
        """Delete the passcode of ``slot`` from the lock."""
        self._check(slot)
        async with self._session() as client:
            code = self.slot_map.get(slot)
            if code is not None:
                await self._async_read_held(client)
                if code in self._held:
                    await self._async_delete(client, code)
            self.slot_map.pop(slot, None)

    def _wanted(self, valid: Validity | None) -> _Held:
        if valid is None or valid[1] is None:
            return _Held(KeyboardPwdType.PERMANENT, None, None)
        # A minute early: a lock clock a few seconds behind still takes the
        # code at once (it was not on the lock before, so this grants nothing).
        start = _lock_time(valid[0] - timedelta(minutes=1)).replace(
            second=0, microsecond=0
        )
        end = _lock_time(valid[1]).replace(second=0, microsecond=0)
        return _Held(KeyboardPwdType.PERIOD, start, end)

    async def _async_add(self, client: TTLockClient, code: str, held: _Held) -> None:
        if held.pwd_type is KeyboardPwdType.PERIOD:
            assert held.start is not None
            assert held.end is not None
            await client.add_passcode(
                code,
                pwd_type=KeyboardPwdType.PERIOD,
                start_date=_lock_date(held.start),
                end_date=_lock_date(held.end),
            )
        else:
            await client.add_passcode(code)

    async def _async_delete(self, client: TTLockClient, code: str) -> None:
        held = self._held.pop(code, None)
        pwd_type = held.pwd_type if held else KeyboardPwdType.PERMANENT
        try:
            await client.delete_passcode(code, pwd_type=pwd_type)
        except TTLockError as err:
            if _error_byte(err) != _PASSCODE_NOT_FOUND:
                raise

    # -- keypad use ----------------------------------------------------------

    async def _async_read_log(self, client: TTLockClient) -> None:
        """Report keypad unlocks with a code Keyholder placed (new log entries only)."""
        entries: list[LogEntry] = await client.get_operation_log()
        by_code = {code: slot for slot, code in self.slot_map.items()}
        for entry in entries:
            if entry.record_type not in _KEYPAD_UNLOCKS or entry.password is None:
                continue
            slot = by_code.get(entry.password)
            if slot is None:
                continue
            held = self._held.get(entry.password)
            if (
                held is not None
                and held.start is not None
                and entry.operate_date is not None
                and entry.operate_date < held.start
            ):
                continue  # an earlier life of the same digits
            for on_use in list(self._usage):
                on_use(slot)

    def async_listen_usage(self, on_use: Callable[[int], None]) -> Callable[[], None]:
        """Call ``on_use(slot)`` for keypad unlocks found in the lock's log."""
        self._usage.append(on_use)
        if not self._bluetooth_loaded:
            # Keypad use is still read with every sync; Keyholder reloads with
            # Bluetooth (a dependency loaded before it when both are set up).
            return lambda: self._usage.remove(on_use)
        unsub_adv = bluetooth.async_register_callback(
            self.hass,
            self._on_advertisement,
            bluetooth.BluetoothCallbackMatcher(address=self.address),
            bluetooth.BluetoothScanningMode.PASSIVE,
        )

        def _unsub() -> None:
            unsub_adv()
            self._usage.remove(on_use)

        return _unsub

    @callback
    def _on_advertisement(
        self,
        info: bluetooth.BluetoothServiceInfoBleak,
        _change: bluetooth.BluetoothChange,
    ) -> None:
        """Fetch the log when the lock advertises new records."""
        if not any(
            (adv := LockAdvertisement.from_manufacturer_data(company, payload))
            is not None
            and adv.has_new_records
            for company, payload in info.manufacturer_data.items()
        ):
            return
        if self._log_task is not None and not self._log_task.done():
            return
        if self.hass.loop.time() < self._log_retry_at:
            return  # the last fetch failed: the lock advertises every second
        self._log_task = self.hass.async_create_background_task(
            self._async_fetch_log(), f"keyholder ttlock log {self.address}"
        )

    async def _async_fetch_log(self) -> None:
        try:
            async with self._session(read_log=True):
                pass  # the session reads the log on its way out
        except ProviderError:
            self._log_retry_at = self.hass.loop.time() + LOG_RETRY
            LOGGER.debug("Could not read the log of the TTLock %s", self.address)

    # -- the bolt (the lock entity) --------------------------------------------

    async def async_lock(self) -> None:
        """Throw the bolt over Bluetooth."""
        async with self._session() as client:
            await client.lock()
        self.locked = True

    async def async_unlock(self) -> None:
        """Withdraw the bolt over Bluetooth."""
        async with self._session() as client:
            await client.unlock()
        self.locked = False

    def async_listen_state(self, on_change: Callable[[], None]) -> Callable[[], None]:
        """Call ``on_change()`` when the bolt moves or the lock comes or goes."""
        if not self._bluetooth_loaded:
            return lambda: None
        gone = False

        @callback
        def _on_gone(_info: bluetooth.BluetoothServiceInfoBleak) -> None:
            nonlocal gone
            gone = True
            on_change()

        @callback
        def _on_adv(
            info: bluetooth.BluetoothServiceInfoBleak,
            _change: bluetooth.BluetoothChange,
        ) -> None:
            nonlocal gone
            if gone:
                gone = False
                on_change()
            for company, payload in info.manufacturer_data.items():
                adv = LockAdvertisement.from_manufacturer_data(company, payload)
                if (
                    adv is None
                    or adv.lock_state is None  # dormant: the bit means nothing
                    or adv.lock_mac.upper() != self.address
                ):
                    continue
                locked = adv.lock_state is LockState.LOCKED
                if locked is not self.locked:
                    self.locked = locked
                    on_change()

        unsubs = [
            bluetooth.async_register_callback(
                self.hass,
                _on_adv,
                bluetooth.BluetoothCallbackMatcher(address=self.address),
                bluetooth.BluetoothScanningMode.PASSIVE,
            ),
            bluetooth.async_track_unavailable(
                self.hass, _on_gone, self.address, connectable=True
            ),
        ]

        def _unsub() -> None:
            for unsub in unsubs:
                unsub()

        return _unsub

    def async_listen_available(self, on_back: Callable[[], None]) -> Callable[[], None]:
        """Call ``on_back()`` when the lock is heard again after being gone."""
        if not self._bluetooth_loaded:
            return lambda: None
        gone = not self.available

        @callback
        def _on_gone(_info: bluetooth.BluetoothServiceInfoBleak) -> None:
            nonlocal gone
            gone = True

        @callback
        def _on_seen(
            _info: bluetooth.BluetoothServiceInfoBleak,
            _change: bluetooth.BluetoothChange,
        ) -> None:
            nonlocal gone
            if gone:
                gone = False
                on_back()

        unsubs = [
            bluetooth.async_track_unavailable(
                self.hass, _on_gone, self.address, connectable=True
            ),
            bluetooth.async_register_callback(
                self.hass,
                _on_seen,
                bluetooth.BluetoothCallbackMatcher(
                    address=self.address, connectable=True
                ),
                bluetooth.BluetoothScanningMode.PASSIVE,
            ),
        ]

        def _unsub() -> None:
            for unsub in unsubs:
                unsub()

        return _unsub


def _same(held: _Held, wanted: _Held) -> bool:
    if held.pwd_type is not wanted.pwd_type:
        return False
    if wanted.pwd_type is KeyboardPwdType.PERMANENT:
        return True
    return held.end == wanted.end


def _failure(err: TTLockError) -> ProviderError:
    """Translate what the lock or the link said (the library's text quotes no code)."""
    byte = _error_byte(err)
    text = str(err)
    if "authorize" in text or "validate virtual key" in text:
        return ProviderError("ekey_rejected", "The lock did not accept the eKey")
    if byte == _NO_FREE_MEMORY:
        return ProviderError("lock_full", "The lock has no room for another passcode")
    if byte in (_PASSCODE_LENGTH_INVALID, _PASSCODE_EXISTS):
        return ProviderError("code_rejected", "The lock rejected the passcode")
    if "Timed out" in text:
        return ProviderError("lock_not_answering", "The lock did not answer in time")
    if byte is not None or "rejected" in text:
        return ProviderError("lock_error", "The lock refused the command")
    return ProviderError("lock_offline", "The Bluetooth link to the lock failed")


def from_subentry(setup: LockSetup) -> TTLockLock:
    """Drive the subentry's TTLock with its eKey."""
    data = setup.data
    # The lock numbers no slots: the provider's numbering is kept like a
    # virtual lock's memory (saved with the site).
    return TTLockLock(
        setup.hass,
        address=data[CONF_ADDRESS],
        key=parse_ekey(data[CONF_EKEY]),
        slots=int(data[CONF_SLOTS]),
        slot_map=setup.memory(),
    )
