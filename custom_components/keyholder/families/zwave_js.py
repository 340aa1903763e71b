"""
Z-Wave JS locks, driven through Home Assistant's own zwave_js actions.

These locks hold passcodes (User Code CC user codes, numbered from 1). Codes are
written with ``zwave_js.set_lock_usercode`` / ``clear_lock_usercode`` and read
back with ``zwave_js.get_lock_usercode``; a code is set by calling the lock
entity's own handler of ``set_lock_usercode`` (the action would record the code
in Home Assistant's ``call_service`` event, which the recorder keeps). Keypad
use arrives two ways: as ``zwave_js_notification`` events (Access Control,
keypad unlock, ``userId``), and, from locks that speak the older Alarm reports,
as updates of the node's alarm values (see :mod:`.zwave_js_reports`); one
unlock counts once. Refused codes and keypad lockouts arrive as Access Control
notifications too (see ``REFUSED_EVENTS``, ``LOCKOUT_EVENTS``).

The driver's values trail the lock by about a second after a write, so the
provider remembers what it just wrote and reports that for a short while until
the lock's own report catches up; otherwise a stale read would undo the write.

A lock refusing a code it already holds acknowledges the write and then sends an
Access Control notification (event 15, duplicate code), naming no slot (or the
slot as ``userId``). It is taken as refusing the codes written in the last few
seconds; :meth:`ZwaveJSLock.refusal` tells the runtime, which reads the slots
back and counts a refusal only for a slot that did not take its code.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
import logging
import time
from typing import Any, Final

from homeassistant.const import ATTR_DEVICE_ID, ATTR_ENTITY_ID
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError, ServiceNotFound
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.event import async_track_state_change_event

from ..const import CONF_LOCK_ENTITY
from ..model.values import CredentialRef, KeyKind, LockCapabilities, SlotRange
from . import (
    LockSetup,
    ProviderError,
    Refusal,
    Validity,
    check_kind,
    platform_lock_entity,
)
from .entity import LockEntityProvider
from .zwave_js_reports import NOTIFICATION_CC, AlarmWatch, KeypadReports

_LOGGER = logging.getLogger(__name__)

PROVIDER_ZWAVE_JS = "zwave_js"
ZWAVE_DOMAIN = "zwave_js"
EVENT_NOTIFICATION = "zwave_js_notification"
ACCESS_CONTROL = 6
KEYPAD_UNLOCK = 6
# Access Control events of a refused code: unlock by RF with an invalid user
# code (0x14), invalid credential used (0x32); and of a keypad that stopped
# taking codes: keypad temporarily disabled (0x10), manually entered user
# access codes exceed the code limit (0x13).
REFUSED_EVENTS: Final = frozenset({0x14, 0x32})
LOCKOUT_EVENTS: Final = frozenset({0x10, 0x13})
# Access Control: "New user code not added due to duplicate code".
CODE_DUPLICATE_EVENT = 15
DEFAULT_SLOTS = 30
# User Code CC allows 4 to 10 digits.
PIN_MIN = 4
PIN_MAX = 10


def _pin(slot: int) -> CredentialRef:
    return CredentialRef(KeyKind.PASSCODE, slot)


def _masked(code: object) -> bool:
    """Return True for a code the lock reports only as a mask (e.g. '****')."""
    return isinstance(code, str) and bool(code) and set(code) == {"*"}


class ZwaveJSLock(LockEntityProvider):
    """A Z-Wave lock known to Home Assistant's zwave_js integration."""

    model = "Z-Wave lock"
    # The driver reports a new code about 1.2 s after the write.
    settle_seconds = 3.0

    def __init__(self, hass: HomeAssistant, entity_id: str) -> None:
        """Drive the zwave_js lock entity ``entity_id``."""
        super().__init__(hass, entity_id)
        self._slots = DEFAULT_SLOTS
        self._masks = False
        # slot -> (code we wrote or None for cleared, monotonic deadline)
        self._expect: dict[int, tuple[str | None, float]] = {}
        # slot -> why the lock refused the code last written there
        self._refused: dict[int, str] = {}

    @property
    def capabilities(self) -> LockCapabilities:
        """Return what the node reported (slot count known after a first read)."""
        return LockCapabilities(
            slots={KeyKind.PASSCODE: SlotRange(1, self._slots)},
            pin_min=PIN_MIN,
            pin_max=PIN_MAX,
            can_read_back=not self._masks,
            reports_slot=True,
            native_schedule=False,
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

    async def async_read_credentials(self) -> Mapping[CredentialRef, str | None]:
        """Return the codes the lock holds: ref -> code, or None where masked."""
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
        return {_pin(slot): code for slot, code in self._settle(result).items()}

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

    async def async_set_credential(
        self, ref: CredentialRef, secret: str, *, valid: Validity | None = None
    ) -> None:
        """Write a code into a slot (the lock holds no windows: ``valid`` is None)."""
        check_kind(self.capabilities, ref)
        slot, code = ref.index, secret
        if not 1 <= slot <= self._slots:
            raise ProviderError("slot_out_of_range", f"Slot {slot} does not exist")
        if not PIN_MIN <= len(code) <= PIN_MAX:
            raise ProviderError("code_rejected", "Z-Wave codes have 4 to 10 digits")
        self._ensure_available()
        entity = platform_lock_entity(self._hass, self.entity_id, ZWAVE_DOMAIN)
        self._refused.pop(slot, None)
        # Expected before it is sent: the lock may report a refusal at once.
        self._expect[slot] = (code, time.monotonic() + self.settle_seconds)
        try:
            await entity.async_set_lock_usercode(code_slot=slot, usercode=code)
        except HomeAssistantError as err:
            del self._expect[slot]
            # Z-Wave JS messages name slots, never codes.
            raise ProviderError("lock_error", str(err)) from err
        self._expect[slot] = (code, time.monotonic() + self.settle_seconds)

    async def async_clear_credential(self, ref: CredentialRef) -> None:
        """Empty a slot."""
        check_kind(self.capabilities, ref)
        slot = ref.index
        self._refused.pop(slot, None)
        await self._call("clear_lock_usercode", {"code_slot": slot})
        self._expect[slot] = (None, time.monotonic() + self.settle_seconds)

    def refusal(self, ref: CredentialRef) -> str | None:
        """Return ``code_duplicate`` when the lock refused the code of ``ref``."""
        return self._refused.get(ref.index) if ref.kind is KeyKind.PASSCODE else None

    @callback
    def _on_duplicate(self, user_id: object) -> None:
        """Mark the codes just written (or the slot named) as refused."""
        now = time.monotonic()
        for slot, (code, deadline) in self._expect.items():
            if code is not None and now < deadline and user_id in (None, slot):
                self._refused[slot] = "code_duplicate"
        _LOGGER.debug("%s refused a code it already holds", self.entity_id)

    @callback
    def async_listen_usage(
        self, on_use: Callable[[CredentialRef], None]
    ) -> Callable[[], None]:
        """
        Call ``on_use(ref)`` once per keypad unlock the lock reports.

        Also follows the lock's reports of refused (duplicate) codes.
        """
        registry = er.async_get(self._hass)
        reports = KeypadReports(lambda slot: on_use(_pin(slot)))
        alarms = AlarmWatch(self._hass, self.entity_id, reports.alarm)

        @callback
        def _on_notification(event: Event) -> None:
            data = event.data
            event_kind = self._access_control_event(registry, data)
            if event_kind not in (CODE_DUPLICATE_EVENT, KEYPAD_UNLOCK):
                return
            parameters = data.get("parameters")
            user_id = parameters.get("userId") if isinstance(parameters, dict) else None
            if event_kind == CODE_DUPLICATE_EVENT:
                self._on_duplicate(user_id if isinstance(user_id, int) else None)
            elif isinstance(user_id, int):
                reports.notification(user_id)

        unsubs = [
            self._hass.bus.async_listen(EVENT_NOTIFICATION, _on_notification),
            # The node object is new after zwave_js reloads or the lock is
            # re-included, and missing while zwave_js is not loaded: look again
            # whenever the lock entity changes.
            async_track_state_change_event(self._hass, self.entity_id, alarms.changed),
            alarms.stop,
        ]
        alarms.refresh()

        @callback
        def _unsub() -> None:
            for unsub in unsubs:
                unsub()

        return _unsub

    @callback
    def async_listen_refused(
        self, on_refused: Callable[[Refusal], None]
    ) -> Callable[[], None]:
        """Call ``on_refused`` for refused codes and lockouts the lock reports."""
        registry = er.async_get(self._hass)

        @callback
        def _on_notification(event: Event) -> None:
            kind = self._access_control_event(registry, event.data)
            if kind in LOCKOUT_EVENTS:
                on_refused(Refusal.LOCKED_OUT)
            elif kind in REFUSED_EVENTS:
                on_refused(Refusal.WRONG_CODE)

        return self._hass.bus.async_listen(EVENT_NOTIFICATION, _on_notification)

    def _access_control_event(
        self, registry: er.EntityRegistry, data: Mapping[str, Any]
    ) -> object:
        """Return the event of an Access Control notification of this lock."""
        entity = registry.async_get(self.entity_id)
        if (
            entity is None
            or data.get(ATTR_DEVICE_ID) != entity.device_id
            or data.get("command_class") != NOTIFICATION_CC
            or data.get("type") != ACCESS_CONTROL
        ):
            return None
        return data.get("event")


def from_subentry(setup: LockSetup) -> ZwaveJSLock:
    """Drive the subentry's zwave_js lock entity."""
    return ZwaveJSLock(setup.hass, setup.data[CONF_LOCK_ENTITY])
