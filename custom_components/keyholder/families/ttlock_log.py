"""
Keypad use, read from a TTLock's operation log.

The lock records what happened at it. The TTLock provider (:mod:`.ttlock`)
reads the new records at the end of every session that reads the lock, and
whenever the lock advertises that it has new records; a failed fetch pauses
fetching for a while (the lock advertises every second), and the next sync
reads the use anyway. Each keypad unlock with a code Keyholder placed is
reported by the code's slot, unless it predates the code's window (an earlier
life of the same digits). Nothing here logs a code.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from homeassistant.core import callback
from ttlock_ble import LockAdvertisement, LogOperate, TTLockClient

from ..const import LOGGER
from ..model.values import CredentialRef
from . import ProviderError
from .ttlock_link import TTLockLink
from .ttlock_passcodes import TTLockPasscodes

if TYPE_CHECKING:
    from homeassistant.components import bluetooth
    from ttlock_ble import LogEntry

# Pause after a failed log fetch before an advertisement may start another.
LOG_RETRY: Final = 60.0

_KEYPAD_UNLOCKS: Final = frozenset({LogOperate.KEYBOARD_PASSWORD_UNLOCK})


class TTLockLog:
    """Who listens for keypad use at one TTLock, and reading its log for them."""

    def __init__(self, link: TTLockLink, passcodes: TTLockPasscodes) -> None:
        """Read the log of the lock ``link`` reaches, by the slots of ``passcodes``."""
        self._link = link
        self._passcodes = passcodes
        self._usage: list[Callable[[CredentialRef], None]] = []
        self._log_task: asyncio.Task[None] | None = None
        self._log_retry_at = 0.0

    async def async_read(self, client: TTLockClient) -> None:
        """Report keypad unlocks with a code Keyholder placed (new log entries only)."""
        if not self._usage:
            return
        entries: list[LogEntry] = await client.get_operation_log()
        passcodes = self._passcodes
        by_code = {code: ref for ref, code in passcodes.slot_map.items()}
        for entry in entries:
            if entry.record_type not in _KEYPAD_UNLOCKS or entry.password is None:
                continue
            ref = by_code.get(entry.password)
            if ref is None:
                continue
            held = passcodes.held.get(entry.password)
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
        if not self._link.bluetooth_loaded:
            # Keypad use is still read with every sync; Keyholder reloads with
            # Bluetooth (a dependency loaded before it when both are set up).
            return lambda: self._usage.remove(on_use)
        unsub_adv = self._link.listen_advertisements(self._on_advertisement)

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
        hass = self._link.hass
        if hass.loop.time() < self._log_retry_at:
            return  # the last fetch failed: the lock advertises every second
        self._log_task = hass.async_create_background_task(
            self._async_fetch(), f"keyholder ttlock log {self._link.address}"
        )

    async def _async_fetch(self) -> None:
        try:
            async with self._link.session(after=self.async_read):
                pass  # the session reads the log on its way out
        except ProviderError:
            self._log_retry_at = self._link.hass.loop.time() + LOG_RETRY
            LOGGER.debug("Could not read the log of the TTLock %s", self._link.address)
