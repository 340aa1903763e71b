"""
What the access actions do: access groups, memberships and personal access.

Access groups are config subentries (``SUBENTRY_GROUP``): creating, changing
or deleting one changes its subentry, and the change is applied to the site
before the action returns (the next action in a script sees it). Memberships
and personal access are the site's own (``access/grants.py``).

``services.py`` holds the schemas and registers these handlers (admin only).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from types import MappingProxyType
from typing import Any

from homeassistant.config_entries import ConfigEntry, ConfigSubentry
from homeassistant.core import ServiceCall, ServiceResponse
from homeassistant.util import dt as dt_util

from ..access.errors import validation_error
from ..access.grants import (
    async_grant_access,
    async_join_group,
    async_leave_group,
    async_revoke_access,
)
from ..access.resolve import resolve_group, resolve_keyholder, resolve_locks
from ..const import CONF_LOCKS, CONF_SCHEDULE, SUBENTRY_GROUP
from ..model.serialize import schedule_to_dict
from ..model.values import AccessGroup, Schedule
from ..site import async_sync_keyholders
from ..sync.runtime import KeyholderRuntime
from .action_fields import (
    ATTR_END_TIME,
    ATTR_GROUP,
    ATTR_GROUP_ID,
    ATTR_KEYHOLDER,
    ATTR_LOCKS,
    ATTR_NAME,
    ATTR_START_TIME,
    ATTR_VALID_FROM,
    ATTR_VALID_UNTIL,
    ATTR_WEEKDAYS,
)
from .action_handlers import entry_of
from .schedule_fields import EARLIEST, LATEST, schedule_from_fields

SCHEDULE_FIELDS = (
    ATTR_WEEKDAYS,
    ATTR_START_TIME,
    ATTR_END_TIME,
    ATTR_VALID_FROM,
    ATTR_VALID_UNTIL,
)
"""The fields that together give a schedule (a group's, a membership's, a grant's)."""


def _runtime(entry: ConfigEntry) -> KeyholderRuntime:
    runtime: KeyholderRuntime = entry.runtime_data
    return runtime


def _group_name(entry: ConfigEntry, name: str, group_id: str | None = None) -> str:
    """Return a new group name; refuse an empty one or one another group has."""
    if not name:
        raise validation_error("group_name_required")
    wanted = name.casefold()
    for sid, sub in entry.subentries.items():
        if (
            sub.subentry_type == SUBENTRY_GROUP
            and sid != group_id
            and sub.title.strip().casefold() == wanted
        ):
            raise validation_error("group_name_taken", group=name)
    return name


def _group_data(lock_ids: frozenset[str], schedule: Schedule) -> dict[str, Any]:
    """Return an access group subentry's data."""
    return {CONF_LOCKS: sorted(lock_ids), CONF_SCHEDULE: schedule_to_dict(schedule)}


async def _async_applied(
    call: ServiceCall, entry: ConfigEntry, group: AccessGroup
) -> None:
    """
    Apply a group's subentry changed or removed; return once its locks follow.

    Home Assistant runs the update listener at once, which may take the change
    and still be bringing the locks in line: the group's locks (as they were)
    are synced once more, after it, so the action answers with them done.
    """
    runtime = _runtime(entry)
    await async_sync_keyholders(call.hass, entry)
    new = runtime.site.groups.get(group.id)
    locks = set(group.lock_ids | (new.lock_ids if new else frozenset()))
    members = [m.keyholder_id for m in runtime.site.access.members_of(group.id)]
    await runtime.async_apply_changes(locks, keyholders=members)


async def create_group(call: ServiceCall) -> ServiceResponse:
    """Create an access group: locks and when; answer with its id."""
    entry = entry_of(call)
    runtime = _runtime(entry)
    name = _group_name(entry, call.data[ATTR_NAME])
    lock_ids = resolve_locks(call.hass, runtime, call.data[ATTR_LOCKS])
    schedule = schedule_from_fields(dict(call.data))
    subentry = ConfigSubentry(
        data=MappingProxyType(_group_data(lock_ids, schedule)),
        subentry_type=SUBENTRY_GROUP,
        title=name,
        unique_id=None,
    )
    runtime.subentries.expect(entry, subentry.subentry_id)
    call.hass.config_entries.async_add_subentry(entry, subentry)
    await async_sync_keyholders(call.hass, entry)
    return {ATTR_GROUP_ID: subentry.subentry_id}


async def update_group(call: ServiceCall) -> None:
    """
    Change a group's name, locks or schedule; its members follow at once.

    Any schedule field given replaces the whole schedule with what the fields
    given say (``weekdays: []`` alone: always).
    """
    entry = entry_of(call)
    runtime = _runtime(entry)
    data = call.data
    group = runtime.site.groups[resolve_group(runtime, data[ATTR_GROUP])]
    name = group.name
    if ATTR_NAME in data:
        name = _group_name(entry, data[ATTR_NAME], group.id)
    lock_ids = group.lock_ids
    if ATTR_LOCKS in data:
        lock_ids = resolve_locks(call.hass, runtime, data[ATTR_LOCKS])
    schedule = group.schedule
    if any(field in data for field in SCHEDULE_FIELDS):
        schedule = schedule_from_fields(dict(data))
    subentry = entry.subentries[group.id]
    changed = call.hass.config_entries.async_update_subentry(
        entry, subentry, data=_group_data(lock_ids, schedule), title=name
    )
    if changed:
        runtime.subentries.changed_in_place(entry, group.id)
        await _async_applied(call, entry, group)


async def delete_group(call: ServiceCall) -> None:
    """Delete a group: its members lose the access it gave."""
    entry = entry_of(call)
    runtime = _runtime(entry)
    group = runtime.site.groups[resolve_group(runtime, call.data[ATTR_GROUP])]
    members = [m.keyholder_id for m in runtime.site.access.members_of(group.id)]
    runtime.subentries.expect(entry, group.id)
    call.hass.config_entries.async_remove_subentry(entry, group.id)
    await async_sync_keyholders(call.hass, entry)
    # As in _async_applied: the locks follow before the action answers.
    await runtime.async_apply_changes(set(group.lock_ids), keyholders=members)


def _moment(value: date | None, field: str, *, end: bool) -> datetime | None:
    """
    Return a moment given as a date and time, or as a date alone.

    A date alone is the start of that day (``end``: the end of it, the next
    local midnight).
    """
    if value is None or isinstance(value, datetime):
        return value
    if not EARLIEST <= value.year <= LATEST:
        raise validation_error("out_of_range", field=field)
    day = value + timedelta(days=1) if end else value
    return datetime.combine(day, time(), tzinfo=dt_util.get_default_time_zone())


async def add_to_group(call: ServiceCall) -> None:
    """Make a keyholder a member of a group (on narrower times, from/until)."""
    runtime = _runtime(entry_of(call))
    data = dict(call.data)
    for field in (ATTR_VALID_FROM, ATTR_VALID_UNTIL):
        data[field] = _moment(data.get(field), field, end=field == ATTR_VALID_UNTIL)
    await async_join_group(
        runtime,
        resolve_keyholder(runtime, data[ATTR_KEYHOLDER]),
        resolve_group(runtime, data[ATTR_GROUP]),
        schedule_from_fields(data),
    )


async def remove_from_group(call: ServiceCall) -> None:
    """End a keyholder's membership of a group."""
    runtime = _runtime(entry_of(call))
    await async_leave_group(
        runtime,
        resolve_keyholder(runtime, call.data[ATTR_KEYHOLDER]),
        resolve_group(runtime, call.data[ATTR_GROUP]),
    )


async def grant_access(call: ServiceCall) -> None:
    """Give a keyholder personal access to some locks (always or on a schedule)."""
    runtime = _runtime(entry_of(call))
    await async_grant_access(
        runtime,
        resolve_keyholder(runtime, call.data[ATTR_KEYHOLDER]),
        resolve_locks(call.hass, runtime, call.data[ATTR_LOCKS]),
        schedule_from_fields(dict(call.data)),
    )


async def revoke_access(call: ServiceCall) -> None:
    """Take a keyholder's personal access away: to some locks, or all of it."""
    runtime = _runtime(entry_of(call))
    locks = call.data.get(ATTR_LOCKS)
    await async_revoke_access(
        runtime,
        resolve_keyholder(runtime, call.data[ATTR_KEYHOLDER]),
        None if locks is None else resolve_locks(call.hass, runtime, locks),
    )
