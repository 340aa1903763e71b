"""
Z-Wave JS locks, driven through Home Assistant's own zwave_js actions.

Codes are written with ``zwave_js.set_lock_usercode`` / ``clear_lock_usercode``
and read back with ``zwave_js.get_lock_usercode``; a code is set by calling the
lock entity's own handler of ``set_lock_usercode`` (the action would record the
code in Home Assistant's ``call_service`` event, which the recorder keeps). Keypad use arrives two ways:
as ``zwave_js_notification`` events (Access Control, keypad unlock, ``userId``),
and, from locks that speak the older Alarm reports, as updates of the node's
Notification CC ``alarmType`` / ``alarmLevel`` values (type 19: keypad unlock,
level: user slot). Home Assistant shows those only as disabled sensors, so the
provider listens to the node itself. A lock may send both for one unlock; that
counts once. Refused codes and keypad lockouts arrive as Access Control
notifications too (see ``REFUSED_EVENTS``, ``LOCKOUT_EVENTS``). Keyholder never imports the Z-Wave library itself; it finds the
node through zwave_js's own helper.

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
from typing import TYPE_CHECKING, Any, Final

from homeassistant.const import ATTR_DEVICE_ID, ATTR_ENTITY_ID
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError, ServiceNotFound
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.event import async_track_state_change_event

from ..const import CONF_LOCK_ENTITY
from ..engine.model import KeyKind, LockCapabilities
from . import LockSetup, ProviderError, Refusal, platform_lock_entity
from .entity import LockEntityProvider

if TYPE_CHECKING:
    from zwave_js_server.model.node import Node as ZwaveNode

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
NOTIFICATION_CC = 113
# Alarm (Notification v1) types meaning "unlocked at the keypad by the user in slot
# alarmLevel": 19 in Kwikset's and Yale's tables (zwave-js maps both to Access
# Control / keypad unlock with userId = alarmLevel).
KEYPAD_UNLOCK_ALARM_TYPES: Final = frozenset({19})
ALARM_TYPE = "alarmType"
ALARM_LEVEL = "alarmLevel"
# One unlock reported both as a notification and as alarm values arrives within
# milliseconds; two reports of different kinds for one slot this close together
# are one unlock (two of the same kind are always two).
SAME_REPORT_SECONDS = 3.0
DEFAULT_SLOTS = 30
# User Code CC allows 4 to 10 digits.
PIN_MIN = 4
PIN_MAX = 10


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
            credential_kinds=frozenset({KeyKind.PASSCODE}),
            slot_min=1,
            slot_max=self._slots,
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

    async def async_clear_code(self, slot: int) -> None:
        """Empty a slot."""
        self._refused.pop(slot, None)
        await self._call("clear_lock_usercode", {"code_slot": slot})
        self._expect[slot] = (None, time.monotonic() + self.settle_seconds)

    def refusal(self, slot: int) -> str | None:
        """Return ``code_duplicate`` when the lock refused the code of ``slot``."""
        return self._refused.get(slot)

    @callback
    def _on_duplicate(self, user_id: object) -> None:
        """Mark the codes just written (or the slot named) as refused."""
        now = time.monotonic()
        for slot, (code, deadline) in self._expect.items():
            if code is not None and now < deadline and user_id in (None, slot):
                self._refused[slot] = "code_duplicate"
        _LOGGER.debug("%s refused a code it already holds", self.entity_id)

    @callback
    def async_listen_usage(self, on_use: Callable[[int], None]) -> Callable[[], None]:
        """
        Call ``on_use(slot)`` once per keypad unlock the lock reports.

        Also follows the lock's reports of refused (duplicate) codes.
        """
        registry = er.async_get(self._hass)
        reports = _KeypadReports(on_use)
        alarms = _AlarmWatch(self._hass, self.entity_id, reports.alarm)

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


class _KeypadReports:
    """Count each keypad unlock once, however many ways the lock reports it."""

    def __init__(self, on_use: Callable[[int], None]) -> None:
        self._on_use = on_use
        # slot -> (source, monotonic time) of the last report counted
        self._last: dict[int, tuple[str, float]] = {}

    @callback
    def notification(self, slot: int) -> None:
        """Record an Access Control keypad unlock notification."""
        self._report(slot, "notification")

    @callback
    def alarm(self, slot: int) -> None:
        """Record a keypad unlock alarm report."""
        self._report(slot, "alarm")

    def _report(self, slot: int, source: str) -> None:
        now = time.monotonic()
        last = self._last.pop(slot, None)
        if (
            last is not None
            and last[0] != source
            and now - last[1] < SAME_REPORT_SECONDS
        ):
            # The other half of a report that was counted already.
            return
        self._last[slot] = (source, now)
        self._on_use(slot)


def _find_node(hass: HomeAssistant, entity_id: str) -> ZwaveNode | None:
    """Return the lock's Z-Wave node, or None while zwave_js cannot give it."""
    try:
        # Imported here: zwave_js's library is only installed once zwave_js is used.
        from homeassistant.components.zwave_js.helpers import (  # noqa: PLC0415
            async_get_node_from_entity_id,
        )
    except ImportError:
        return None
    try:
        return async_get_node_from_entity_id(hass, entity_id)
    except ValueError:
        # Not a zwave_js entity, zwave_js not loaded (yet), or the node is gone.
        return None


