"""Keyholder: who may open which door, when, and with what key."""

from __future__ import annotations

from datetime import date, datetime

from homeassistant.config_entries import ConfigEntry, ConfigSubentry
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.typing import ConfigType
from homeassistant.util import dt as dt_util

from .const import (
    CONF_ACTIVE_FROM,
    CONF_EMAIL,
    CONF_EXPIRES_ON,
    CONF_FAMILY_NAME,
    CONF_GIVEN_NAME,
    CONF_ROLE,
    DOMAIN,
    SUBENTRY_KEYHOLDER,
    SUBENTRY_LOCK,
)
from .engine.model import Keyholder, Role
from .providers import create_provider
from .runtime import KeyholderRuntime, LockInfo
from .services import async_setup_services
from .store import KeyholderStore, SiteData

PLATFORMS = [
    Platform.CALENDAR,
    Platform.EVENT,
    Platform.LOCK,
    Platform.SENSOR,
    Platform.SWITCH,
]
CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)

type KeyholderConfigEntry = ConfigEntry[KeyholderRuntime]


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register Keyholder's actions."""
    async_setup_services(hass)
    return True


def keyholder_from_subentry(subentry: ConfigSubentry, *, blocked: bool) -> Keyholder:
    """Build the engine's keyholder from a keyholder subentry."""
    data = subentry.data
    active_from = data.get(CONF_ACTIVE_FROM)
    expires_on = data.get(CONF_EXPIRES_ON)
    parsed_from: datetime | None = (
        dt_util.as_utc(dt_util.parse_datetime(active_from, raise_on_error=True))
        if active_from
        else None
    )
    return Keyholder(
        id=subentry.subentry_id,
        given_name=data[CONF_GIVEN_NAME],
        family_name=data.get(CONF_FAMILY_NAME, ""),
        email=data.get(CONF_EMAIL) or None,
        role=Role(data.get(CONF_ROLE, Role.KEYHOLDER)),
        active_from=parsed_from,
        expires_on=date.fromisoformat(expires_on) if expires_on else None,
        blocked=blocked,
    )


def _sync_keyholders(entry: KeyholderConfigEntry, data: SiteData) -> None:
    """
    Make the site's keyholders match the keyholder subentries.

    Details come from the subentries; whether someone is blocked is run-time
    state kept in the store. Keyholders whose subentry is gone lose their keys.
    """
    site = data.site
    subentries = {
        sid: sub
        for sid, sub in entry.subentries.items()
        if sub.subentry_type == SUBENTRY_KEYHOLDER
    }
    for gone in set(site.keyholders) - set(subentries):
        site.remove_keyholder(gone)
    for sid, sub in subentries.items():
        old = site.keyholders.get(sid)
        site.put_keyholder(
            keyholder_from_subentry(sub, blocked=bool(old and old.blocked))
        )


def _build_locks(
    hass: HomeAssistant, entry: KeyholderConfigEntry, data: SiteData
) -> dict[str, LockInfo]:
    """Create a provider for every lock subentry; forget removed locks."""
    locks = {
        sid: LockInfo(
            lock_id=sid,
            name=sub.title,
            provider=create_provider(hass, sub.data, data.virtual.setdefault(sid, {})),
        )
        for sid, sub in entry.subentries.items()
        if sub.subentry_type == SUBENTRY_LOCK
    }
    for memory in (data.virtual, data.written):
        for gone in set(memory) - set(locks):
            del memory[gone]
    return locks


async def async_setup_entry(hass: HomeAssistant, entry: KeyholderConfigEntry) -> bool:
    """Set up a Keyholder site from a config entry."""
    store = KeyholderStore(hass, entry.entry_id)
    data = await store.async_load()
    _sync_keyholders(entry, data)
    runtime = KeyholderRuntime(
        hass, entry.entry_id, store, data, _build_locks(hass, entry, data)
    )
    entry.runtime_data = runtime
    await runtime.async_start()
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    entry.async_on_unload(entry.add_update_listener(_async_reload))
    return True


async def _async_reload(hass: HomeAssistant, entry: KeyholderConfigEntry) -> None:
    """Reload the site when its locks, keyholders or settings change."""
    hass.config_entries.async_schedule_reload(entry.entry_id)


async def async_unload_entry(hass: HomeAssistant, entry: KeyholderConfigEntry) -> bool:
    """Unload a Keyholder site."""
    unloaded = await hass.config_entries.async_unload_platforms(entry, PLATFORMS)
    if unloaded:
        await entry.runtime_data.async_stop()
    return unloaded


async def async_remove_entry(hass: HomeAssistant, entry: KeyholderConfigEntry) -> None:
    """Delete the site's stored data when the site is removed."""
    await KeyholderStore(hass, entry.entry_id).async_remove()
