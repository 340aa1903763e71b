"""
Writing a site's files: the main file whole, or the changes since; the copy.

A small site's main file is written whole for every save. A large one's records
that changed go to its changes file (see :mod:`.store_changes`) until those
outgrow their share; then the main file is written whole again, under a new
name for its changes. The copy (``<main>.backup``) follows every save within
a few seconds and holds what the files hold then, whole.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
import uuid

from homeassistant.core import CoreState, HomeAssistant
from homeassistant.util import dt as dt_util
import orjson

from ..model.serialize import site_to_dict
from ..model.site import Site
from .changes import SiteData, SiteRecords, changes_limit
from .files import KeyholderFile, StoreWriteError

WHOLE_BELOW = 64 * 1024
"""A main file smaller than this (bytes) is written whole for every change."""


class SiteWriter:
    """Writes one site's main file (whole, or its changes) and its copy."""

    def __init__(
        self,
        hass: HomeAssistant,
        files: tuple[KeyholderFile, KeyholderFile, KeyholderFile],
        whole: Callable[[SiteData], dict[str, Any]],
        backup_delay: float,
    ) -> None:
        """
        Write ``files`` (main, changes, copy); ``whole`` is a site's main file.

        The copy is written ``backup_delay`` seconds after a save.
        """
        self._hass = hass
        self._main, self._changes, self._backup = files
        self._whole = whole
        self._backup_delay = backup_delay
        self.records = SiteRecords()
        """The records the files hold (as far as known)."""
        self.changes_id: str | None = None
        """The main file's name for its changes (None: write it whole next)."""
        self._written: list[bytes] = []
        self._changes_size = 0
        self.main_size = 0
        self.saved_at = dt_util.utcnow()
        """When the files last changed (what the copy says of itself)."""
        self._backup_pending = False
        self.after_whole: Callable[[], Any] | None = None
        """Called once after the next whole write (files it made obsolete go)."""

    def loaded(self, data: SiteData, main_size: int, changes: list[Any]) -> None:
        """Note what a load found: the files hold ``data``, ``changes`` included."""
        self.records.accept(self.records.diff(data)[1], known=True)
        self.main_size = main_size
        self._written = [orjson.dumps(change) for change in changes]
        self._changes_size = sum(len(change) for change in self._written)

    @property
    def saved_site(self) -> dict[str, Any]:
        """The site as the files hold it (what a failed save goes back to)."""
        if not self.records.known:
            return site_to_dict(Site())
        site: dict[str, Any] = self.records.payload()["site"]
        return site

    async def async_save(self, data: SiteData) -> None:
        """
        Write to disk now what changed; the copy follows a few seconds later.

        Nothing is written when nothing changed. Raises StoreWriteError when
        the file could not be written.
        """
        changes, accepted = self.records.diff(data)
        if self.records.known and not changes:
            self.records.accept(accepted, known=True)
            return
        encoded: list[bytes] = []
        whole = not self.records.known or self.changes_id is None
        whole |= self.main_size < WHOLE_BELOW
        if not whole:
            try:
                encoded = [orjson.dumps(change) for change in changes]
            except (TypeError, orjson.JSONEncodeError) as err:
                raise StoreWriteError(type(err).__name__) from err
            size = self._changes_size + sum(len(change) for change in encoded)
            # While Home Assistant stops, writes wait for its final write: the
            # changes then never name a main file that is not on disk yet.
            stopping = self._hass.state is CoreState.stopping
            whole = size > changes_limit(self.main_size) and not stopping
        if whole:
            await self._async_write_whole(data)
        else:
            await self._async_write_changes(encoded)
        self.records.accept(accepted, known=True)
        self.saved_at = dt_util.utcnow()
        if not self._backup_pending:
            # Throttled, not debounced: the copy holds what the files hold then.
            self._backup_pending = True
            self._backup.async_delay_save(self._take_backup, self._backup_delay)

    async def _async_write_whole(self, data: SiteData) -> None:
        """Write the main file whole; its changes start afresh."""
        changes_id = uuid.uuid4().hex
        payload = {**self._whole(data), "changes_id": changes_id}
        # Until it is written, which main file is on disk is not known for sure:
        # the next write is whole again unless this one succeeds.
        self.changes_id = None
        await self._main.async_save_checked(payload)
        self.changes_id, self._written, self._changes_size = changes_id, [], 0
        self.main_size = self._main.size
        if (after := self.after_whole) is not None:
            self.after_whole = None
            await after()

    async def _async_write_changes(self, encoded: list[bytes]) -> None:
        """Write the changes since the main file, these included."""
        written = self._written + encoded
        await self._changes.async_save_checked(
            {
                "base": self.changes_id,
                "changes": [orjson.Fragment(change) for change in written],
            }
        )
        self._written = written
        self._changes_size += sum(len(change) for change in encoded)

    def _take_backup(self) -> dict[str, Any]:
        """Return what the files hold, when the delayed copy is written."""
        self._backup_pending = False
        return {**self.records.payload(), "saved_at": self.saved_at.isoformat()}

    async def async_flush_backup(self) -> None:
        """Write a pending copy now (the site unloads)."""
        if self._backup_pending and self.records.known:
            self._backup_pending = False
            await self._backup.async_save(self._take_backup())

    def stop_backup(self) -> None:
        """Write no copy any more (the site's files are removed)."""
        self._backup_pending = False
