"""
The panel's access commands: groups, who has which access, adding a person.

Administrators only, like every command of the panel. Each validates the
whole message before changing anything and answers a refusal with the field
refused or Keyholder's translated message. Groups are access group subentries
of the site, created, changed and removed the way the actions add keyholders.
``keyholder/add_person`` adds a keyholder with their access and a first key in
one go, and answers with the key's passcode: the only time it is ever sent.
``keyholder/reschedule_key`` gives a key a new schedule on the same locks (no
passcode in or out).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from homeassistant.components.websocket_api import async_register_command
from homeassistant.components.websocket_api.connection import ActiveConnection
from homeassistant.components.websocket_api.const import ERR_INVALID_FORMAT
from homeassistant.components.websocket_api.decorators import (
    async_response,
    require_admin,
    websocket_command,
)
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
import probatio as vol

from ..access.describe import describe_access, describe_key
from ..access.errors import validation_error
from ..access.grants import async_set_access
from ..access.inputs import name_text
from ..access.keys import async_issue_key, async_reschedule_key
from ..access.resolve import find_site, resolve_keyholder, resolve_locks
from ..const import (
    CONF_PASSCODE_LENGTH,
    DEFAULT_PASSCODE_LENGTH,
    site_setting,
)
from ..model.values import ALWAYS, KeyKind, Schedule
from ..site import async_sync_keyholders
from ..sync.runtime import KeyholderRuntime
from .action_fields import (
    ATTR_END_TIME,
    ATTR_KEY_ID,
    ATTR_KEYHOLDER,
    ATTR_LOCKS,
    ATTR_PASSCODE,
    ATTR_SITE,
    ATTR_START_TIME,
    ATTR_VALID_FROM,
    ATTR_VALID_UNTIL,
    ATTR_WEEKDAYS,
)
from .run_action import async_run_action
from .schedule_fields import SCHEDULE_FIELDS, schedule_from_fields, schedule_shown
from .websocket_errors import send_failure

ATTR_GROUP_ID = "group_id"
ATTR_GROUPS = "groups"
ATTR_PERSONAL = "personal"
ATTR_SCHEDULE = "schedule"
ATTR_KEY_NAME = "key_name"
DETAILS = ("given_name", "family_name", "email", "role", "active_from", "expires_on")
"""A person's details, as ``add_keyholder`` takes them."""

SCHEDULE = vol.Schema(SCHEDULE_FIELDS)
LOCKS = vol.All([str], vol.Length(max=500))
_ACCESS: dict[Any, Any] = {
    vol.Optional(ATTR_GROUPS, default=list): [
        vol.Schema(
            {
                vol.Required(ATTR_GROUP_ID): str,
                vol.Optional(ATTR_SCHEDULE, default=dict): SCHEDULE,
            }
        )
    ],
    vol.Optional(ATTR_PERSONAL, default=None): vol.Any(
        None,
        vol.Schema(
            {
                vol.Required(ATTR_LOCKS): LOCKS,
                vol.Optional(ATTR_SCHEDULE, default=dict): SCHEDULE,
            }
        ),
    ),
}
LOOSE_ACCESS: dict[Any, Any] = {
    vol.Optional(ATTR_SITE): str,
    vol.Optional(ATTR_GROUPS): list,
    vol.Optional(ATTR_PERSONAL): vol.Any(None, dict),
}
"""What the websocket layer checks; the rest is checked (and named) here."""

Access = tuple[dict[str, Schedule], tuple[frozenset[str], Schedule] | None]


def async_register_access_commands(hass: HomeAssistant) -> None:
    """Register the access commands (from ``async_register_websocket_api``)."""
    for command in (ws_set_access, ws_add_person, ws_reschedule_key):
        async_register_command(hass, command)


# -- descriptions ----------------------------------------------------------------


def access_shown(runtime: KeyholderRuntime, keyholder_id: str) -> dict[str, Any]:
    """Describe a keyholder's memberships and personal access (no secrets)."""
    access = describe_access(runtime, keyholder_id)
    return {
        "groups": [
            {
                "id": m.group_id,
                "name": m.group,
                "schedule": schedule_shown(m.schedule),
            }
            for m in access.memberships
        ],
        "personal": [
            {
                "id": grant.id,
                "locks": list(grant.lock_ids),
                "schedule": schedule_shown(grant.schedule),
                "editable": grant.personal,
            }
            for grant in access.grants
        ],
    }


