"""
What a lock's sync needs of its site: the shape the runtime provides.

:class:`~.lock_sync.LockSync` and the parts it composes (its retry and
read-back timers in :mod:`.lock_retry`, the windows of locks that hold
schedules in :mod:`.lock_windows`) reach their site only through
:class:`SiteContext`, so none of them imports the runtime.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from homeassistant.core import HomeAssistant

    from ..storage.store import SiteData
    from .placement import Placements
    from .site_listeners import SiteListeners


class SiteContext(Protocol):
    """What a lock's sync needs of its site (the runtime provides it)."""

    hass: HomeAssistant
    entry_id: str
    data: SiteData
    placement: Placements
    listeners: SiteListeners
    """Who is called when the site changed (keyholders to write again)."""

    @property
    def tz(self) -> ZoneInfo:
        """The time zone schedules are evaluated in."""

    @property
    def closed(self) -> bool:
        """Whether the site is unloading (no timer is armed any more)."""

    async def async_save_pending(self) -> None:
        """Write the list of writes about to be made to disk."""

    async def async_apply_changes(self, lock_ids: set[str] | None = None) -> None:
        """Sync these locks now (and save, notify, re-arm the site's timer)."""
