"""What the families behind another integration's lock entity have in common."""

from __future__ import annotations

from collections.abc import Callable

from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.helpers.event import async_track_state_change_event

from . import ProviderError, RefusesWhileWriting


class LockEntityProvider(RefusesWhileWriting):
    """
    A lock Keyholder reaches through a lock entity of another integration.

    It is reachable while that entity exists and is not unavailable.
    """

    def __init__(self, hass: HomeAssistant, entity_id: str) -> None:
        """Reach the lock through the lock entity ``entity_id``."""
        self._hass = hass
        self.entity_id = entity_id

    @property
    def available(self) -> bool:
        """Return True when the lock entity exists and is not unavailable."""
        state = self._hass.states.get(self.entity_id)
        return state is not None and state.state != STATE_UNAVAILABLE

    def _ensure_available(self) -> None:
        # Home Assistant's entity actions skip an unavailable entity silently.
        if not self.available:
            raise ProviderError(
                "lock_offline", f"{self.entity_id} is unavailable or unknown"
            )

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
