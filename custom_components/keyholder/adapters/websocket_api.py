"""
Keyholder's websocket API, for its sidebar panel: administrators only.

``keyholder/site`` describes every site: keyholders with their status and keys
(status and schedule, never a passcode), locks with their sync state and the
slots holding codes Keyholder does not manage (slot numbers only).
``keyholder/subscribe`` sends the same description again whenever it changes.

The commands that change things run Keyholder's own actions (their schema,
admin check and handler), so they validate the same way and change nothing on
bad input; they run them directly, not through Home Assistant's service bus,
which would record a passcode typed in the panel in its ``call_service`` event.
A passcode is only ever sent in the answer to ``keyholder/issue_key`` and
``keyholder/generate_passcode``: the panel shows it once.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from homeassistant.components.websocket_api import async_register_command
from homeassistant.components.websocket_api.connection import ActiveConnection
from homeassistant.components.websocket_api.const import (
    ERR_INVALID_FORMAT,
    WebSocketCommandHandler,
)
from homeassistant.components.websocket_api.decorators import (
    async_response,
    require_admin,
    websocket_command,
)
from homeassistant.components.websocket_api.messages import event_message
from homeassistant.config_entries import (
    SIGNAL_CONFIG_ENTRY_CHANGED,
    ConfigEntry,
    ConfigEntryChange,
)
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.util import dt as dt_util
import probatio as vol

from ..access.describe import (
    KeyDescription,
    KeyholderDescription,
    LockDescription,
    describe_keyholders,
    describe_locks,
    iso,
    sync_attributes,
)
from ..const import DOMAIN
from ..model.schedule import shown_week, week_blocks
from ..model.values import Schedule
from ..sync.runtime import KeyholderRuntime
from .action_fields import (
    ATTR_END_TIME,
    ATTR_KEY_ID,
    ATTR_KEYHOLDER,
    ATTR_LOCKS,
    ATTR_NAME,
    ATTR_PASSCODE,
    ATTR_SITE,
    ATTR_START_TIME,
    ATTR_USES,
    ATTR_VALID_FROM,
    ATTR_VALID_UNTIL,
    ATTR_WEEKDAYS,
)
from .run_action import async_run_action
from .schedule_fields import schedule_shown
from .websocket_access import (
    access_shown,
    async_register_access_commands,
)
from .websocket_errors import send_failure
from .websocket_groups import async_register_group_commands, groups_shown

_SITE: dict[Any, Any] = {vol.Optional(ATTR_SITE): str}
_ANY_PASSCODE = object
"""An own passcode is checked by ``_call``: a schema error would log its value."""


@callback
def async_register_websocket_api(hass: HomeAssistant) -> None:
    """Register Keyholder's websocket commands (once, from ``async_setup``)."""
    async_register_command(hass, ws_site)
    async_register_command(hass, ws_subscribe)
    for command, action, fields, answers in _ACTION_COMMANDS:
        async_register_command(hass, _action_command(command, action, fields, answers))
    async_register_access_commands(hass)
    async_register_group_commands(hass)


# -- describing the sites ------------------------------------------------------


def _week(
    schedule: Schedule, now: datetime, runtime: KeyholderRuntime
) -> dict[str, Any]:
    """Describe the week the panel draws: its Monday and what opens, day by day."""
    monday = shown_week(schedule, now, runtime.tz)
    return {
        "monday": monday.isoformat(),
        "blocks": [
            {"day": day, "from": begin, "to": end}
            for day, begin, end in week_blocks(schedule, monday, runtime.tz)
        ],
    }


def _key(
    runtime: KeyholderRuntime, key: KeyDescription, now: datetime
) -> dict[str, Any]:
    """Describe a key for the panel: its status and schedule, never its code."""
    schedule = key.schedule
    return {
        "id": key.id,
        "name": key.name,
        "kind": key.kind.value,
        "status": key.status.value,
        "next_change": iso(key.next_change),
        "locks": list(key.lock_ids),
        "lock_statuses": {lock_id: status for lock_id, _, status in key.lock_statuses},
        "follows_access": key.follows_access,
        "not_on_locks": list(key.not_on_locks),
        "uses": key.uses,
        "max_uses": key.max_uses,
        **schedule_shown(schedule),
        "week": _week(schedule, now, runtime),
    }


