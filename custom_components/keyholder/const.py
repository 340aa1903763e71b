"""Constants for the Keyholder integration."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from homeassistant.config_entries import ConfigEntry

DOMAIN: Final = "keyholder"
LOGGER = logging.getLogger(__package__)

CONF_PASSCODE_LENGTH: Final = "passcode_length"
CONF_GRACE_MINUTES: Final = "booking_grace_minutes"
CONF_WRONG_CODE_LIMIT: Final = "wrong_code_limit"
CONF_WRONG_CODE_MINUTES: Final = "wrong_code_minutes"

DEFAULT_PASSCODE_LENGTH: Final = 6
DEFAULT_GRACE_MINUTES: Final = 30
# Alert after so many refused codes at one lock within so many minutes.
DEFAULT_WRONG_CODE_LIMIT: Final = 5
DEFAULT_WRONG_CODE_MINUTES: Final = 10

# Bounds of every number a user enters (actions, websocket, flows): one place.
# Names are bounded in model/names.py, slot numbers by each lock's own range.
MAX_WRONG_CODE_LIMIT: Final = 100
MAX_WRONG_CODE_MINUTES: Final = 24 * 60
MIN_PASSCODE_LENGTH: Final = 4
MAX_PASSCODE_LENGTH: Final = 10
# Longest simulated radio delay of a virtual lock's write, in seconds.
MAX_WRITE_DELAY: Final = 30
MAX_GRACE_MINUTES: Final = 720
MAX_USES: Final = 10_000
"""Most uses a key may be limited to (more is the same as no limit)."""
MAX_SLOT_COUNT: Final = 250
"""Most code slots (and highest first slot) a keypad lock's form takes."""
MAX_TAG_LENGTH: Final = 64
"""Longest tag UID, in characters."""

# Subentry types and their fields.
SUBENTRY_LOCK: Final = "lock"
SUBENTRY_KEYHOLDER: Final = "keyholder"
SUBENTRY_BOOKING: Final = "booking"
SUBENTRY_GROUP: Final = "access_group"
CONF_SCHEDULE: Final = "schedule"
CONF_PROVIDER: Final = "provider"
CONF_SLOTS: Final = "slots"
CONF_PIN_MIN: Final = "pin_min"
CONF_PIN_MAX: Final = "pin_max"
CONF_LOCK_ENTITY: Final = "lock_entity"
CONF_WRITE_DELAY: Final = "write_delay"
CONF_GIVEN_NAME: Final = "given_name"
CONF_FAMILY_NAME: Final = "family_name"
CONF_EMAIL: Final = "email"
CONF_ROLE: Final = "role"
CONF_ACTIVE_FROM: Final = "active_from"
CONF_EXPIRES_ON: Final = "expires_on"
CONF_CALENDAR: Final = "calendar_entity"
CONF_LOCKS: Final = "locks"
CONF_GRACE: Final = "grace_minutes"
CONF_NOTIFY: Final = "notify_entity"

# Reconciler.
RETRY_FIRST: Final = 30
RETRY_MAX: Final = 30 * 60
REPAIR_AFTER_FAILURES: Final = 3

# The bus event fired for every access attempt, and its fields.
EVENT_ACCESS: Final = "keyholder_access"
ATTR_LOCK: Final = "lock"
ATTR_LOCK_ID: Final = "lock_id"
ATTR_RESULT: Final = "result"
ATTR_METHOD: Final = "method"
ATTR_KEYHOLDER: Final = "keyholder"
ATTR_KEYHOLDER_ID: Final = "keyholder_id"
ATTR_KEY_ID: Final = "key_id"
ATTR_LAST_UNLOCKED: Final = "last_unlocked"
ATTR_LAST_UNLOCKED_BY: Final = "last_unlocked_by"
# The bus event fired when a lock refused too many codes (never with a code).
EVENT_ALERT: Final = "keyholder_alert"


def site_setting(entry: ConfigEntry, key: str, default: int) -> int:
    """Return a site default: its options win over what was set at creation."""
    return int(entry.options.get(key, entry.data.get(key, default)))
