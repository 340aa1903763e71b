"""
Saving a site: one write for everything changed, shared by whoever waits for it.

A pass saves the change it brings, and each lock's writes about to be made
(``pending``), before the lock hears of them; what the locks then hold is saved
with the next write (the pending writes on disk settle it after a crash). Writes
are numbered: whoever needs the site on disk joins the next write not started
yet, so the locks of one pass (and passes running at the same time) share one
write instead of queueing one each. A change is on disk once a write that
started after it succeeded.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError

from ..const import DOMAIN, LOGGER
from ..model.serialize import site_from_dict
from ..storage.files import StoreWriteError
from ..storage.store import KeyholderStore, SiteData


class SiteSaver:
    """Writes a site's data, shared by everyone waiting at the same time."""

    def __init__(
        self,
        hass: HomeAssistant,
        store: KeyholderStore,
        data: SiteData,
        undone: Callable[[], None],
    ) -> None:
        """Save ``data`` to ``store``; ``undone`` is called after a change is undone."""
        self._hass = hass
        self._store = store
        self._data = data
        self._undone = undone
        self._started = 0
        self._succeeded = 0
        """The number of the last write that succeeded (writes count from 1)."""
        self._next: asyncio.Future[None] | None = None
        """The write waited for that has not started yet."""
        self._in_flight: asyncio.Future[None] | None = None
        self._writer: asyncio.Task[None] | None = None

    def mark(self) -> int:
        """Return the number of the next write: it holds everything changed so far."""
        return self._started + 1

    async def async_save(self) -> None:
        """Write what changed so far; return once it is on disk."""
        await self.async_saved_since(self.mark())

    async def async_saved_since(self, mark: int) -> None:
        """
        Return once a write numbered ``mark`` or later succeeded.

        Joins the write in flight if it started late enough, else the next one
        (started when the event loop comes round, so that everyone ready joins
        it). Raises StoreWriteError when the write waited for failed.
        """
        if self._succeeded >= mark:
            return
        if self._in_flight is not None and self._started >= mark:
            await asyncio.shield(self._in_flight)
            return
        if self._next is None:
            self._next = self._hass.loop.create_future()
            self._next.add_done_callback(_retrieve)
            if self._writer is None:
                self._writer = self._hass.async_create_task(
                    self._async_write(), "keyholder save", eager_start=False
                )
        await asyncio.shield(self._next)

    async def _async_write(self) -> None:
        """Write while someone waits for a write."""
        try:
            while (future := self._next) is not None:
                self._next = None
                self._started += 1
                number, self._in_flight = self._started, future
                try:
                    await self._store.async_save(self._data)
                except StoreWriteError as err:
                    future.set_exception(err)
                except Exception as err:  # noqa: BLE001
                    # Anything else fails the waiters like a failed write (its
                    # message may quote stored values: only its type is logged).
                    LOGGER.error("Unexpected %s while saving", type(err).__name__)
                    future.set_exception(StoreWriteError(type(err).__name__))
                except BaseException as err:
                    # Cancelled: nobody is left waiting for it.
                    future.set_exception(StoreWriteError(type(err).__name__))
                    raise
                else:
                    self._succeeded = number
                    future.set_result(None)
                finally:
                    self._in_flight = None
        finally:
            self._writer = None

    async def async_saved_or_undone(self, mark: int, site_name: str) -> None:
        """
        Return once the change made before ``mark`` is on disk, or undo it.

        A change that is not on disk would be lost at the next restart while
        its key already opened doors: the site goes back to what the files hold
        and the caller is told (nothing is answered as done). No lock heard of
        it: each lock's writes wait for a write that holds the change.
        """
        try:
            await self.async_saved_since(mark)
        except StoreWriteError as err:
            self._data.site.replace_all(site_from_dict(self._store.saved_site))
            self._undone()
            LOGGER.error(
                "Could not save %s (%s); the change was undone", site_name, err.reason
            )
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="save_failed",
                translation_placeholders={"error": err.reason},
            ) from err


def _retrieve(future: asyncio.Future[None]) -> None:
    """Take a failed write's error, so that none is reported as never retrieved."""
    if not future.cancelled():
        future.exception()
