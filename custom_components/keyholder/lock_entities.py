"""
Lock entities Keyholder owns: the virtual keypad locks and TTLocks it drives.

Which family gets which entity is written in the lock family registry
(``lock_families``); the lock platform adds them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
import math
from typing import Any

from homeassistant.components.lock import LockEntity
from homeassistant.components.lock.const import LockEntityFeature
from homeassistant.exceptions import HomeAssistantError
from homeassistant.util import dt as dt_util

from .access.errors import validation_error
from .const import DOMAIN
from .entity import KeyholderEntity, lock_device
from .families import ProviderError
from .families.ttlock import TTLockLock
from .families.virtual import VirtualLock
from .sync.runtime import KeyholderRuntime
from .sync.state import AccessResult


class TTLockEntity(KeyholderEntity, LockEntity):
    """A TTLock's bolt, driven over Bluetooth (its state from its advertisements)."""

    _attr_name = None

    def __init__(
        self, runtime: KeyholderRuntime, lock_id: str, lock: TTLockLock
    ) -> None:
        """Create the entity of one TTLock."""
        super().__init__(runtime, lock_id, "ttlock")
        self._lock_id = lock_id
        self._lock = lock
        self._attr_device_info = lock_device(runtime, lock_id)

    async def async_added_to_hass(self) -> None:
        """Follow the lock's advertisements too."""
        await super().async_added_to_hass()
        self.async_on_remove(self._lock.async_listen_state(self.async_write_ha_state))

    @property
    def available(self) -> bool:
        """Return True while Home Assistant hears the lock."""
        return self._lock.available

    @property
    def is_locked(self) -> bool | None:
        """Return where the bolt is, as last heard."""
        return self._lock.locked

    async def async_lock(self, **kwargs: Any) -> None:
        """Lock over Bluetooth."""
        await self._async_drive(self._lock.async_lock)

    async def async_unlock(self, **kwargs: Any) -> None:
        """Unlock over Bluetooth."""
        await self._async_drive(self._lock.async_unlock)

    async def _async_drive(self, action: Callable[[], Awaitable[None]]) -> None:
        try:
            await action()
        except ProviderError as err:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key=err.reason,
                translation_placeholders={
                    "lock": self.runtime.locks[self._lock_id].name
                },
            ) from err
        self.async_write_ha_state()


class VirtualLockEntity(KeyholderEntity, LockEntity):
    """A simulated keypad lock: opens only with a code it holds right now."""

    _attr_name = None
    # Locking needs no code; unlocking and opening need one the lock holds.
    _attr_code_format = r"^(\d{4,10})?$"
    _attr_supported_features = LockEntityFeature.OPEN
    _attr_is_open = False

    def __init__(
        self, runtime: KeyholderRuntime, lock_id: str, lock: VirtualLock
    ) -> None:
        """Create the entity of one virtual lock."""
        super().__init__(runtime, lock_id, "virtual_lock")
        self._lock_id = lock_id
        self._lock = lock
        self._attr_device_info = lock_device(runtime, lock_id)

    @property
    def available(self) -> bool:
        """Return False while the lock is switched offline."""
        return self._lock.online

    @property
    def is_locked(self) -> bool:
        """Return True while the bolt is thrown."""
        return self._lock.locked

    async def async_lock(self, **kwargs: Any) -> None:
        """Lock (no code needed)."""
        self._lock.locked = True
        self._attr_is_open = False
        self.async_write_ha_state()

    async def async_unlock(self, **kwargs: Any) -> None:
        """Unlock with a code held by the lock and active right now."""
        await self._async_use_code(kwargs.get("code"))
        self.async_write_ha_state()

    async def async_open(self, **kwargs: Any) -> None:
        """Open the door (same rules as unlocking)."""
        await self._async_use_code(kwargs.get("code"))
        self._attr_is_open = True
        self.async_write_ha_state()

    async def _async_use_code(self, code: str | None) -> None:
        """
        Let the keypad check a code; raise when it does not open the lock.

        Home Assistant already refused a missing or malformed code (code_format).
        A refused code is the caller's mistake (HTTP 400), not a failure: it is
        not logged. While the keypad is locked out no code is checked.
        """
        name = self.runtime.locks[self._lock_id].name
        if not self._lock.online:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="lock_offline",
                translation_placeholders={"lock": name},
            )
        keypad = self._lock.keypad
        now = dt_util.utcnow()
        if (until := keypad.locked_out_until(now)) is not None:
            self.runtime.access.async_keypad_locked_out(self._lock_id)
            seconds = math.ceil((until - now).total_seconds())
            raise validation_error("keypad_locked_out", lock=name, seconds=str(seconds))
        event = await self.runtime.access.async_keypad_code(
            self._lock_id, self._lock.ref_for_code(code or "")
        )
        if event.result is not AccessResult.UNLOCKED:
            keypad.wrong_code(now)
            raise validation_error("wrong_code")
        keypad.right_code()
        self._lock.locked = False
