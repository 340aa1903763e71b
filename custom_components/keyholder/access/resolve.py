"""
Finding what a caller names: the site, keyholders, locks and access groups.

With several sites, a call that does not name its site is for the one site in
which the keyholder, the locks and the key it names all exist; naming the site
(by entry id or title) always works.
"""

from __future__ import annotations

from collections.abc import Iterable

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import entity_registry as er

from ..const import DOMAIN
from ..sync.runtime import KeyholderRuntime
from .errors import validation_error


def resolve_keyholder(runtime: KeyholderRuntime, ref: str) -> str:
    """Resolve a keyholder by id or full name (case-insensitive)."""
    holders = runtime.site.keyholders
    if ref in holders:
        return ref
    matches = [
        h.id for h in holders.values() if h.name.casefold() == ref.strip().casefold()
    ]
    if len(matches) != 1:
        raise validation_error("unknown_keyholder", keyholder=ref)
    return matches[0]


def resolve_group(runtime: KeyholderRuntime, ref: str) -> str:
    """Resolve an access group by id or name (case-insensitive)."""
    groups = runtime.site.groups
    if ref in groups:
        return ref
    wanted = ref.strip().casefold()
    matches = [g.id for g in groups.values() if g.name.casefold() == wanted]
    if len(matches) != 1:
        raise validation_error("unknown_group", group=ref)
    return matches[0]


def resolve_locks(
    hass: HomeAssistant, runtime: KeyholderRuntime, refs: Iterable[str]
) -> frozenset[str]:
    """Resolve locks by lock entity id, lock name or lock id."""
    registry = er.async_get(hass)
    by_name = {info.name.casefold(): lock_id for lock_id, info in runtime.locks.items()}
    result: set[str] = set()
    for ref in refs:
        if ref in runtime.locks:
            result.add(ref)
        elif (
            entity := registry.async_get(ref)
        ) and entity.config_subentry_id in runtime.locks:
            result.add(entity.config_subentry_id)
        elif (lock_id := by_name.get(ref.strip().casefold())) is not None:
            result.add(lock_id)
        else:
            raise validation_error("unknown_lock", lock=ref)
    return frozenset(result)


def _names_all(
    hass: HomeAssistant,
    runtime: KeyholderRuntime,
    keyholder: str | None,
    locks: Iterable[str],
    key_id: str | None,
    *,
    group: str | None = None,
) -> bool:
    """Return True when the keyholder, locks, key and group all exist in this site."""
    if key_id is not None and key_id not in runtime.site.keys:
        return False
    try:
        if keyholder is not None:
            resolve_keyholder(runtime, keyholder)
        if group is not None:
            resolve_group(runtime, group)
        resolve_locks(hass, runtime, locks)
    except ServiceValidationError:
        return False
    return True


def sites_naming(
    hass: HomeAssistant,
    *,
    keyholder: str | None = None,
    locks: Iterable[str] = (),
    key_id: str | None = None,
) -> list[ConfigEntry]:
    """Return the loaded sites in which everything named exists."""
    locks = list(locks)
    return [
        entry
        for entry in hass.config_entries.async_loaded_entries(DOMAIN)
        if _names_all(hass, entry.runtime_data, keyholder, locks, key_id)
    ]


def _titles(entries: Iterable[ConfigEntry]) -> str:
    return ", ".join(sorted(entry.title for entry in entries))


def find_site(
    hass: HomeAssistant,
    site: str | None,
    *,
    keyholder: str | None = None,
    locks: Iterable[str] = (),
    key_id: str | None = None,
    group: str | None = None,
) -> ConfigEntry:
    """
    Return the site a call is for.

    ``site`` (entry id or title) wins; else the only loaded site; else the one
    site in which the keyholder, locks and key named all exist.
    """
    entries = hass.config_entries.async_loaded_entries(DOMAIN)
    if site is not None:
        entries = [e for e in entries if site in (e.entry_id, e.title)]
        if not entries:
            raise validation_error("unknown_site", site=site)
    if len(entries) == 1:
        return entries[0]
    if not entries:
        raise validation_error("no_site")
    locks = list(locks)
    matching = [
        entry
        for entry in entries
        if _names_all(hass, entry.runtime_data, keyholder, locks, key_id, group=group)
    ]
    if len(matching) == 1:
        return matching[0]
    if not matching:
        raise validation_error("site_not_found", sites=_titles(entries))
    raise validation_error("site_required", sites=_titles(matching))
