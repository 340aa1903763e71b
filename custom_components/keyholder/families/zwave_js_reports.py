"""
What a Z-Wave lock node reports at its keypad, besides zwave_js's events.

Locks that speak the older Alarm reports (Notification v1) announce a keypad
unlock as updates of the node's Notification CC ``alarmType`` / ``alarmLevel``
values (type 19: keypad unlock, level: user slot). Home Assistant shows those
only as disabled sensors, so :class:`AlarmWatch` listens to the node itself,
found through zwave_js's own helper (Keyholder never imports the Z-Wave library
itself). A lock may report one unlock both ways; :class:`KeypadReports` counts
it once.
"""

from __future__ import annotations

from collections.abc import Callable
import logging
import time
from typing import TYPE_CHECKING, Any, Final

from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.helpers import entity_registry as er

if TYPE_CHECKING:
    from zwave_js_server.model.node import Node as ZwaveNode

_LOGGER = logging.getLogger(__name__)

NOTIFICATION_CC: Final = 113
# Alarm (Notification v1) types meaning "unlocked at the keypad by the user in slot
# alarmLevel": 19 in Kwikset's and Yale's tables (zwave-js maps both to Access
# Control / keypad unlock with userId = alarmLevel).
KEYPAD_UNLOCK_ALARM_TYPES: Final = frozenset({19})
ALARM_TYPE: Final = "alarmType"
ALARM_LEVEL: Final = "alarmLevel"
# One unlock reported both as a notification and as alarm values arrives within
# milliseconds; two reports of different kinds for one slot this close together
# are one unlock (two of the same kind are always two).
SAME_REPORT_SECONDS: Final = 3.0


class KeypadReports:
    """Count each keypad unlock once, however many ways the lock reports it."""

    def __init__(self, on_use: Callable[[int], None]) -> None:
        """Call ``on_use(user slot)`` once per unlock."""
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


def find_node(hass: HomeAssistant, entity_id: str) -> ZwaveNode | None:
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


class AlarmWatch:
    """Follow a lock node's alarmType / alarmLevel values (Notification v1)."""

    def __init__(
        self, hass: HomeAssistant, entity_id: str, on_unlock: Callable[[int], None]
    ) -> None:
        """Call ``on_unlock(user slot)`` for the keypad unlocks of the lock's node."""
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
        node = find_node(self._hass, self._entity_id)
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
