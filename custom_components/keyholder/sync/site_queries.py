"""
Questions about a site answered from its model and its locks' last reads.

A keyholder's name, a key's status now, the codes on a lock that Keyholder did
not write, the locks a key should be on but is not. :class:`SiteQueries` reads
them through :class:`QueriedSite` (the runtime), so it does not import it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from homeassistant.util import dt as dt_util

from ..model.status import Status, key_status

if TYPE_CHECKING:
    from zoneinfo import ZoneInfo

    from ..model.site import Site
    from ..model.values import Key, Keyholder
    from .lock_sync import LockSync
    from .placement import Placements
    from .state import LockInfo


class QueriedSite(Protocol):
    """What the queries read of a site (the runtime provides it)."""

    locks: dict[str, LockInfo]
    syncs: dict[str, LockSync]
    placement: Placements

    @property
    def site(self) -> Site:
        """The site model."""

    @property
    def tz(self) -> ZoneInfo:
        """The time zone schedules are evaluated in."""


class SiteQueries:
    """Answers about one site, always from its state as it is now."""

    def __init__(self, site: QueriedSite) -> None:
        """Answer about ``site``."""
        self._site = site

    def keyholder(self, keyholder_id: str) -> Keyholder:
        """Return a keyholder (KeyError if unknown)."""
        return self._site.site.keyholders[keyholder_id]

    def keyholder_name(self, keyholder_id: str | None) -> str | None:
        """Return a keyholder's full name."""
        holder = self._site.site.keyholders.get(keyholder_id or "")
        return holder.name if holder else None

    def key_status(self, key: Key, at: datetime | None = None) -> Status:
        """Return the status of a key now (or at ``at``)."""
        holder = self._site.site.keyholders[key.keyholder_id]
        return key_status(
            key,
            holder,
            at or dt_util.utcnow(),
            self._site.tz,
            terms=self._site.site.terms_of(key),
        )

    def foreign_codes(self, lock_ids: Iterable[str]) -> dict[str, str]:
        """
        Return code -> lock id for codes on these locks that Keyholder did not write.

        They come from each lock's last read (slots it does not manage); a lock
        refuses a second user with the same code, so no key may be given one.
        """
        found: dict[str, str] = {}
        for lock_id in sorted(lock_ids):
            if (sync := self._site.syncs.get(lock_id)) is not None:
                for code in sync.foreign:
                    found.setdefault(code, lock_id)
        return found

    def not_on_locks(self, key_id: str) -> list[dict[str, str]]:
        """Describe the locks a key should be on but is not (and why; no codes)."""
        names = {lock_id: info.name for lock_id, info in self._site.locks.items()}
        return self._site.placement.describe(key_id, names)
