"""
The Bluetooth side of one TTLock: hearing it, short sessions with it, its bolt.

Home Assistant's ``bluetooth`` integration (local adapters or Bluetooth
proxies) hears the lock's advertisements and finds it to connect to. Every
operation of the TTLock provider (:mod:`.ttlock`) opens a short BLE session
with the lock's eKey, one at a time, and closes it again. The bolt's position
is read from the advertisements and set by the lock and unlock commands. No
other module of the provider talks to ``bluetooth``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
import contextlib
from typing import TYPE_CHECKING, Final

from homeassistant.components import bluetooth
from homeassistant.core import HomeAssistant, callback
from ttlock_ble import (
    LockAdvertisement,
    LockState,
    TTLockClient,
    TTLockError,
    VirtualKey,
)

from . import ProviderError
from .ttlock_wire import failure

if TYPE_CHECKING:
    from bleak.backends.device import BLEDevice

BLUETOOTH_DOMAIN: Final = "bluetooth"

type Advertised = Callable[
    [bluetooth.BluetoothServiceInfoBleak, bluetooth.BluetoothChange], None
]
"""A callback for the lock's advertisements."""


class TTLockLink:
    """Sessions with one TTLock over Bluetooth, and what its advertisements say."""

    def __init__(self, hass: HomeAssistant, address: str, key: VirtualKey) -> None:
        """Reach the lock at ``address`` (upper case) with its eKey ``key``."""
        self.hass = hass
        self.address = address
        self._key = key
        self._session_guard = asyncio.Lock()
        self.locked: bool | None = None
        """Where the bolt is, as last heard (None: not known yet)."""

    @property
    def bluetooth_loaded(self) -> bool:
        """Return True once Home Assistant's bluetooth integration is loaded."""
        return BLUETOOTH_DOMAIN in self.hass.config.components

    @property
    def available(self) -> bool:
        """Return True while Home Assistant hears the lock and can connect to it."""
        return self.bluetooth_loaded and bluetooth.async_address_present(
            self.hass, self.address, connectable=True
        )

    # -- sessions ------------------------------------------------------------

    def _device(self) -> BLEDevice:
        if not self.bluetooth_loaded:
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
    async def session(
        self, *, after: Callable[[TTLockClient], Awaitable[None]] | None = None
    ) -> AsyncIterator[TTLockClient]:
        """Connect, run the body, then ``after(client)`` if given, and disconnect."""
        async with self._session_guard:
            client = TTLockClient.from_ble_device(
                self._device(), self._key, keep_alive_after_command=0
            )
            try:
                await client.connect()
            except TTLockError as err:
                raise ProviderError("lock_offline", "Could not connect") from err
            try:
                yield client
                if after is not None:
                    await after(client)
            except TTLockError as err:
                raise failure(err) from err
            finally:
                with contextlib.suppress(Exception):
                    await client.disconnect()

    # -- the bolt ------------------------------------------------------------

    async def async_lock(self) -> None:
        """Throw the bolt over Bluetooth."""
        async with self.session() as client:
            await client.lock()
        self.locked = True

    async def async_unlock(self) -> None:
        """Withdraw the bolt over Bluetooth."""
        async with self.session() as client:
            await client.unlock()
        self.locked = False

    # -- what Home Assistant hears -------------------------------------------

    def listen_advertisements(self, on_adv: Advertised) -> Callable[[], None]:
        """Call ``on_adv`` with each advertisement of the lock (bluetooth loaded)."""
        return bluetooth.async_register_callback(
            self.hass,
            on_adv,
            bluetooth.BluetoothCallbackMatcher(address=self.address),
            bluetooth.BluetoothScanningMode.PASSIVE,
        )

    def async_listen_state(self, on_change: Callable[[], None]) -> Callable[[], None]:
        """Call ``on_change()`` when the bolt moves or the lock comes or goes."""
        if not self.bluetooth_loaded:
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
            self.listen_advertisements(_on_adv),
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
        if not self.bluetooth_loaded:
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
