"""
Keyholder's actions: admin-only, validated, answering with what callers need.

This module holds each action's schema and the table registering it; what an
action does is in ``action_handlers``.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from datetime import date, datetime, time
from typing import Any

from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
)
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.service import async_register_admin_service
import probatio as vol

from ..access.inputs import name_text, whole_number
from ..const import (
    CONF_ACTIVE_FROM,
    CONF_EMAIL,
    CONF_EXPIRES_ON,
    CONF_FAMILY_NAME,
    CONF_GIVEN_NAME,
    CONF_ROLE,
    DOMAIN,
    MAX_TAG_LENGTH,
    MAX_USES,
)
from ..model.credentials import CREDENTIAL_KINDS
from ..model.names import MAX_EMAIL_LENGTH
from ..model.values import KeyKind, Role
from . import access_handlers as access, action_handlers as handle
from .action_fields import (
    ATTR_END_TIME,
    ATTR_GROUP,
    ATTR_KEY_ID,
    ATTR_KEYHOLDER,
    ATTR_KIND,
    ATTR_LOCK,
    ATTR_LOCKS,
    ATTR_NAME,
    ATTR_ONLINE,
    ATTR_PASSCODE,
    ATTR_SITE,
    ATTR_SLOT,
    ATTR_START_TIME,
    ATTR_TAG,
    ATTR_USES,
    ATTR_VALID_FROM,
    ATTR_VALID_UNTIL,
    ATTR_WEEKDAYS,
    WEEKDAYS,
)


def wall_time(value: Any) -> time:
    """Validate a time of day on the site's clock (one with a time zone is not)."""
    checked: time = cv.time(value)
    if checked.tzinfo is not None:
        raise vol.Invalid("a time of day without a time zone")
    return checked


_SITE: dict[Any, Any] = {vol.Optional(ATTR_SITE): cv.string}
_KEYHOLDER = {**_SITE, vol.Required(ATTR_KEYHOLDER): cv.string}

MAX_LOCKS_NAMED = 100
"""Most locks one action may name."""
_LOCKS = vol.All(cv.ensure_list, [cv.string], vol.Length(min=1, max=MAX_LOCKS_NAMED))
ISSUE_KEY_SCHEMA = vol.Schema(
    {
        **_KEYHOLDER,
        vol.Optional(ATTR_LOCKS): _LOCKS,
        vol.Optional(ATTR_KIND, default=KeyKind.PASSCODE.value): vol.In(
            [kind.value for kind, spec in CREDENTIAL_KINDS.items() if spec.issuable]
        ),
        vol.Optional(ATTR_WEEKDAYS): vol.All(cv.ensure_list, [vol.In(WEEKDAYS)]),
        vol.Optional(ATTR_START_TIME): wall_time,
        vol.Optional(ATTR_END_TIME): wall_time,
        vol.Optional(ATTR_VALID_FROM): cv.datetime,
        vol.Optional(ATTR_VALID_UNTIL): cv.datetime,
        vol.Optional(ATTR_USES): whole_number(ATTR_USES, 1, MAX_USES),
        vol.Optional(ATTR_PASSCODE): cv.string,
        vol.Optional(ATTR_TAG): vol.All(cv.string, vol.Length(max=MAX_TAG_LENGTH)),
        vol.Optional(ATTR_NAME, default=""): name_text(ATTR_NAME),
    }
)
KEY_SCHEMA = vol.Schema({**_SITE, vol.Required(ATTR_KEY_ID): cv.string})
GENERATE_SCHEMA = KEY_SCHEMA.extend({vol.Optional(ATTR_PASSCODE): cv.string})
KEYHOLDER_SCHEMA = vol.Schema(_KEYHOLDER)
LIST_SCHEMA = vol.Schema({**_SITE, vol.Optional(ATTR_KEYHOLDER): cv.string})
ADD_KEYHOLDER_SCHEMA = vol.Schema(
    {
        **_SITE,
        vol.Required(CONF_GIVEN_NAME): name_text(CONF_GIVEN_NAME),
        vol.Optional(CONF_FAMILY_NAME, default=""): name_text(CONF_FAMILY_NAME),
        vol.Optional(CONF_EMAIL): name_text(CONF_EMAIL, MAX_EMAIL_LENGTH),
        vol.Optional(CONF_ROLE, default=Role.KEYHOLDER.value): vol.In(
            [role.value for role in Role]
        ),
        vol.Optional(CONF_ACTIVE_FROM): cv.datetime,
        vol.Optional(CONF_EXPIRES_ON): cv.date,
    }
)
ADOPT_SCHEMA = vol.Schema(
    {
        **_KEYHOLDER,
        vol.Required(ATTR_LOCK): cv.string,
        # Bounded by the lock's own slots (async_adopt_code).
        vol.Required(ATTR_SLOT): whole_number(ATTR_SLOT, 1, None),
        vol.Optional(ATTR_NAME, default=""): name_text(ATTR_NAME),
    }
)
_WINDOW: dict[Any, Any] = {
    vol.Optional(ATTR_WEEKDAYS): vol.All(
        cv.ensure_list, [vol.In(WEEKDAYS)], vol.Length(max=len(WEEKDAYS))
    ),
    vol.Optional(ATTR_START_TIME): wall_time,
    vol.Optional(ATTR_END_TIME): wall_time,
}
_SCHEDULE: dict[Any, Any] = {
    **_WINDOW,
    vol.Optional(ATTR_VALID_FROM): cv.datetime,
    vol.Optional(ATTR_VALID_UNTIL): cv.datetime,
}
_GROUP: dict[Any, Any] = {**_SITE, vol.Required(ATTR_GROUP): name_text(ATTR_GROUP)}