# -- helpers -----------------------------------------------------------------------


async def answer(
    connection: ActiveConnection,
    msg: dict[str, Any],
    work: Callable[[], Awaitable[Any]],
) -> None:
    """Run ``work`` and send its answer, or the refusal (nothing changed)."""
    try:
        result = await work()
    except (vol.Invalid, HomeAssistantError) as err:
        send_failure(connection, msg["id"], err)
    else:
        connection.send_result(msg["id"], result)


def message_data(msg: dict[str, Any]) -> dict[str, Any]:
    """Return a command's fields (without its id and type)."""
    return {k: v for k, v in msg.items() if k not in ("id", "type")}


def command_site(hass: HomeAssistant, data: dict[str, Any]) -> ConfigEntry:
    """Return the site a command is for."""
    return find_site(hass, data.get(ATTR_SITE), keyholder=data.get(ATTR_KEYHOLDER))


def resolve_group(runtime: KeyholderRuntime, ref: str) -> str:
    """Resolve a group by id or name (case-insensitive)."""
    groups = runtime.site.groups
    if ref in groups:
        return ref
    for group in groups.values():
        if group.name.casefold() == ref.casefold():
            return group.id
    raise validation_error("unknown_group", group=ref)


def required_locks(
    hass: HomeAssistant, runtime: KeyholderRuntime, refs: list[str]
) -> frozenset[str]:
    """Resolve the locks a command names (at least one)."""
    if not refs:
        raise validation_error("no_locks")
    return resolve_locks(hass, runtime, refs)


def _access(
    hass: HomeAssistant, runtime: KeyholderRuntime, data: dict[str, Any]
) -> Access:
    """Return the groups (with schedules) and personal access a message gives."""
    groups = {
        resolve_group(runtime, item[ATTR_GROUP_ID]): schedule_from_fields(
            item[ATTR_SCHEDULE]
        )
        for item in data[ATTR_GROUPS]
    }
    personal = data[ATTR_PERSONAL]
    if personal is None:
        return groups, None
    locks = required_locks(hass, runtime, personal[ATTR_LOCKS])
    return groups, (locks, schedule_from_fields(personal[ATTR_SCHEDULE]))


# -- a person's access ---------------------------------------------------------------


@require_admin
@websocket_command(
    {
        vol.Required("type"): "keyholder/set_access",
        vol.Required(ATTR_KEYHOLDER): str,
        **LOOSE_ACCESS,
    }
)
@async_response
async def ws_set_access(
    hass: HomeAssistant, connection: ActiveConnection, msg: dict[str, Any]
) -> None:
    """Set a keyholder's groups (with their schedules) and personal access."""

    async def work() -> None:
        data = vol.Schema({**_ACCESS, vol.Required(ATTR_KEYHOLDER): str}, extra=True)(
            message_data(msg)
        )
        runtime: KeyholderRuntime = command_site(hass, data).runtime_data
        keyholder_id = resolve_keyholder(runtime, data[ATTR_KEYHOLDER])
        groups, personal = _access(hass, runtime, data)
        await async_set_access(runtime, keyholder_id, groups=groups, personal=personal)

    await answer(connection, msg, work)


@require_admin
@websocket_command(
    {
        vol.Required("type"): "keyholder/add_person",
        **LOOSE_ACCESS,
        vol.Required("given_name"): str,
        **{vol.Optional(field): str for field in DETAILS[1:]},
        vol.Optional(ATTR_KEY_NAME): str,
        vol.Optional(ATTR_PASSCODE): object,
    }
)
@async_response
async def ws_add_person(
    hass: HomeAssistant, connection: ActiveConnection, msg: dict[str, Any]
) -> None:
    """Add a keyholder with access and a first passcode key; answer the code once."""
    passcode = msg.get(ATTR_PASSCODE)
    if passcode is not None and (
        isinstance(passcode, bool) or not isinstance(passcode, (str, int))
    ):
        connection.send_error(
            msg["id"], ERR_INVALID_FORMAT, "Invalid passcode: expected digits"
        )
        return

    await answer(
        connection,
        msg,
        lambda: _async_add_person(hass, connection, msg, passcode),
    )


