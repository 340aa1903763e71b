"""
TTLock-family locks reached over Bluetooth, through the ``ttlock-ble`` library.

The lock is found through Home Assistant's ``bluetooth`` integration (local
adapters or Bluetooth proxies); every operation opens a short BLE session with
the lock's eKey (AES key, unlock key and, for passcodes, the admin password) and
closes it again.

A TTLock keeps passcodes, not numbered slots: Keyholder's passcode indices are
this provider's own numbering of the passcodes on the lock, kept in ``slot_map``
(ref -> code, saved with the site). A code found on the lock that is not in the map
(added with the TTLock app, say) is given a free slot of its own, so Keyholder
sees it as someone else's and never touches it.

Codes are written as the lock's own *period* passcodes when Keyholder passes the
key's current window (``valid=(start, end)``), so the lock stops accepting a code
at its end by itself, even while Home Assistant is down. Without an end they are
permanent passcodes.

Keypad use is read from the lock's operation log: after every session that reads
the lock, and whenever the lock advertises that it has new records. What the
lock's answers and clock mean is in :mod:`.ttlock_wire`. Nothing here logs or
raises with a code in it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping
import contextlib
from datetime import datetime, timedelta
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
from ..engine.model import CredentialRef, KeyKind, LockCapabilities, SlotRange
from . import (
    LockSetup,
    ProviderError,
    RefusesWhileWriting,
    Validity,
    check_credential,
)
from .ttlock_wire import (
    PASSCODE_NOT_FOUND,
    Held,
    error_byte,
    failure,
    lock_date,
    lock_time,
    same,
    wanted,
)

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

_KEYPAD_UNLOCKS: Final = frozenset({LogOperate.KEYBOARD_PASSWORD_UNLOCK})


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
        slot_map: dict[CredentialRef, str],
    ) -> None:
        """Drive the lock at ``address`` with ``key``; ``slot_map`` is persisted."""
        self.hass = hass
        self.address = address.upper()
        self.key = key
        self.slot_map = slot_map
        self._capabilities = LockCapabilities(
            slots={KeyKind.PASSCODE: SlotRange(1, slots)},
            pin_min=PIN_MIN,
            pin_max=PIN_MAX,
            can_read_back=True,
            reports_slot=True,
            native_schedule=True,
        )
        self._held: dict[str, Held] = {}
        self._session_guard = asyncio.Lock()
        self._usage: list[Callable[[CredentialRef], None]] = []
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
                raise failure(err) from err
            finally:
                with contextlib.suppress(Exception):
                    await client.disconnect()

    async def _async_read_held(self, client: TTLockClient) -> None:
        entries: list[PasscodeEntry] = await client.get_passcodes()
        self._held = {
            entry.passcode: Held(entry.pwd_type, entry.start_date, entry.end_date)
            for entry in entries
        }

    # -- the protocol --------------------------------------------------------

    async def async_read_credentials(self) -> Mapping[CredentialRef, str | None]:
        """Read the lock's passcodes and report them by the provider's numbering."""
        async with self._session(read_log=True) as client:
            await self._async_read_held(client)
        on_lock = set(self._held)
        for ref, code in list(self.slot_map.items()):
            if code not in on_lock:
                del self.slot_map[ref]
        known = set(self.slot_map.values())
        for code in sorted(on_lock - known):
            free = self._free_slot()
            if free is None:
                break  # more codes than slots: the rest stay unknown to Keyholder
            self.slot_map[free] = code
        return dict(self.slot_map)

    def _free_slot(self) -> CredentialRef | None:
        slots = self._capabilities.slots[KeyKind.PASSCODE]
        refs = (
            CredentialRef(KeyKind.PASSCODE, index)
            for index in range(slots.first, slots.last + 1)
        )
        return next((ref for ref in refs if ref not in self.slot_map), None)

    def _check(self, ref: CredentialRef, code: str | None = None) -> None:
        caps = self._capabilities
        check_credential(caps, ref)
        if code is not None and not (
            caps.pin_min <= len(code) <= caps.pin_max
            and code.isascii()
            and code.isdigit()
        ):
            raise ProviderError("code_rejected", "The lock refuses such a code")

    async def async_set_credential(
        self, ref: CredentialRef, secret: str, *, valid: Validity | None = None
    ) -> None:
        """Write ``secret`` as the passcode of ``ref``, limited to ``valid``."""
        code = secret
        self._check(ref, code)
        want = wanted(valid)
        held = self._held.get(code)
        if self.slot_map.get(ref) == code and held is not None and same(held, want):
            return  # the last read found it on the lock with this very window
        async with self._session() as client:
            await self._async_read_held(client)
            if valid is not None:
                await self._async_check_clock(client)
            old = self.slot_map.get(ref)
            if old is not None and old != code and old in self._held:
                await self._async_delete(client, old)
            held = self._held.get(code)
            if held is None or not same(held, want):
                if held is not None:
                    await self._async_delete(client, code)
                await self._async_add(client, code, want)
                self._held[code] = want
            for other in [r for r, c in self.slot_map.items() if c == code]:
                del self.slot_map[other]
            self.slot_map[ref] = code

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
            await client.sync_time(local_time=lock_time(now))
        except TTLockError:
            # Tried again with the next write.
            LOGGER.warning("Could not check the clock of the TTLock %s", self.address)
            return
        self._clock_checked = now
        self._clock_offset = offset

    async def async_clear_credential(self, ref: CredentialRef) -> None:
        """Delete the passcode of ``ref`` from the lock."""
        self._check(ref)
        async with self._session() as client:
            code = self.slot_map.get(ref)
            if code is not None:
                await self._async_read_held(client)
                if code in self._held:
                    await self._async_delete(client, code)
            self.slot_map.pop(ref, None)

    async def _async_add(self, client: TTLockClient, code: str, held: Held) -> None:
        if held.pwd_type is KeyboardPwdType.PERIOD:
            assert held.start is not None
            assert held.end is not None
            await client.add_passcode(
                code,
                pwd_type=KeyboardPwdType.PERIOD,
                start_date=lock_date(held.start),
                end_date=lock_date(held.end),
            )
        else:
            await client.add_passcode(code)

    async def _async_delete(self, client: TTLockClient, code: str) -> None:
        held = self._held.pop(code, None)
        pwd_type = held.pwd_type if held else KeyboardPwdType.PERMANENT
        try:
            await client.delete_passcode(code, pwd_type=pwd_type)
        except TTLockError as err:
            if error_byte(err) != PASSCODE_NOT_FOUND:
                raise

    # -- keypad use ----------------------------------------------------------

    async def _async_read_log(self, client: TTLockClient) -> None:
        """Report keypad unlocks with a code Keyholder placed (new log entries only)."""
        entries: list[LogEntry] = await client.get_operation_log()
        by_code = {code: ref for ref, code in self.slot_map.items()}
        for entry in entries:
            if entry.record_type not in _KEYPAD_UNLOCKS or entry.password is None:
                continue
            ref = by_code.get(entry.password)
            if ref is None:
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
                on_use(ref)

    def async_listen_usage(
        self, on_use: Callable[[CredentialRef], None]
    ) -> Callable[[], None]:
        """Call ``on_use(ref)`` for keypad unlocks found in the lock's log."""
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