def date_or_datetime(value: Any) -> date | datetime:
    """Validate a moment: a date and time, or a date alone (``2026-12-31``)."""
    if isinstance(value, date):
        return value
    text = cv.string(value).strip()
    if len(text) == len("2026-12-31"):
        return cv.date(text)
    return cv.datetime(text)


CREATE_GROUP_SCHEMA = vol.Schema(
    {
        **_SITE,
        vol.Required(ATTR_NAME): name_text(ATTR_NAME),
        vol.Required(ATTR_LOCKS): _LOCKS,
        **_SCHEDULE,
    }
)
UPDATE_GROUP_SCHEMA = vol.Schema(
    {
        **_GROUP,
        vol.Optional(ATTR_NAME): name_text(ATTR_NAME),
        vol.Optional(ATTR_LOCKS): _LOCKS,
        **_SCHEDULE,
    }
)
GROUP_SCHEMA = vol.Schema(_GROUP)
ADD_TO_GROUP_SCHEMA = vol.Schema(
    {
        **_GROUP,
        vol.Required(ATTR_KEYHOLDER): cv.string,
        **_WINDOW,
        vol.Optional(ATTR_VALID_FROM): date_or_datetime,
        vol.Optional(ATTR_VALID_UNTIL): date_or_datetime,
    }
)
MEMBER_SCHEMA = vol.Schema({**_GROUP, vol.Required(ATTR_KEYHOLDER): cv.string})
GRANT_SCHEMA = vol.Schema({**_KEYHOLDER, vol.Required(ATTR_LOCKS): _LOCKS, **_SCHEDULE})
REVOKE_SCHEMA = vol.Schema({**_KEYHOLDER, vol.Optional(ATTR_LOCKS): _LOCKS})
ONLINE_SCHEMA = vol.Schema(
    {vol.Required(ATTR_ENTITY_ID): cv.entity_id, vol.Required(ATTR_ONLINE): cv.boolean}
)


type _Handler = Callable[[ServiceCall], Coroutine[Any, Any, ServiceResponse]]

ACTIONS: tuple[tuple[str, _Handler, vol.Schema, SupportsResponse], ...] = (
    ("issue_key", handle.issue_key, ISSUE_KEY_SCHEMA, SupportsResponse.OPTIONAL),
    ("cancel_key", handle.cancel_key, KEY_SCHEMA, SupportsResponse.NONE),
    (
        "generate_passcode",
        handle.generate_passcode,
        GENERATE_SCHEMA,
        SupportsResponse.OPTIONAL,
    ),
    ("block_user", handle.block_user, KEYHOLDER_SCHEMA, SupportsResponse.NONE),
    ("unblock_user", handle.unblock_user, KEYHOLDER_SCHEMA, SupportsResponse.NONE),
    ("list_keys", handle.list_keys, LIST_SCHEMA, SupportsResponse.ONLY),
    (
        "add_keyholder",
        handle.add_keyholder,
        ADD_KEYHOLDER_SCHEMA,
        SupportsResponse.OPTIONAL,
    ),
    (
        "remove_keyholder",
        handle.remove_keyholder,
        KEYHOLDER_SCHEMA,
        SupportsResponse.NONE,
    ),
    ("adopt_code", handle.adopt_code, ADOPT_SCHEMA, SupportsResponse.OPTIONAL),
    ("set_lock_online", handle.set_lock_online, ONLINE_SCHEMA, SupportsResponse.NONE),
    (
        "create_group",
        access.create_group,
        CREATE_GROUP_SCHEMA,
        SupportsResponse.OPTIONAL,
    ),
    ("update_group", access.update_group, UPDATE_GROUP_SCHEMA, SupportsResponse.NONE),
    ("delete_group", access.delete_group, GROUP_SCHEMA, SupportsResponse.NONE),
    ("add_to_group", access.add_to_group, ADD_TO_GROUP_SCHEMA, SupportsResponse.NONE),
    (
        "remove_from_group",
        access.remove_from_group,
        MEMBER_SCHEMA,
        SupportsResponse.NONE,
    ),
    ("grant_access", access.grant_access, GRANT_SCHEMA, SupportsResponse.NONE),
    ("revoke_access", access.revoke_access, REVOKE_SCHEMA, SupportsResponse.NONE),
)
"""Each action: its name, handler, schema and whether it answers."""


def async_setup_services(hass: HomeAssistant) -> None:
    """Register Keyholder's actions (admin only)."""
    for name, func, schema, supports in ACTIONS:
        async_register_admin_service(
            hass, DOMAIN, name, func, schema=schema, supports_response=supports
        )
