"""
Z-Wave JS locks, driven through Home Assistant's own zwave_js actions.

Codes are written with ``zwave_js.set_lock_usercode`` / ``clear_lock_usercode``
and read back with ``zwave_js.get_lock_usercode``; keypad use arrives as
``zwave_js_notification`` events (Access Control, keypad unlock, ``userId``).
Keyholder never imports the Z-Wave library itself.

The driver's values trail the lock by about a second after a write, so the
provider remembers what it just wrote and reports that for a short while until
the lock's own report catches up; otherwise a stale read would undo the write.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
import time
from typing import Any

from homeassistant.const import ATTR_DEVICE_ID, ATTR_ENTITY_ID, STATE_UNAVAILABLE
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError, ServiceNotFound
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.event import async_track_state_change_event

from ..engine.model import KeyKind, LockCapabilities
from . import ProviderError

PROVIDER_ZWAVE_JS = "zwave_js"
ZWAVE_DOMAIN = "zwave_js"
EVENT_NOTIFICATION = "zwave_js_notification"
ACCESS_CONTROL = 6
KEYPAD_UNLOCK = 6
NOTIFICATION_CC = 113
DEFAULT_SLOTS = 30
# User Code CC allows 4 to 10 digits.
PIN_MIN = 4
PIN_MAX = 10


def _masked(code: object) -> bool:
    """Return True for a code the lock reports only as a mask (e.g. '****')."""
    return isinstance(code, str) and bool(code) and set(code) == {"*"}


class ZwaveJSLock:
    """A Z-Wave lock known to Home Assistant's zwave_js integration."""

    model = "Z-Wave lock"
    # The driver reports a new code about 1.2 s after the write.
    settle_seconds = 3.0

    def __init__(self, hass: HomeAssistant, entity_id: str) -> None:
        """Drive the zwave_js lock entity ``entity_id``."""
        self._hass = hass
        self.entity_id = entity_id
        self._slots = DEFAULT_SLOTS
        self._masks = False
        # slot -> (code we wrote or None for cleared, monotonic deadline)
        self._expect: dict[int, tuple[str | None, float]] = {}

    @property
    def capabilities(self) -> LockCapabilities:
        """Return what the node reported (slot count known after a first read)."""
        return LockCapabilities(
            credential_kinds=frozenset({KeyKind.PASSCODE}),
            slot_min=1,
            slot_max=self._slots,
            pin_min=PIN_MIN,
            pin_max=PIN_MAX,
            can_read_back=not self._masks,
            reports_slot=True,
            native_schedule=False,
        )

    @property
    def available(self) -> bool:
        """Return True when the lock entity exists and is not unavailable."""
        state = self._hass.states.get(self.entity_id)
        return state is not None and state.state != STATE_UNAVAILABLE

    def _ensure_available(self) -> None:
        if not self.available:
            raise ProviderError(
                "lock_offline", f"{self.entity_id} is unavailable or unknown"
            )

    async def _call(
        self, service: str, data: dict[str, Any], *, response: bool = False
    ) -> Any:
        self._ensure_available()
        try:
            return await self._hass.services.async_call(
                ZWAVE_DOMAIN,
                service,
                {ATTR_ENTITY_ID: self.entity_id, **data},
                blocking=True,
                return_response=response,
            )
        except ServiceNotFound as err:
            raise ProviderError("integration_not_loaded", str(err)) from err
        except HomeAssistantError as err:
            # Z-Wave JS messages name slots, never codes.
            raise ProviderError("lock_error", str(err)) from err

    async def async_read_slots(self) -> Mapping[int, str | None]:
        """Return the occupied slots: slot -> code, or None where masked."""
        response = await self._call("get_lock_usercode", {}, response=True)
        slots: dict[str, Any] = response.get(self.entity_id, {}) if response else {}
        if slots:
            self._slots = max(int(slot) for slot in slots)
        result: dict[int, str | None] = {}
        for key, info in slots.items():
            code = info.get("usercode")
            if not info.get("in_use") or not code:
                continue
            if _masked(code):
                self._masks = True
                result[int(key)] = None
            else:
                result[int(key)] = str(code)
        return self._settle(result)

    def _settle(self, reported: dict[int, str | None]) -> dict[int, str | None]:
        """Overlay writes the driver has not reported back yet."""
        now = time.monotonic()
        for slot, (code, deadline) in list(self._expect.items()):
            if (
                now >= deadline
                or (code is None and slot not in reported)
                or (code is not None and reported.get(slot, "") in (code, None))
            ):
                del self._expect[slot]
            elif code is None:
                reported.pop(slot, None)
            else:
                reported[slot] = code
        return reported

    async def async_set_code(self, slot: int, code: str) -> None:
        """Write a code into a slot."""
        if not 1 <= slot <= self._slots:
            raise ProviderError("slot_out_of_range", f"Slot {slot} does not exist")
        if not PIN_MIN <= len(code) <= PIN_MAX:
            raise ProviderError("code_rejected", "Z-Wave codes have 4 to 10 digits")
        await self._call("set_lock_usercode", {"code_slot": slot, "usercode": code})
        self._expect[slot] = (code, time.monotonic() + self.settle_seconds)

    async def async_clear_code(self, slot: int) -> None:
        """Empty a slot."""
        await self._call("clear_lock_usercode", {"code_slot": slot})
        self._expect[slot] = (None, time.monotonic() + self.settle_seconds)

    @callback
    def async_listen_usage(self, on_use: Callable[[int], None]) -> Callable[[], None]:
        """Call ``on_use(slot)`` when the lock reports a keypad unlock."""
        registry = er.async_get(self._hass)

        @callback
        def _on_notification(event: Event) -> None:
            data = event.data
            entity = registry.async_get(self.entity_id)
            if (
                entity is None
                or data.get(ATTR_DEVICE_ID) != entity.device_id
                or data.get("command_class") != NOTIFICATION_CC
                or data.get("type") != ACCESS_CONTROL
                or data.get("event") != KEYPAD_UNLOCK
            ):
                return
            user_id = (data.get("parameters") or {}).get("userId")
            if isinstance(user_id, int):
                on_use(user_id)

        return self._hass.bus.async_listen(EVENT_NOTIFICATION, _on_notification)

    @callback
    def async_listen_available(self, on_back: Callable[[], None]) -> Callable[[], None]:
        """Call ``on_back()`` when the lock entity leaves ``unavailable``."""

        @callback
        def _on_state(event: Event[EventStateChangedData]) -> None:
            old, new = event.data["old_state"], event.data["new_state"]
            if (
                new is not None
                and new.state != STATE_UNAVAILABLE
                and (old is None or old.state == STATE_UNAVAILABLE)
            ):
                on_back()

        return async_track_state_change_event(self._hass, self.entity_id, _on_state)
