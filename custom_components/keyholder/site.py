"""A site's locks and keyholders, built from its config entry and subentries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from homeassistant.config_entries import ConfigSubentry
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, issue_registry as ir
from homeassistant.util import dt as dt_util

from .const import (
    CONF_ACTIVE_FROM,
    CONF_EMAIL,
    CONF_EXPIRES_ON,
    CONF_FAMILY_NAME,
    CONF_GIVEN_NAME,
    CONF_LOCK_ENTITY,
    CONF_LOCKS,
    CONF_PROVIDER,
    CONF_ROLE,
    CONF_SCHEDULE,
    DOMAIN,
    LOGGER,
    SUBENTRY_BOOKING,
    SUBENTRY_GROUP,
    SUBENTRY_LOCK,
)
from .lock_families import create_provider
from .model.serialize import schedule_from_dict
from .model.site import Site
from .model.values import AccessGroup, Keyholder, Role
from .storage.store import SiteData
from .sync.alerts import alert_issue_id
from .sync.placement import placement_issue_ids
from .sync.runtime import KeyholderConfigEntry
from .sync.state import LockInfo, issue_id
from .sync.subentry_changes import PEOPLE, SubentryChanges


def keyholder_from_subentry(subentry: ConfigSubentry, *, blocked: bool) -> Keyholder:
    """
    Build the engine's keyholder from a keyholder or booking subentry.

    A booking calendar is one keyholder, its guests: each event is one key
    named after the event, which goes away with the stay.
    """
    if subentry.subentry_type == SUBENTRY_BOOKING:
        return Keyholder(
            id=subentry.subentry_id, given_name=subentry.title, blocked=blocked
        )
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


def group_from_subentry(subentry: ConfigSubentry) -> AccessGroup:
    """Build the model's access group from an access group subentry."""
    data = subentry.data
    return AccessGroup(
        id=subentry.subentry_id,
        name=subentry.title,
        lock_ids=frozenset(data.get(CONF_LOCKS, ())),
        schedule=schedule_from_dict(data.get(CONF_SCHEDULE) or {}),
    )


def _sync_groups(
    entry: KeyholderConfigEntry, site: Site, groups: set[str], locks: set[str]
) -> set[str]:
    """
    Make the site's access groups match the subentries ``groups`` names.

    Returns the keyholders whose access changed; adds the locks concerned to
    ``locks``. Memberships of a group that is gone go with it.
    """
    holders: set[str] = set()
    for sid in groups:
        sub = entry.subentries.get(sid)
        old = site.groups.get(sid)
        if old is not None:
            locks.update(old.lock_ids)
        if sub is None or sub.subentry_type != SUBENTRY_GROUP:
            holders |= site.remove_group(sid)
            continue
        new = group_from_subentry(sub)
        if new != old:
            locks.update(new.lock_ids)
            holders |= site.put_group(new)
    return holders


@dataclass(frozen=True, slots=True)
class KeyholderChanges:
    """What :func:`sync_keyholders` changed."""

    changed: set[str]
    """Keyholders new, changed or removed."""
    added: set[str]
    """Keyholders new."""
    locks: set[str]
    """Locks listed by the keys of keyholders changed or removed."""


def sync_keyholders(
    entry: KeyholderConfigEntry, data: SiteData, subentries: SubentryChanges
) -> KeyholderChanges:
    """
    Make the site's keyholders and access groups match their subentries.

    Details come from the subentries; whether someone is blocked is run-time
    state kept in the store. Keyholders whose subentry is gone lose their keys.
    Only the subentries ``subentries`` saw added, changed or removed (at its
    last look) are read: a change costs what changed, however many keyholders.
    """
    site = data.site
    locks: set[str] = set()
    changed, added = set(), set()
    if groups := subentries.take_groups():
        changed |= _sync_groups(entry, site, groups, locks)
    for sid in subentries.take_people():
        sub = entry.subentries.get(sid)
        old = site.keyholders.get(sid)
        if sub is None or sub.subentry_type not in PEOPLE:
            if old is not None:
                locks.update(
                    lock for key in site.keys_of(sid) for lock in site.locks_of(key)
                )
                site.remove_keyholder(sid)
                changed.add(sid)
            continue
        new = keyholder_from_subentry(sub, blocked=bool(old and old.blocked))
        if new != old:
            site.put_keyholder(new)
            changed.add(sid)
            if old is None:
                added.add(sid)
            locks.update(
                lock for key in site.keys_of(sid) for lock in site.locks_of(key)
            )
    return KeyholderChanges(changed, added, locks)


async def async_sync_keyholders(
    hass: HomeAssistant, entry: KeyholderConfigEntry, *, looked: bool = False
) -> None:
    """
    Apply keyholder subentries added or removed, and changes seen, in place.

    ``looked``: the caller (the update listener) has just looked at every
    subentry; otherwise only those added or removed are looked for (a change
    in place is seen by the update listener that follows it).
    """
    runtime = entry.runtime_data
    if not looked:
        runtime.subentries.look_added(entry)
    changes = sync_keyholders(entry, runtime.data, runtime.subentries)
    if not changes.changed:
        return
    devices = dr.async_get(hass)
    for keyholder_id in changes.changed - changes.added:
        holder = runtime.site.keyholders.get(keyholder_id)
        if holder is not None and (
            device := devices.async_get_device(identifiers={(DOMAIN, keyholder_id)})
        ):
            devices.async_update_device(device.id, name=holder.name)
    await runtime.async_keyholders_changed(
        changes.changed, added=changes.added, locks=changes.locks
    )


def build_locks(
    hass: HomeAssistant, entry: KeyholderConfigEntry, data: SiteData
) -> dict[str, LockInfo]:
    """Create a provider for every lock subentry; forget removed locks."""
    subs = {
        sid: sub
        for sid, sub in entry.subentries.items()
        if sub.subentry_type == SUBENTRY_LOCK
    }
    for sid, sub in subs.items():
        target = sub.data.get(CONF_LOCK_ENTITY) or sub.data.get(
            "address", sub.data.get(CONF_PROVIDER, "")
        )
        if data.targets.get(sid, target) != target:
            # Reconfigured to another lock: the slots we wrote were on the old one.
            LOGGER.warning(
                "%s now drives %s; codes Keyholder wrote to the previous lock stay there",
                sub.title,
                target,
            )
            data.written.pop(sid, None)
            # A TTLock's slot numbering (kept with the virtual locks' memory)
            # was the old lock's too; forgotten before the provider takes it.
            data.virtual.pop(sid, None)
        data.targets[sid] = target
    locks = {
        sid: LockInfo(
            lock_id=sid,
            name=sub.title,
            provider=create_provider(hass, sid, sub.data, data.virtual),
        )
        for sid, sub in subs.items()
    }
    memories = (data.virtual, data.written, data.targets)
    for gone in set().union(*memories) - set(locks):
        for memory in memories:
            memory.pop(gone, None)
        delete_lock_issues(hass, gone)
    return locks


def delete_lock_issues(hass: HomeAssistant, lock_id: str) -> None:
    """Delete every repair issue about one lock (it or its site is gone)."""
    for lock_issue in (
        issue_id(lock_id),
        alert_issue_id(lock_id),
        *placement_issue_ids(lock_id),
    ):
        ir.async_delete_issue(hass, DOMAIN, lock_issue)