def _keyholder(
    runtime: KeyholderRuntime, holder: KeyholderDescription, now: datetime
) -> dict[str, Any]:
    """Describe a keyholder the way its status sensor does, with its keys."""
    return {
        "id": holder.id,
        "name": holder.name,
        "role": holder.role.value,
        "blocked": holder.blocked,
        "status": holder.status.value,
        "next_change": iso(holder.next_change),
        "active_from": iso(holder.active_from),
        "expires_on": iso(holder.expires_on),
        "keys": [_key(runtime, key, now) for key in holder.keys],
    }


def _lock(lock: LockDescription) -> dict[str, Any]:
    """Describe a lock: sync state and unmanaged slots (no codes)."""
    return {
        "id": lock.id,
        "name": lock.name,
        "sync": lock.state.value,
        **sync_attributes(lock),
    }


def describe_sites(hass: HomeAssistant) -> dict[str, Any]:
    """Describe every loaded site (what ``keyholder/site`` answers)."""
    sites, now = [], dt_util.utcnow()
    for entry in hass.config_entries.async_loaded_entries(DOMAIN):
        runtime: KeyholderRuntime = entry.runtime_data
        sites.append(
            {
                "entry_id": entry.entry_id,
                "title": entry.title,
                "keyholders": [
                    {
                        **_keyholder(runtime, holder, now),
                        "access": access_shown(runtime, holder.id),
                    }
                    for holder in describe_keyholders(runtime, now)
                ],
                "groups": groups_shown(runtime),
                "locks": [_lock(lock) for lock in describe_locks(runtime)],
            }
        )
    return {"sites": sites}


@require_admin
@websocket_command({vol.Required("type"): "keyholder/site"})
@callback
def ws_site(
    hass: HomeAssistant, connection: ActiveConnection, msg: dict[str, Any]
) -> None:
    """Answer with every site's keyholders, keys and locks."""
    connection.send_result(msg["id"], describe_sites(hass))


@require_admin
@websocket_command({vol.Required("type"): "keyholder/subscribe"})
@callback
def ws_subscribe(
    hass: HomeAssistant, connection: ActiveConnection, msg: dict[str, Any]
) -> None:
    """Send the sites now and again whenever a status or sync state changes."""
    msg_id = msg["id"]
    runtime_unsubs: dict[str, Callable[[], None]] = {}
    pending: list[bool] = []

    @callback
    def _send() -> None:
        pending.clear()
        if msg_id not in connection.subscriptions:
            return  # unsubscribed meanwhile
        connection.send_message(event_message(msg_id, describe_sites(hass)))

    @callback
    def _changed() -> None:
        # Many changes in one pass make one message.
        if not pending:
            pending.append(True)
            hass.loop.call_soon(_send)

    @callback
    def _entry_changed(_change: ConfigEntryChange, entry: ConfigEntry) -> None:
        if entry.domain == DOMAIN:
            _follow_entries()

    @callback
    def _follow_entries() -> None:
        loaded = {
            e.entry_id: e for e in hass.config_entries.async_loaded_entries(DOMAIN)
        }
        for entry_id in list(runtime_unsubs):
            if entry_id not in loaded:
                runtime_unsubs.pop(entry_id)()
        for entry_id, entry in loaded.items():
            if entry_id not in runtime_unsubs:
                runtime_unsubs[entry_id] = entry.runtime_data.listeners.add(_changed)
        _changed()

    # Sites set up, reloaded or unloaded later, keyholders added or removed.
    unsub_entries = async_dispatcher_connect(
        hass, SIGNAL_CONFIG_ENTRY_CHANGED, _entry_changed
    )
    _follow_entries()

    @callback
    def _unsubscribe() -> None:
        unsub_entries()
        for unsub in runtime_unsubs.values():
            unsub()
        runtime_unsubs.clear()

    connection.subscriptions[msg_id] = _unsubscribe
    connection.send_result(msg_id)


