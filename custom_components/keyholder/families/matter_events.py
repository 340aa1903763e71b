"""
The LockOperation events of a Matter lock, from the lock's own node.

Home Assistant's matter lock entity keeps only the source name of a lock
operation, so :class:`NodeEvents` subscribes to the DoorLock cluster's events
of the lock's node through the matter integration's own client (never the
library directly), again whenever matter reloads with a new client.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
import logging
from typing import TYPE_CHECKING, Any, Final

from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.helpers import device_registry as dr, entity_registry as er

if TYPE_CHECKING:
    from matter_server.client import MatterClient

_LOGGER = logging.getLogger(__name__)

MATTER_DOMAIN: Final = "matter"
DOOR_LOCK_CLUSTER: Final = 257
LOCK_OPERATION_EVENT: Final = 2


def _locate(
    hass: HomeAssistant, entity_id: str
) -> tuple[MatterClient, int, int | None] | None:
    """Return the matter client, node id and endpoint of a lock entity."""
    entity = er.async_get(hass).async_get(entity_id)
    if entity is None or entity.platform != MATTER_DOMAIN or entity.device_id is None:
        return None
    device = dr.async_get(hass).async_get(entity.device_id)
    if device is None:
        return None
    try:
        # Imported here: matter's library is only installed once matter is used.
        from homeassistant.components.matter.helpers import (  # noqa: PLC0415
            get_matter,
            get_node_from_device_entry,
        )

        client = get_matter(hass).matter_client
        node = get_node_from_device_entry(hass, device)
    except ImportError, IndexError, KeyError, RuntimeError:
        # matter not installed, not loaded (yet), or not connected.
        return None
    if node is None:
        return None
    # The unique id ends in <endpoint>-<key>-<cluster>-<attribute>.
    parts = entity.unique_id.split("-")
    endpoint = int(parts[-4]) if len(parts) >= 4 and parts[-4].isdigit() else None
    return client, node.node_id, endpoint


class NodeEvents:
    """Follow the LockOperation events of a lock entity's Matter node."""

    def __init__(
        self,
        hass: HomeAssistant,
        entity_id: str,
        on_operation: Callable[[Mapping[str, Any]], None],
    ) -> None:
        """Call ``on_operation(event data)`` for the lock's LockOperation events."""
        self._hass = hass
        self._entity_id = entity_id
        self._on_operation = on_operation
        self._target: tuple[MatterClient, int, int | None] | None = None
        self._unsub: Callable[[], None] | None = None

    @callback
    def refresh(self) -> None:
        """Subscribe to the node's events through the current matter client."""
        target = _locate(self._hass, self._entity_id)
        current = self._target
        if (
            target is not None
            and current is not None
            and target[0] is current[0]
            and target[1:] == current[1:]
        ):
            return
        self.stop()
        if target is None:
            return
        from matter_server.common.models import EventType  # noqa: PLC0415

        self._target = target
        self._unsub = target[0].subscribe_events(
            callback=self._on_event,
            event_filter=EventType.NODE_EVENT,
            node_filter=target[1],
        )
        _LOGGER.debug("Listening to lock operations of %s", self._entity_id)

    @callback
    def changed(self, _event: Event[EventStateChangedData]) -> None:
        """Look for the node again (matter reloads bring a new client)."""
        self.refresh()

    @callback
    def stop(self) -> None:
        """Stop listening."""
        if self._unsub is not None:
            self._unsub()
        self._unsub = None
        self._target = None

    @callback
    def _on_event(self, _event: Any, node_event: Any) -> None:
        target = self._target
        if (
            target is None
            or getattr(node_event, "cluster_id", None) != DOOR_LOCK_CLUSTER
            or getattr(node_event, "event_id", None) != LOCK_OPERATION_EVENT
            or (
                target[2] is not None
                and getattr(node_event, "endpoint_id", None) != target[2]
            )
        ):
            return
        data = getattr(node_event, "data", None)
        if isinstance(data, Mapping):
            self._on_operation(data)