async def _async_add_person(
    hass: HomeAssistant,
    connection: ActiveConnection,
    msg: dict[str, Any],
    passcode: str | int | None,
) -> dict[str, Any]:
    """Validate everything, add the keyholder, then their access and key."""
    data = vol.Schema(_ACCESS, extra=True)(message_data(msg))
    entry = command_site(hass, data)
    runtime: KeyholderRuntime = entry.runtime_data
    key_name = name_text(ATTR_KEY_NAME)(data.get(ATTR_KEY_NAME, ""))
    groups, personal = _access(hass, runtime, data)
    if not groups and personal is None:
        raise validation_error("no_access_given")
    details = {field: data[field] for field in DETAILS if field in data}
    details[ATTR_SITE] = entry.entry_id
    added = await async_run_action(
        hass, "add_keyholder", details, connection.context(msg)
    )
    keyholder_id: str = (added or {})["keyholder_id"]
    try:
        await async_set_access(runtime, keyholder_id, groups=groups, personal=personal)
        issued = await async_issue_key(
            runtime,
            keyholder_id=keyholder_id,
            lock_ids=None,  # the key follows the access just given
            kind=KeyKind.PASSCODE,
            schedule=ALWAYS,
            max_uses=None,
            passcode=None if passcode is None else str(passcode),
            tag=None,
            passcode_length=site_setting(
                entry, CONF_PASSCODE_LENGTH, DEFAULT_PASSCODE_LENGTH
            ),
            name=key_name,
        )
    except BaseException:
        # Nothing of the person stays when their access or key is refused.
        runtime.subentries.expect(entry, keyholder_id)
        hass.config_entries.async_remove_subentry(entry, keyholder_id)
        await async_sync_keyholders(hass, entry)
        raise
    key = describe_key(runtime, issued.key)
    return {
        "keyholder_id": keyholder_id,
        "keyholder": key.keyholder,
        "key_id": key.id,
        "status": key.status.value,
        "locks": list(key.locks),
        "not_on_locks": list(key.not_on_locks),
        ATTR_PASSCODE: issued.passcode,
    }


# -- a key's schedule ----------------------------------------------------------------


@require_admin
@websocket_command(
    {
        vol.Required("type"): "keyholder/reschedule_key",
        vol.Optional(ATTR_SITE): str,
        vol.Required(ATTR_KEY_ID): str,
        vol.Optional(ATTR_WEEKDAYS): list,
        vol.Optional(ATTR_START_TIME): str,
        vol.Optional(ATTR_END_TIME): str,
        vol.Optional(ATTR_VALID_FROM): str,
        vol.Optional(ATTR_VALID_UNTIL): str,
        vol.Optional(ATTR_PASSCODE): object,  # refused below, never echoed
    }
)
@async_response
async def ws_reschedule_key(
    hass: HomeAssistant, connection: ActiveConnection, msg: dict[str, Any]
) -> None:
    """Give a key a new schedule on the same locks; answer with its status."""
    if ATTR_PASSCODE in msg:
        connection.send_error(
            msg["id"], ERR_INVALID_FORMAT, "Invalid passcode: a schedule takes none"
        )
        return

    async def work() -> dict[str, Any]:
        data = message_data(msg)
        key_id: str = data.pop(ATTR_KEY_ID)
        entry = find_site(hass, data.pop(ATTR_SITE, None), key_id=key_id)
        runtime: KeyholderRuntime = entry.runtime_data
        schedule = schedule_from_fields(SCHEDULE(data))
        key = runtime.site.keys.get(key_id)
        if key is not None and key.cancelled:
            raise validation_error("key_cancelled", key_id=key_id)
        # No locks given: the key keeps its own (or follows the access).
        rescheduled = await async_reschedule_key(runtime, key_id, schedule)
        shown = describe_key(runtime, rescheduled)
        return {
            "key_id": shown.id,
            "status": shown.status.value,
            "not_on_locks": list(shown.not_on_locks),
            **schedule_shown(shown.schedule),
        }

    await answer(connection, msg, work)
