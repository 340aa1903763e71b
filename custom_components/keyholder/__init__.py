"""Keyholder: who may open which door, when, and with what key."""

from __future__ import annotations

from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import config_validation as cv, issue_registry as ir
from homeassistant.helpers.typing import ConfigType

from .const import DOMAIN
from .runtime import KeyholderConfigEntry, KeyholderRuntime, issue_id
from .services import async_setup_services
from .site import async_sync_keyholders, build_locks, reload_signature, sync_keyholders
from .store import KeyholderStore

__all__ = ["KeyholderConfigEntry"]

PLATFORMS = [
    Platform.CALENDAR,
    Platform.EVENT,
    Platform.LOCK,
    Platform.SENSOR,
    Platform.SWITCH,
]
CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register Keyholder's actions."""
    async_setup_services(hass)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: KeyholderConfigEntry) -> bool:
    """Set up a Keyholder site from a config entry."""
    store = KeyholderStore(hass, entry.entry_id)
    data = await store.async_load()
    sync_keyholders(entry, data)
    runtime = KeyholderRuntime(
        hass, entry.entry_id, store, data, build_locks(hass, entry, data)
    )
    entry.runtime_data = runtime
    runtime.signature = reload_signature(entry)
    await runtime.async_start()
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    entry.async_on_unload(entry.add_update_listener(_async_reload))
    return True


async def _async_reload(hass: HomeAssistant, entry: KeyholderConfigEntry) -> None:
    """Reload the site when its settings or locks change; keyholders in place."""
    if reload_signature(entry) != entry.runtime_data.signature:
        hass.config_entries.async_schedule_reload(entry.entry_id)
        return
    await async_sync_keyholders(hass, entry)


async def async_unload_entry(hass: HomeAssistant, entry: KeyholderConfigEntry) -> bool:
    """Unload a Keyholder site."""
    unloaded = await hass.config_entries.async_unload_platforms(entry, PLATFORMS)
    if unloaded:
        await entry.runtime_data.async_stop()
    return unloaded


async def async_remove_entry(hass: HomeAssistant, entry: KeyholderConfigEntry) -> None:
    """Delete the site's stored data and repair issues when the site is removed."""
    await KeyholderStore(hass, entry.entry_id).async_remove()
    for subentry_id in entry.subentries:
        ir.async_delete_issue(hass, DOMAIN, issue_id(subentry_id))
