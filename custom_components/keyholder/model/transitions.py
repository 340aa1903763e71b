"""
An incremental index of the next status change in a whole site.

The integration arms exactly one timer: for the next instant at which any key or
keyholder changes status. :class:`TransitionIndex` answers that question in
O(log n) amortised time by keeping a heap of each item's next change and
recomputing only the items whose change has passed.

Usage by the glue::

    index = TransitionIndex(site, tz, now)
    when = index.next_change(now)           # arm the timer for `when`
    ...                                     # timer fires at `when`
    when = index.next_change(when)          # re-arm
    index.refresh_key(key_id)               # after adding/editing/removing a key
    index.refresh_keyholder(keyholder_id)   # after editing a keyholder (and keys)
    index.take_passed()                     # keyholders whose status changed

Queries are expected to move forward in time; a query earlier than the previous
one rebuilds the index (correct, just slower).
"""

from __future__ import annotations

from datetime import datetime, tzinfo
import heapq

from .site import Site
from .status import keyholder_next_change, next_possible_change

_KEY = "k"
_HOLDER = "h"

type _Entry = tuple[datetime, int, str, str, int]
"""Heap entry: (instant, sequence, item kind, item id, item version)."""


class TransitionIndex:
    """
    Heap of the next status change of every key and keyholder of a site.

    The index reads ``site`` lazily; after changing the site call
    :meth:`refresh_key` / :meth:`refresh_keyholder` (or :meth:`rebuild`).
    """

    __slots__ = ("_cursor", "_heap", "_passed", "_seq", "_site", "_tz", "_versions")

    def __init__(self, site: Site, tz: tzinfo, now: datetime) -> None:
        """Build the index for ``site`` with all changes after ``now``."""
        self._site = site
        self._tz = tz
        self._heap: list[_Entry] = []
        self._versions: dict[tuple[str, str], int] = {}
        self._seq = 0
        self._cursor = now
        self._passed: set[str] = set()
        self.rebuild(now)

    def __len__(self) -> int:
        """Return the number of heap entries (including stale ones)."""
        return len(self._heap)

    def rebuild(self, now: datetime) -> None:
        """Recompute every item's next change after ``now``."""
        self._heap = []
        self._versions = {}
        self._cursor = now
        for holder_id in self._site.keyholders:
            self._push(_HOLDER, holder_id, now)
        for key_id in self._site.keys:
            self._push(_KEY, key_id, now)
        heapq.heapify(self._heap)

    def refresh_key(self, key_id: str) -> None:
        """Recompute one key after it was added, changed or removed."""
        self._push(_KEY, key_id, self._cursor, heap=True)

    def refresh_keyholder(self, keyholder_id: str) -> None:
        """Recompute a keyholder and all of its keys after a change."""
        self._push(_HOLDER, keyholder_id, self._cursor, heap=True)
        for key in self._site.keys_of(keyholder_id):
            self._push(_KEY, key.id, self._cursor, heap=True)

    def next_change(self, after: datetime) -> datetime | None:
        """Return the earliest status change in the site strictly after ``after``."""
        if after < self._cursor:
            self.rebuild(after)
        self._cursor = after
        heap = self._heap
        while heap:
            instant, _, kind, item_id, version = heap[0]
            if self._versions.get((kind, item_id)) != version:
                heapq.heappop(heap)  # stale: the item was refreshed since
            elif instant <= after:
                heapq.heappop(heap)
                self._record_passed(kind, item_id)
                self._push(kind, item_id, after, heap=True)
            else:
                return instant
        return None

    def take_passed(self) -> set[str]:
        """
        Return (and forget) the keyholders with a change the queries went past.

        A keyholder is named when their own status or one of their keys'
        changed at an instant a :meth:`next_change` query moved beyond.
        """
        passed, self._passed = self._passed, set()
        return passed

    def _record_passed(self, kind: str, item_id: str) -> None:
        if kind == _HOLDER:
            self._passed.add(item_id)
        elif (key := self._site.keys.get(item_id)) is not None:
            self._passed.add(key.keyholder_id)

    def _push(
        self, kind: str, item_id: str, after: datetime, *, heap: bool = False
    ) -> None:
        """Compute the next change of one item and record it (new version)."""
        version = self._versions.get((kind, item_id), 0) + 1
        self._versions[(kind, item_id)] = version
        instant = self._compute(kind, item_id, after)
        if instant is None:
            return
        self._seq += 1
        entry = (instant, self._seq, kind, item_id, version)
        if heap:
            heapq.heappush(self._heap, entry)
        else:
            self._heap.append(entry)

    def _compute(self, kind: str, item_id: str, after: datetime) -> datetime | None:
        """Return the next change of one item after ``after`` (None if none)."""
        site = self._site
        if kind == _HOLDER:
            holder = site.keyholders.get(item_id)
            if holder is None:
                return None
            return keyholder_next_change(holder, after, self._tz)
        key = site.keys.get(item_id)
        if key is None:
            return None
        holder = site.keyholders.get(key.keyholder_id)
        if holder is None:
            return None
        return next_possible_change(
            key, holder, after, self._tz, terms=site.terms_of(key)
        )
