"""
A site's single timer, armed for its next transition.

The :class:`~.engine.transitions.TransitionIndex` knows when the status of
each key and keyholder next changes; :class:`TransitionTimer` keeps it and the
one timer armed for the earliest of those changes. What the timer calls when it
is due (a pass over every lock) is the runtime's.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.event import async_track_point_in_utc_time
from homeassistant.util import dt as dt_util

from ..const import LOGGER
from ..model.site import Site
from ..model.transitions import TransitionIndex


class TransitionTimer:
    """The index of a site's transitions and the timer for the next one."""

    def __init__(
        self,
        hass: HomeAssistant,
        site: Site,
        tz: ZoneInfo,
        on_due: Callable[[datetime], Coroutine[Any, Any, None]],
    ) -> None:
        """Index ``site``'s transitions; call ``on_due`` when the next is due."""
        self._hass = hass
        self._on_due = on_due
        self._unsub: CALLBACK_TYPE | None = None
        self.index = TransitionIndex(site, tz, dt_util.utcnow())
        """When each key's and keyholder's status next changes."""
        self.next_transition: datetime | None = None
        """When the timer is due (None: no transition ahead, or not armed yet)."""

    @callback
    def arm(self, after: datetime) -> set[str]:
        """
        Arm the timer for the first transition strictly after ``after``.

        Return the keyholders with a transition the index went past meanwhile.
        """
        self.cancel()
        self.next_transition = self.index.next_change(after)
        passed = self.index.take_passed()
        if self.next_transition is not None:
            LOGGER.debug("Next transition at %s", self.next_transition.isoformat())
            self._unsub = async_track_point_in_utc_time(
                self._hass, self._on_due, self.next_transition
            )
        return passed

    @callback
    def due(self) -> None:
        """Forget the timer that just fired."""
        self._unsub = None

    @callback
    def cancel(self) -> None:
        """Cancel the timer if armed."""
        if self._unsub:
            self._unsub()
            self._unsub = None
