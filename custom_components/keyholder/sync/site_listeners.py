"""
Who listens to a site: entities, the panel, and whoever follows its locks.

Entities name the scope they show (a lock's or keyholder's id, or None for the
whole site) and are called only when something in it changed: a change costs
what it concerns, however many keyholders there are. Scopes are marked stale as
a pass goes (:meth:`SiteListeners.touch`) and their listeners called once at its
end (:meth:`SiteListeners.notify`). Access listeners hear every attempt at a
lock; keyholder listeners each keyholder added while the site runs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from homeassistant.core import CALLBACK_TYPE, callback

from .state import AccessEvent


class SiteListeners:
    """The listeners of one site, and the scopes changed since they were called."""

    def __init__(self) -> None:
        """Start with nobody listening and nothing stale."""
        # scope (a lock's or keyholder's id; None: the whole site) -> updates
        self._updates: dict[str | None, list[Callable[[], None]]] = {}
        # Scopes whose entities show something that changed since the last
        # notification (None: all of them).
        self._stale: set[str] | None = set()
        self.changed_scopes: set[str] | None = set()
        """While listeners are called: the scopes the change concerns (None: all)."""
        self._access: list[Callable[[AccessEvent], None]] = []
        self._keyholders: list[Callable[[str], None]] = []

    @callback
    def add(
        self, update: Callable[[], None], scope: str | None = None
    ) -> CALLBACK_TYPE:
        """
        Call ``update`` whenever what it shows may have changed.

        ``scope`` is the lock or keyholder it shows: it is called only when a
        pass went over that lock, or a status, key or placement of that
        keyholder changed. None: after every change (the site's calendar, the
        panel).
        """
        self._updates.setdefault(scope, []).append(update)
        return lambda: self._updates[scope].remove(update)

    @callback
    def add_access(self, listener: Callable[[AccessEvent], None]) -> CALLBACK_TYPE:
        """Call ``listener`` for every access attempt at a lock."""
        self._access.append(listener)
        return lambda: self._access.remove(listener)

    @callback
    def add_keyholder(self, listener: Callable[[str], None]) -> CALLBACK_TYPE:
        """Call ``listener(keyholder_id)`` for each keyholder added at run time."""
        self._keyholders.append(listener)
        return lambda: self._keyholders.remove(listener)

    @callback
    def touch(self, scopes: Iterable[str]) -> None:
        """Mark locks or keyholders whose entities must be written again."""
        if self._stale is not None:
            self._stale.update(scopes)

    @callback
    def touch_all(self) -> None:
        """Mark every entity of the site to be written again."""
        self._stale = None

    @callback
    def notify(self) -> None:
        """Call the listeners of the scopes touched since the last call."""
        stale, self._stale = self._stale, set()
        # The scopes concerned, not every scope of the site: a change costs what
        # it concerns, however many keyholders there are.
        scopes = list(self._updates) if stale is None else [None, *sorted(stale)]
        self.changed_scopes = stale
        for scope in scopes:
            for update in list(self._updates.get(scope, ())):
                update()
        self.changed_scopes = set()

    @callback
    def accessed(self, event: AccessEvent) -> None:
        """Tell the access listeners of an attempt at a lock."""
        for listener in list(self._access):
            listener(event)

    @callback
    def keyholders_added(self, keyholder_ids: Iterable[str]) -> None:
        """Tell the keyholder listeners of each keyholder added, in this order."""
        for keyholder_id in keyholder_ids:
            for listener in list(self._keyholders):
                listener(keyholder_id)