# -- changes, through Keyholder's own actions -----------------------------------


async def _call(
    hass: HomeAssistant,
    connection: ActiveConnection,
    msg: dict[str, Any],
    service: str,
) -> Any:
    """
    Run one of Keyholder's actions as the connection's user (off the service bus).

    Returns the action's answer, or None after sending the error (which changed
    nothing: the actions validate before they change anything).
    """
    data = {k: v for k, v in msg.items() if k not in ("id", "type")}
    if ATTR_PASSCODE in data:
        passcode = data[ATTR_PASSCODE]
        if isinstance(passcode, bool) or not isinstance(passcode, (str, int)):
            connection.send_error(
                msg["id"], ERR_INVALID_FORMAT, "Invalid passcode: expected digits"
            )
            return None
        data[ATTR_PASSCODE] = str(passcode)
    try:
        return (
            await async_run_action(hass, service, data, connection.context(msg)) or {}
        )
    except (vol.Invalid, HomeAssistantError) as err:
        send_failure(connection, msg["id"], err)
    return None


_KEY: dict[Any, Any] = {**_SITE, vol.Required(ATTR_KEY_ID): str}
_HOLDER: dict[Any, Any] = {**_SITE, vol.Required(ATTR_KEYHOLDER): str}
_ACTION_COMMANDS: tuple[tuple[str, str, dict[Any, Any], bool], ...] = (
    # (command, action it runs, its fields, whether it answers with the result)
    (
        "keyholder/add_keyholder",  # a keyholder subentry of the site
        "add_keyholder",
        {
            **_SITE,
            vol.Required("given_name"): str,
            vol.Optional("family_name"): str,
            vol.Optional("email"): str,
            vol.Optional("role"): str,
            vol.Optional("active_from"): str,
            vol.Optional("expires_on"): str,
        },
        True,
    ),
    (
        "keyholder/issue_key",  # a passcode key; the answer carries it, this once
        "issue_key",
        {
            **_HOLDER,
            vol.Required(ATTR_LOCKS): [str],
            vol.Optional(ATTR_WEEKDAYS): [str],
            vol.Optional(ATTR_START_TIME): str,
            vol.Optional(ATTR_END_TIME): str,
            vol.Optional(ATTR_VALID_FROM): str,
            vol.Optional(ATTR_VALID_UNTIL): str,
            vol.Optional(ATTR_USES): int,
            vol.Optional(ATTR_NAME): str,
            vol.Optional(ATTR_PASSCODE): _ANY_PASSCODE,
        },
        True,
    ),
    ("keyholder/cancel_key", "cancel_key", _KEY, False),  # on every lock
    ("keyholder/remove_keyholder", "remove_keyholder", _HOLDER, False),  # codes go
    ("keyholder/block", "block_user", _HOLDER, False),  # no key works until unblocked
    ("keyholder/unblock", "unblock_user", _HOLDER, False),
    (
        "keyholder/generate_passcode",  # the answer carries it, this once
        "generate_passcode",
        {**_KEY, vol.Optional(ATTR_PASSCODE): _ANY_PASSCODE},
        True,
    ),
)
"""The commands that change things, each running one of Keyholder's actions."""


def _action_command(
    command: str, action: str, fields: dict[Any, Any], answers: bool
) -> WebSocketCommandHandler:
    """Return the admin-only command ``command``, running the action ``action``."""

    async def handle(
        hass: HomeAssistant, connection: ActiveConnection, msg: dict[str, Any]
    ) -> None:
        result = await _call(hass, connection, msg, action)
        if result is not None:
            connection.send_result(msg["id"], result if answers else None)

    schema = {vol.Required("type"): command, **fields}
    return require_admin(websocket_command(schema)(async_response(handle)))
