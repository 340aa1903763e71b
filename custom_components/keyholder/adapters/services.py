"""
Keyholder's actions: admin-only, validated, answering with what callers need.

This module holds each action's schema and the table registering it; what an
action does is in ``action_handlers``.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
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
from . import action_handlers as handle
from .action_fields import (
    ATTR_END_TIME,
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

_SITE: dict[Any, Any] = {vol.Optional(ATTR_SITE): cv.string}
_KEYHOLDER = {**_SITE, vol.Required(ATTR_KEYHOLDER): cv.string}

ISSUE_KEY_SCHEMA = vol.Schema(
    {
        **_KEYHOLDER,
        vol.Required(ATTR_LOCKS): vol.All(
            cv.ensure_list, [cv.string], vol.Length(min=1)
        ),
        vol.Optional(ATTR_KIND, default=KeyKind.PASSCODE.value): vol.In(
            [kind.value for kind, spec in CREDENTIAL_KINDS.items() if spec.issuable]
        ),
        vol.Optional(ATTR_WEEKDAYS): vol.All(cv.ensure_list, [vol.In(WEEKDAYS)]),
        vol.Optional(ATTR_START_TIME): cv.time,
        vol.Optional(ATTR_END_TIME): cv.time,
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
)
"""Each action: its name, handler, schema and whether it answers."""


def async_setup_services(hass: HomeAssistant) -> None:
    """Register Keyholder's actions (admin only)."""
    for name, func, schema, supports in ACTIONS:
        async_register_admin_service(
            hass, DOMAIN, name, func, schema=schema, supports_response=supports
        )
