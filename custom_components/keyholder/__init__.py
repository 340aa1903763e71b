"""Keyholder: who may open which door, when, and with what key."""

from __future__ import annotations

from homeassistant.const import EVENT_HOMEASSISTANT_STOP, Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import config_validation as cv, issue_registry as ir
from homeassistant.helpers.typing import ConfigType
from homeassistant.util import dt as dt_util

from .adapters.services import async_setup_services
from .adapters.websocket_api import async_register_websocket_api
from .const import DOMAIN, LOGGER
from .panel import async_register_panel
from .site import (
    async_sync_keyholders,
    build_locks,
    delete_lock_issues,
    sync_keyholders,
)
from .sources.bookings.calendars import Bookings
from .storage.store import KeyholderStore, LoadOutcome, LoadResult, store_issue_id
from .sync.alerts import WrongCodeAlerts
from .sync.runtime import KeyholderConfigEntry, KeyholderRuntime
from .sync.subentry_changes import SubentryChanges

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
    """Register Keyholder's actions, websocket API and panel."""
    async_setup_services(hass)
    async_register_websocket_api(hass)
    await async_register_panel(hass)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: KeyholderConfigEntry) -> bool:
    """Set up a Keyholder site from a config entry."""
    store = KeyholderStore(hass, entry.entry_id)
    loaded = await store.async_load_checked()
    _async_report_recovery(hass, entry, loaded)
    data = loaded.data
    # Runs after async_unload_entry has let the last pass save.
    entry.async_on_unload(store.async_flush_backup)
    subentries = SubentryChanges(
        entry,
        known=set(data.site.keyholders),
        groups={m.group_id for m in data.site.memberships.values()},
    )
    sync_keyholders(entry, data, subentries)
    runtime = KeyholderRuntime(
        hass, entry.entry_id, store, data, build_locks(hass, entry, data)
    )
    runtime.subentries = subentries
    entry.runtime_data = runtime
    entry.async_on_unload(WrongCodeAlerts(hass, entry).async_start())
    entry.async_on_unload(
        hass.bus.async_listen(EVENT_HOMEASSISTANT_STOP, runtime.async_save_at_stop)
    )
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    entry.async_on_unload(entry.add_update_listener(_async_reload))
    # Bringing the locks in line can take long with radio locks: the site's
    # entities are up meanwhile (sync sensors show pending) and startup goes on.
    entry.async_create_task(hass, runtime.async_start(), "keyholder first sync")
    # Guests' keys follow their booking calendars (stopped with the runtime).
    runtime.bookings = Bookings(hass, entry)
    subentries.take_bookings()  # the first sync follows them all
    entry.async_create_task(hass, runtime.bookings.async_sync(), "keyholder bookings")
    return True


_RECOVERY_ISSUES = {
    LoadOutcome.RESTORED: ("store_restored", ir.IssueSeverity.WARNING),
    LoadOutcome.RESTORED_MISSING: ("store_restored_missing", ir.IssueSeverity.WARNING),
    LoadOutcome.LOST: ("store_lost", ir.IssueSeverity.ERROR),
}


def _async_report_recovery(
    hass: HomeAssistant, entry: KeyholderConfigEntry, loaded: LoadResult
) -> None:
    """
    Raise a repair issue when the site's data had to be restored or was lost.

    Nothing on the locks is cleared either way: slots missing from the data
    loaded are not Keyholder's record, so they count as unmanaged.
    """
    if loaded.outcome not in _RECOVERY_ISSUES:
        return
    translation_key, severity = _RECOVERY_ISSUES[loaded.outcome]
    placeholders = {"site": entry.title}
    if loaded.kept:
        placeholders["kept"] = ", ".join(loaded.kept)
    if loaded.saved_at is not None:
        saved_at = dt_util.as_local(loaded.saved_at).strftime("%Y-%m-%d %H:%M:%S")
        placeholders["saved_at"] = saved_at
        LOGGER.warning(
            "The saved data of %s could not be used; restored the copy saved at %s",
            entry.title,
            saved_at,
        )
    else:
        LOGGER.error(
            "The saved data of %s could not be read and there is no usable copy; "
            "codes on its locks are left in place",
            entry.title,
        )
    ir.async_create_issue(
        hass,
        DOMAIN,
        store_issue_id(entry.entry_id),
        is_fixable=True,
        is_persistent=True,
        severity=severity,
        translation_key=translation_key,
        translation_placeholders=placeholders,
        data={"entry_id": entry.entry_id},
    )


async def _async_reload(hass: HomeAssistant, entry: KeyholderConfigEntry) -> None:
    """Reload the site when its settings or locks change; keyholders in place."""
    runtime = entry.runtime_data
    runtime.subentries.look(entry)
    if runtime.subentries.reload:
        hass.config_entries.async_schedule_reload(entry.entry_id)
        return
    await async_sync_keyholders(hass, entry, looked=True)
    if runtime.subentries.take_bookings() and runtime.bookings is not None:
        await runtime.bookings.async_sync()


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
        delete_lock_issues(hass, subentry_id)
    ir.async_delete_issue(hass, DOMAIN, store_issue_id(entry.entry_id))