class _AlarmWatch:
    """Follow a lock node's alarmType / alarmLevel values (Notification v1)."""

    def __init__(
        self, hass: HomeAssistant, entity_id: str, on_unlock: Callable[[int], None]
    ) -> None:
        self._hass = hass
        self._entity_id = entity_id
        self._on_unlock = on_unlock
        self._node: ZwaveNode | None = None
        self._node_unsubs: list[Callable[[], None]] = []
        self._entry_id: str | None = None
        self._entry_unsub: Callable[[], None] | None = None

    @callback
    def refresh(self) -> None:
        """Subscribe to the lock's current node if it changed."""
        self._watch_entry()
        node = _find_node(self._hass, self._entity_id)
        if node is self._node:
            return
        self._drop_node()
        if node is None:
            return
        self._node = node
        self._node_unsubs = [
            node.on("value added", self._on_value),
            node.on("value updated", self._on_value),
        ]
        _LOGGER.debug("Listening to alarm reports of %s", self._entity_id)

    @callback
    def changed(self, _event: Event[EventStateChangedData]) -> None:
        """Look for the node again when the lock entity changes."""
        self.refresh()

    def _watch_entry(self) -> None:
        """Refresh when the lock's zwave_js entry loads (entities appear earlier)."""
        entity = er.async_get(self._hass).async_get(self._entity_id)
        entry_id = entity.config_entry_id if entity is not None else None
        if entry_id == self._entry_id:
            return
        if self._entry_unsub is not None:
            self._entry_unsub()
            self._entry_unsub = None
        self._entry_id = entry_id
        entry = (
            self._hass.config_entries.async_get_entry(entry_id) if entry_id else None
        )
        if entry is not None:
            self._entry_unsub = entry.async_on_state_change(self.refresh)

    def _drop_node(self) -> None:
        for unsub in self._node_unsubs:
            unsub()
        self._node_unsubs = []
        self._node = None

    @callback
    def stop(self) -> None:
        """Stop listening to the node and its zwave_js entry."""
        self._drop_node()
        if self._entry_unsub is not None:
            self._entry_unsub()
        self._entry_unsub = None
        self._entry_id = None

    @callback
    def _on_value(self, data: dict[str, Any]) -> None:
        """Act on alarmLevel: the driver sets alarmType just before it."""
        node = self._node
        args = data.get("args") or {}
        # While the node is interviewed, alarm values can come from the driver's
        # queries (the last report again), not from the lock: not an unlock.
        if (
            node is None
            or not node.ready
            or args.get("commandClass") != NOTIFICATION_CC
            or args.get("property") != ALARM_LEVEL
        ):
            return
        level = args.get("newValue")
        endpoint = args.get("endpoint") or 0
        alarm_type = node.values.get(
            f"{node.node_id}-{NOTIFICATION_CC}-{endpoint}-{ALARM_TYPE}"
        )
        if (
            alarm_type is not None
            and alarm_type.value in KEYPAD_UNLOCK_ALARM_TYPES
            and isinstance(level, int)
        ):
            self._on_unlock(level)


def from_subentry(setup: LockSetup) -> ZwaveJSLock:
    """Drive the subentry's zwave_js lock entity."""
    return ZwaveJSLock(setup.hass, setup.data[CONF_LOCK_ENTITY])
