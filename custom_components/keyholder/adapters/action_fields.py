"""
Field names of Keyholder's actions and their answers.

The panel's websocket commands take the same fields; intents name the days of
the week as the actions do.
"""

from __future__ import annotations

ATTR_SITE = "config_entry_id"
ATTR_KEYHOLDER = "keyholder"
ATTR_LOCKS = "locks"
ATTR_KIND = "kind"
ATTR_WEEKDAYS = "weekdays"
ATTR_START_TIME = "start_time"
ATTR_END_TIME = "end_time"
ATTR_VALID_FROM = "valid_from"
ATTR_VALID_UNTIL = "valid_until"
ATTR_USES = "uses"
ATTR_PASSCODE = "passcode"
ATTR_TAG = "tag"
ATTR_NAME = "name"
ATTR_KEY_ID = "key_id"
ATTR_ONLINE = "online"
ATTR_LOCK = "lock"
ATTR_SLOT = "slot"
ATTR_NOT_ON_LOCKS = "not_on_locks"
ATTR_GROUP = "group"
ATTR_GROUP_ID = "group_id"

WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
