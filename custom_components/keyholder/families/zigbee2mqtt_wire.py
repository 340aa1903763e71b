"""
What Zigbee2MQTT's messages about a lock say, and the commands it takes.

Pure helpers of the Zigbee2MQTT provider (:mod:`.zigbee2mqtt`). Zigbee2MQTT
publishes a lock's state on ``<base>/<device>`` and takes commands on
``<base>/<device>/set`` and ``<base>/<device>/get``:

* a code is written with ``{"pin_code": {"user": N, "user_type": "unrestricted",
  "user_enabled": true, "pin_code": "1234"}}`` and cleared with
  ``{"pin_code": {"user": N, "pin_code": null}}``;
* ``{"pin_code": {"user": N}}`` on ``/get`` makes the lock report user N, which
  arrives in the state's ``users`` map as ``{"N": {"status": "enabled",
  "pin_code": "1234"}}`` (the code only with the device option ``expose_pin``);
* keypad use arrives as ``action`` (``unlock`` with ``action_source_name``
  ``keypad``, or ``keypad_unlock``) with ``action_user``;
* ``<base>/<device>/availability`` and ``<base>/bridge/state`` say whether the
  lock and Zigbee2MQTT are online (``{"state": "online"}``).

Users are numbered from 0; nothing here logs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from homeassistant.util.json import json_loads

OCCUPIED = frozenset({"enabled", "disabled"})
PROGRAMMING_ACTIONS = frozenset(
    {"pin_code_added", "pin_code_deleted", "pin_code_changed"}
)

type UserReport = tuple[bool, str | None]
"""Whether a user slot holds a code, and the code (None when hidden)."""


def valid_topic_part(value: str) -> bool:
    """Return True when ``value`` can be part of an MQTT topic Zigbee2MQTT uses."""
    return (
        bool(value)
        and not value.startswith("/")
        and not value.endswith("/")
        and not any(char in value for char in "+#\0")
        and len(value.encode()) < 65000
    )


def online(payload: object) -> bool | None:
    """Read ``{"state": "online"}`` (or the legacy bare ``online``); None if unclear."""
    text = payload.decode() if isinstance(payload, bytes | bytearray) else str(payload)
    state: object
    try:
        state = json_loads(text)
    except ValueError:
        state = text.strip()
    if isinstance(state, dict):
        state = state.get("state")
    return (
        {"online": True, "offline": False}.get(state)
        if isinstance(state, str)
        else None
    )


def state_of(payload: Any) -> dict[str, Any] | None:
    """Return a lock's state message as a dict (None when it is not one)."""
    try:
        data = json_loads(payload)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def action_user(data: Mapping[str, Any]) -> int | None:
    """Return the user an action of a state message names (None: none)."""
    user = data.get("action_user")
    return user if isinstance(user, int) and not isinstance(user, bool) else None


def keypad_unlock(data: Mapping[str, Any]) -> bool:
    """Return True when a state message reports an unlock at the keypad."""
    action = data.get("action")
    return action == "keypad_unlock" or (
        action == "unlock" and data.get("action_source_name") == "keypad"
    )


def read_users(
    users: Mapping[Any, Any], slots: range
) -> tuple[dict[int, UserReport], bool]:
    """
    Return slot -> report of the users of ``slots`` a state's ``users`` map lists.

    Also whether an enabled user came without its code (the device option
    ``expose_pin`` is off). A cleared user keeps its old ``pin_code`` in
    Zigbee2MQTT's merged state: only the status tells whether it holds a code.
    """
    reports: dict[int, UserReport] = {}
    hidden = False
    for key, info in users.items():
        if not (isinstance(key, str) and key.isdigit()) or int(key) not in slots:
            continue
        if not isinstance(info, dict):
            continue
        status, pin = info.get("status"), info.get("pin_code")
        occupied = status in OCCUPIED
        code = str(pin) if occupied and pin not in (None, "") else None
        hidden = hidden or (status == "enabled" and code is None)
        reports[int(key)] = (occupied, code)
    return reports, hidden


def set_pin(user: int, code: str) -> dict[str, Any]:
    """Return the ``/set`` payload writing ``code`` for ``user`` (enabled)."""
    return {
        "pin_code": {
            "user": user,
            "user_type": "unrestricted",
            "user_enabled": True,
            "pin_code": code,
        }
    }


def clear_pin(user: int) -> dict[str, Any]:
    """Return the ``/set`` payload emptying ``user``."""
    return {"pin_code": {"user": user, "pin_code": None}}


def ask_pin(user: int) -> dict[str, Any]:
    """Return the ``/get`` payload making the lock report ``user``."""
    return {"pin_code": {"user": user}}
