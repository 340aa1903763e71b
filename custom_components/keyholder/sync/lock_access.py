"""
What happened at a lock: each access attempt attributed, counted and announced.

A lock reports a use of one of its slots (or refuses a code); the virtual
lock's keypad reports each code typed. :class:`LockAccess` attributes a use to
the key that owns the slot, counts it (a key used up is synced away), fires
``keyholder_access`` and tells the site's access listeners. It reaches the site
only through :class:`AccessSite`, so it does not import the runtime.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Protocol

from homeassistant.core import callback

from ..const import (
    ATTR_KEY_ID,
    ATTR_KEYHOLDER,
    ATTR_KEYHOLDER_ID,
    ATTR_LOCK,
    ATTR_LOCK_ID,
    ATTR_METHOD,
    ATTR_RESULT,
    EVENT_ACCESS,
)
from ..families import Refusal
from ..model.plan import record_use
from ..model.status import Status
from .state import AccessEvent, AccessResult

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant

    from ..model.site import Site
    from ..model.values import CredentialRef
    from .site_listeners import SiteListeners
    from .site_queries import SiteQueries
    from .state import LockInfo


class AccessSite(Protocol):
    """What the access at a site's locks needs of the site (the runtime)."""

    hass: HomeAssistant
    locks: dict[str, LockInfo]
    listeners: SiteListeners
    queries: SiteQueries

    @property
    def site(self) -> Site:
        """The site model."""

    async def async_apply_changes(
        self,
        lock_ids: set[str] | None = None,
        *,
        keys: Iterable[str] = (),
        keyholders: Iterable[str] = (),
    ) -> None:
        """Sync these locks now for a change of these keys."""


class LockAccess:
    """Access attempts at the locks of one site."""

    def __init__(self, site: AccessSite) -> None:
        """Report the attempts at ``site``'s locks."""
        self._site = site

    async def async_keypad_code(
        self, lock_id: str, ref: CredentialRef | None
    ) -> AccessEvent:
        """
        Record a code typed at a keypad Keyholder checks (the virtual lock).

        ``ref`` is where the lock holds the typed code (None: nowhere). The
        engine double-checks that its key is active right now.
        """
        site = self._site.site
        key_id = site.owner_of(lock_id, ref) if ref is not None else None
        key = site.keys.get(key_id or "")
        if key is None or self._site.queries.key_status(key) is not Status.ACTIVE:
            event = AccessEvent(lock_id, AccessResult.DENIED)
            self.fire(event)
            return event
        return await self.async_unlocked(lock_id, key.id)

    @callback
    def async_keypad_locked_out(self, lock_id: str) -> AccessEvent:
        """Record a code a keypad refused unchecked: it is locked out."""
        event = AccessEvent(lock_id, AccessResult.LOCKED_OUT)
        self.fire(event)
        return event

    def refused_callback(self, lock_id: str) -> Callable[[Refusal], None]:
        """Return what a lock calls when it refuses a code."""

        @callback
        def _on_refused(refusal: Refusal) -> None:
            locked_out = refusal is Refusal.LOCKED_OUT
            result = AccessResult.LOCKED_OUT if locked_out else AccessResult.DENIED
            self.fire(AccessEvent(lock_id, result))

        return _on_refused

    def usage_callback(self, lock_id: str) -> Callable[[CredentialRef], None]:
        """Return what a lock calls when one of its slots unlocked it."""

        @callback
        def _on_use(ref: CredentialRef) -> None:
            # The lock decided: the unlock is its key's, whoever's that is now.
            key_id = self._site.site.owner_of(lock_id, ref)
            self._site.hass.async_create_task(self.async_unlocked(lock_id, key_id))

        return _on_use

    async def async_unlocked(self, lock_id: str, key_id: str | None) -> AccessEvent:
        """
        Attribute an unlock, count the key's use and sync a used-up key away.

        A slot Keyholder did not write is reported as unlocked by someone unknown.
        """
        site = self._site.site
        if key_id is None or key_id not in site.keys:
            event = AccessEvent(lock_id, AccessResult.UNLOCKED)
            self.fire(event)
            return event
        key = record_use(site, key_id)
        event = AccessEvent(lock_id, AccessResult.UNLOCKED, key.keyholder_id, key.id)
        self.fire(event)
        await self._site.async_apply_changes(set(site.locks_of(key)), keys=[key.id])
        return event

    @callback
    def fire(self, event: AccessEvent) -> None:
        """Fire ``keyholder_access`` for an attempt and tell the access listeners."""
        self._site.hass.bus.async_fire(
            EVENT_ACCESS,
            {
                ATTR_LOCK_ID: event.lock_id,
                ATTR_LOCK: self._site.locks[event.lock_id].name,
                ATTR_RESULT: event.result.value,
                ATTR_METHOD: event.method,
                ATTR_KEYHOLDER_ID: event.keyholder_id,
                ATTR_KEYHOLDER: self._site.queries.keyholder_name(event.keyholder_id),
                ATTR_KEY_ID: event.key_id,
            },
        )
        self._site.listeners.accessed(event)
