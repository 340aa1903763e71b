"""
The panel's access group commands: list, create or change, remove.

Administrators only. Groups are access group subentries of the site, added,
changed and removed the way the actions add keyholders, and applied at once:
the answer comes when every lock concerned is in line.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from homeassistant.components.websocket_api import async_register_command
from homeassistant.components.websocket_api.connection import ActiveConnection
from homeassistant.components.websocket_api.decorators import (
    async_response,
    require_admin,
    websocket_command,
)
from homeassistant.config_entries import ConfigSubentry
from homeassistant.core import HomeAssistant
import probatio as vol

from ..access.describe import describe_groups
from ..access.errors import validation_error
from ..access.inputs import name_text
from ..const import CONF_LOCKS, CONF_SCHEDULE, SUBENTRY_GROUP
from ..model.serialize import schedule_to_dict
from ..site import async_sync_keyholders
from ..sync.runtime import KeyholderRuntime
from .action_fields import ATTR_LOCKS, ATTR_NAME, ATTR_SITE
from .schedule_fields import schedule_from_fields, schedule_shown
from .websocket_access import (
    ATTR_GROUP_ID,
    ATTR_SCHEDULE,
    LOCKS,
    SCHEDULE,
    answer,
    command_site,
    message_data,
    required_locks,
    resolve_group,
)

_GROUP = vol.Schema(
    {
        vol.Optional(ATTR_SITE): str,
        vol.Optional(ATTR_GROUP_ID): str,
        vol.Required(ATTR_NAME): name_text(ATTR_NAME),
        vol.Required(ATTR_LOCKS): LOCKS,
        vol.Optional(ATTR_SCHEDULE, default=dict): SCHEDULE,
    }
)


def async_register_group_commands(hass: HomeAssistant) -> None:
    """Register the group commands (from ``async_register_websocket_api``)."""
    for command in (ws_groups, ws_save_group, ws_delete_group):
        async_register_command(hass, command)


def groups_shown(runtime: KeyholderRuntime) -> list[dict[str, Any]]:
    """Describe the site's groups for the panel: locks, schedule, members."""
    return [
        {
            "id": group.id,
            "name": group.name,
            "locks": list(group.lock_ids),
            "schedule": schedule_shown(group.schedule),
            "members": [
                {
                    "id": member.keyholder_id,
                    "name": member.name,
                    "schedule": schedule_shown(member.schedule),
                }
                for member in group.members
            ],
        }
        for group in describe_groups(runtime)
    ]


# -- groups ------------------------------------------------------------------------


@require_admin
@websocket_command(
    {vol.Required("type"): "keyholder/groups", vol.Optional(ATTR_SITE): str}
)
@async_response
async def ws_groups(
    hass: HomeAssistant, connection: ActiveConnection, msg: dict[str, Any]
) -> None:
    """Answer with the site's groups: locks, schedule and members."""

    async def work() -> dict[str, Any]:
        return {
            "groups": groups_shown(command_site(hass, message_data(msg)).runtime_data)
        }

    await answer(connection, msg, work)


@require_admin
@websocket_command(
    {
        vol.Required("type"): "keyholder/save_group",
        vol.Optional(ATTR_SITE): str,
        vol.Optional(ATTR_GROUP_ID): str,
        vol.Required(ATTR_NAME): str,
        vol.Required(ATTR_LOCKS): list,
        vol.Optional(ATTR_SCHEDULE): dict,
    }
)
@async_response
async def ws_save_group(
    hass: HomeAssistant, connection: ActiveConnection, msg: dict[str, Any]
) -> None:
    """Create a group, or change one (``group_id``): name, locks, schedule."""

    async def work() -> dict[str, Any]:
        data = _GROUP(message_data(msg))
        entry = command_site(hass, data)
        runtime: KeyholderRuntime = entry.runtime_data
        group_id = data.get(ATTR_GROUP_ID)
        if group_id is not None and group_id not in runtime.site.groups:
            raise validation_error("unknown_group", group=group_id)
        name = data[ATTR_NAME]
        if not name:
            raise validation_error("group_name_required")
        for other in runtime.site.groups.values():
            if other.id != group_id and other.name.casefold() == name.casefold():
                raise validation_error("group_exists", group=name)
        locks = required_locks(hass, runtime, data[ATTR_LOCKS])
        schedule = schedule_from_fields(data[ATTR_SCHEDULE])
        stored = MappingProxyType(
            {CONF_LOCKS: sorted(locks), CONF_SCHEDULE: schedule_to_dict(schedule)}
        )
        if group_id is None:
            subentry = ConfigSubentry(
                data=stored, subentry_type=SUBENTRY_GROUP, title=name, unique_id=None
            )
            group_id = subentry.subentry_id
            runtime.subentries.expect(entry, group_id)
            hass.config_entries.async_add_subentry(entry, subentry)
            await async_sync_keyholders(hass, entry)
        else:
            hass.config_entries.async_update_subentry(
                entry, entry.subentries[group_id], data=stored, title=name
            )
            # Applied now (the update listener that follows finds nothing new).
            runtime.subentries.look(entry)
            await async_sync_keyholders(hass, entry, looked=True)
        return {ATTR_GROUP_ID: group_id}

    await answer(connection, msg, work)


@require_admin
@websocket_command(
    {
        vol.Required("type"): "keyholder/delete_group",
        vol.Optional(ATTR_SITE): str,
        vol.Required(ATTR_GROUP_ID): str,
    }
)
@async_response
async def ws_delete_group(
    hass: HomeAssistant, connection: ActiveConnection, msg: dict[str, Any]
) -> None:
    """Remove a group: its members lose the access it gave."""

    async def work() -> None:
        entry = command_site(hass, msg)
        runtime: KeyholderRuntime = entry.runtime_data
        group_id = resolve_group(runtime, msg[ATTR_GROUP_ID])
        runtime.subentries.expect(entry, group_id)
        hass.config_entries.async_remove_subentry(entry, group_id)
        await async_sync_keyholders(hass, entry)

    await answer(connection, msg, work)
