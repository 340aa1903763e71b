"""
TTLock-family locks reached over Bluetooth, through the ``ttlock-ble`` library.

The lock is found through Home Assistant's ``bluetooth`` integration (local
adapters or Bluetooth proxies); every operation opens a short BLE session with
the lock's eKey (AES key, unlock key and, for passcodes, the admin password) and
closes it again (:mod:`.ttlock_link`, which also follows the bolt).

A TTLock keeps passcodes, not numbered slots: Keyholder's passcode indices are
this provider's own numbering of the passcodes on the lock, saved with the site
(:mod:`.ttlock_passcodes`, which also gives codes someone else put there slots
of their own, never touched).

Codes are written as the lock's own *period* passcodes when Keyholder passes the
key's current window (``valid=(start, end)``), so the lock stops accepting a code
at its end by itself, even while Home Assistant is down. Without an end they are
permanent passcodes.

Keypad use is read from the lock's operation log (:mod:`.ttlock_log`): after
every session that reads the lock, and whenever the lock advertises that it has
new records. What the lock's answers and clock mean is in :mod:`.ttlock_wire`.
Nothing here logs or raises with a code in it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
import re
from typing import Any, Final

from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
from ttlock_ble import TTLockClient, TTLockError, VirtualKey

from ..const import CONF_SLOTS, LOGGER
from ..model.values import CredentialRef, KeyKind, LockCapabilities, SlotRange
from . import (
    LockSetup,
    ProviderError,
    RefusesWhileWriting,
    Validity,
    check_credential,
)
from .ttlock_link import TTLockLink
from .ttlock_log import TTLockLog
from .ttlock_passcodes import TTLockPasscodes
from .ttlock_wire import lock_time, wanted

PROVIDER_TTLOCK: Final = "ttlock"
CONF_ADDRESS: Final = "address"
CONF_EKEY: Final = "ekey"
DEFAULT_SLOTS: Final = 20
# The library refuses more than this many passcodes from one lock.
MAX_SLOTS: Final = 150
# How often the lock's clock is checked (with a write of a period passcode).
CLOCK_CHECK: Final = timedelta(hours=6)
PIN_MIN: Final = 4
PIN_MAX: Final = 9
# TTLock's 128-bit service, as its locks advertise it.
TTLOCK_SERVICE_UUID: Final = "00001910-0000-1000-8000-00805f9b34fb"


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
        self._capabilities = LockCapabilities(
            slots={KeyKind.PASSCODE: SlotRange(1, slots)},
            pin_min=PIN_MIN,
            pin_max=PIN_MAX,
            can_read_back=True,
            reports_slot=True,
            native_schedule=True,
        )
        self._link = TTLockLink(hass, self.address, key)
        self._passcodes = TTLockPasscodes(
            slot_map, self._capabilities.slots[KeyKind.PASSCODE]
        )
        self._log = TTLockLog(self._link, self._passcodes)
        self._clock_checked: datetime | None = None
        # The zone offset the clock was set for: a daylight saving change sets it again.
        self._clock_offset: timedelta | None = None

    @property
    def capabilities(self) -> LockCapabilities:
        """Return the lock's capabilities."""
        return self._capabilities

    @property
    def slot_map(self) -> dict[CredentialRef, str]:
        """Return the provider's numbering: ref -> code (saved with the site)."""
        return self._passcodes.slot_map

    @property
    def available(self) -> bool:
        """Return True while Home Assistant hears the lock and can connect to it."""
        return self._link.available

    # -- the protocol --------------------------------------------------------

    async def async_read_credentials(self) -> Mapping[CredentialRef, str | None]:
        """Read the lock's passcodes and report them by the provider's numbering."""
        async with self._link.session(after=self._log.async_read) as client:
            await self._passcodes.async_read(client)
        return self._passcodes.assign_slots()

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
        if self._passcodes.holds(ref, code, want):
            return  # the last read found it on the lock with this very window
        async with self._link.session() as client:
            await self._passcodes.async_read(client)
            if valid is not None:
                await self._async_check_clock(client)
            await self._passcodes.async_write(client, ref, code, want)

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
        async with self._link.session() as client:
            await self._passcodes.async_clear(client, ref)

    def async_listen_usage(
        self, on_use: Callable[[CredentialRef], None]
    ) -> Callable[[], None]:
        """Call ``on_use(ref)`` for keypad unlocks found in the lock's log."""
        return self._log.async_listen_usage(on_use)

    def async_listen_available(self, on_back: Callable[[], None]) -> Callable[[], None]:
        """Call ``on_back()`` when the lock is heard again after being gone."""
        return self._link.async_listen_available(on_back)

    # -- the bolt (the lock entity) --------------------------------------------

    @property
    def locked(self) -> bool | None:
        """Return where the bolt is, as last heard (None: not known yet)."""
        return self._link.locked

    async def async_lock(self) -> None:
        """Throw the bolt over Bluetooth."""
        await self._link.async_lock()

    async def async_unlock(self) -> None:
        """Withdraw the bolt over Bluetooth."""
        await self._link.async_unlock()

    def async_listen_state(self, on_change: Callable[[], None]) -> Callable[[], None]:
        """Call ``on_change()`` when the bolt moves or the lock comes or goes."""
        return self._link.async_listen_state(on_change)


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
