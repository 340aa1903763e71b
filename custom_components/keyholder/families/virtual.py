"""
The built-in virtual keypad lock, for demos and tests.

It behaves like a simple keypad lock with numbered passcode slots: it stores what
Keyholder writes, reports it back, opens when a code held in a slot is typed,
and can be switched offline to show retries and repair issues. An optional
write delay simulates a radio, so pending sync states can be seen in demos.
Like a real keypad it locks out after a few wrong codes in a row.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from ..const import CONF_PIN_MAX, CONF_PIN_MIN, CONF_SLOTS, CONF_WRITE_DELAY
from ..model.values import CredentialRef, KeyKind, LockCapabilities, SlotRange
from . import (
    LockSetup,
    ProviderError,
    RefusesWhileWriting,
    Validity,
    check_credential,
    check_kind,
)

PROVIDER_VIRTUAL = "virtual"
WRONG_CODES_BEFORE_LOCKOUT = 5
LOCKOUT_FIRST = timedelta(minutes=1)
LOCKOUT_MAX = timedelta(minutes=30)


class KeypadLockout:
    """
    A keypad's guard against guessing, as real keypads have one.

    After ``WRONG_CODES_BEFORE_LOCKOUT`` wrong codes in a row the keypad refuses
    every code, right ones too, for a while; each further lockout before a
    right code lasts twice as long (up to ``LOCKOUT_MAX``). Codes typed while
    locked out are not checked and do not lengthen it. A right code once the
    lockout has ended starts afresh. Kept in memory, like a keypad's counter.
    """

    def __init__(self) -> None:
        """Start with no wrong codes."""
        self._wrong = 0
        self._lockouts = 0
        self._until: datetime | None = None

    def locked_out_until(self, now: datetime) -> datetime | None:
        """Return when the current lockout ends (None: codes are checked)."""
        if self._until is not None and now < self._until:
            return self._until
        return None

    def wrong_code(self, now: datetime) -> None:
        """Count a wrong code; lock out once there were too many in a row."""
        self._wrong += 1
        if self._wrong < WRONG_CODES_BEFORE_LOCKOUT:
            return
        self._wrong = 0
        self._until = now + min(LOCKOUT_FIRST * 2**self._lockouts, LOCKOUT_MAX)
        self._lockouts += 1

    def right_code(self) -> None:
        """Forget wrong codes and earlier lockouts."""
        self._wrong = 0
        self._lockouts = 0
        self._until = None


class VirtualLock(RefusesWhileWriting):
    """A simulated keypad lock whose slots live in Keyholder's store."""

    model = "Virtual keypad lock"
    settle_seconds = 0.0

    def __init__(
        self,
        *,
        slots: int,
        pin_min: int,
        pin_max: int,
        codes: dict[CredentialRef, str],
        write_delay: float = 0.0,
    ) -> None:
        """
        Create the lock around ``codes`` (ref -> code), persisted by the caller.

        Every write or clear takes ``write_delay`` seconds (a simulated radio).
        """
        self._capabilities = LockCapabilities(
            slots={KeyKind.PASSCODE: SlotRange(1, slots)},
            pin_min=pin_min,
            pin_max=pin_max,
            can_read_back=True,
            reports_slot=True,
            native_schedule=False,
        )
        self.codes = codes
        self.write_delay = write_delay
        self.online = True
        self.locked = True
        self.keypad = KeypadLockout()

    @property
    def capabilities(self) -> LockCapabilities:
        """Return the lock's capabilities."""
        return self._capabilities

    @property
    def available(self) -> bool:
        """Return True while the lock is online."""
        return self.online

    def _ensure_online(self) -> None:
        if not self.online:
            raise ProviderError("lock_offline", "The virtual lock is offline")

    async def _transmit(self) -> None:
        """Take the simulated radio's time; the lock may drop offline meanwhile."""
        if self.write_delay:
            await asyncio.sleep(self.write_delay)
            self._ensure_online()

    async def async_read_credentials(self) -> Mapping[CredentialRef, str | None]:
        """Return the codes the lock holds."""
        self._ensure_online()
        return dict(self.codes)

    async def async_set_credential(
        self, ref: CredentialRef, secret: str, *, valid: Validity | None = None
    ) -> None:
        """Store a code in a slot (the lock knows no windows: ``valid`` is None)."""
        self._ensure_online()
        caps = self._capabilities
        check_credential(caps, ref)
        if not caps.pin_min <= len(secret) <= caps.pin_max:
            raise ProviderError("code_rejected", "The lock rejected the code length")
        if self.ref_for_code(secret) not in (None, ref):
            # Like a real keypad: one code opens for one user only.
            raise ProviderError("code_duplicate", f"Another slot than {ref} holds it")
        await self._transmit()
        self.codes[ref] = secret

    async def async_clear_credential(self, ref: CredentialRef) -> None:
        """Empty a slot."""
        self._ensure_online()
        check_kind(self._capabilities, ref)
        await self._transmit()
        self.codes.pop(ref, None)

    def ref_for_code(self, code: str) -> CredentialRef | None:
        """Return where the lock holds ``code`` (what the keypad matches against)."""
        for ref, held in self.codes.items():
            if held == code:
                return ref
        return None

    def async_listen_usage(
        self, on_use: Callable[[CredentialRef], None]
    ) -> Callable[[], None]:
        """Nothing to listen to: the lock entity reports its own keypad use."""
        return lambda: None

    def async_listen_available(self, on_back: Callable[[], None]) -> Callable[[], None]:
        """Nothing to listen to: switching the lock online syncs it at once."""
        return lambda: None


def from_subentry(setup: LockSetup) -> VirtualLock:
    """Build a virtual lock; its codes are kept with the site."""
    data = setup.data
    return VirtualLock(
        slots=int(data[CONF_SLOTS]),
        pin_min=int(data[CONF_PIN_MIN]),
        pin_max=int(data[CONF_PIN_MAX]),
        codes=setup.memory(),
        write_delay=float(data.get(CONF_WRITE_DELAY, 0)),
    )
