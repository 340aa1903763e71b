"""
A keyholder's details as entered: checked, cleaned and titled.

Shared by the keyholder subentry flow and the ``add_keyholder`` action.
"""

from __future__ import annotations

from datetime import date
import re
from typing import Any

from homeassistant.util import dt as dt_util

from ..const import (
    CONF_ACTIVE_FROM,
    CONF_EMAIL,
    CONF_EXPIRES_ON,
    CONF_FAMILY_NAME,
    CONF_GIVEN_NAME,
    CONF_ROLE,
)
from ..model.names import MAX_EMAIL_LENGTH
from ..model.values import Role
from .inputs import name_error

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def keyholder_problems(
    user_input: dict[str, Any], others: list[dict[str, Any]]
) -> dict[str, str]:
    """Return field -> error key for keyholder details (empty when valid)."""
    errors: dict[str, str] = {}
    given = user_input[CONF_GIVEN_NAME].strip()
    family = user_input.get(CONF_FAMILY_NAME, "").strip()
    email = (user_input.get(CONF_EMAIL) or "").strip()
    full = f"{given} {family}".strip().casefold()
    if not given:
        errors[CONF_GIVEN_NAME] = "name_required"
    elif error := name_error(given):
        errors[CONF_GIVEN_NAME] = error
    elif any(
        f"{o[CONF_GIVEN_NAME]} {o.get(CONF_FAMILY_NAME, '')}".strip().casefold() == full
        for o in others
    ):
        errors[CONF_GIVEN_NAME] = "keyholder_exists"
    if error := name_error(family):
        errors[CONF_FAMILY_NAME] = error
    if email and (not EMAIL_RE.match(email) or name_error(email, MAX_EMAIL_LENGTH)):
        errors[CONF_EMAIL] = "invalid_email"
    elif email and any(
        (o.get(CONF_EMAIL) or "").casefold() == email.casefold() for o in others
    ):
        errors[CONF_EMAIL] = "email_exists"
    active_from = user_input.get(CONF_ACTIVE_FROM)
    expires_on = user_input.get(CONF_EXPIRES_ON)
    if active_from and expires_on:
        # Both were validated by their selectors (or the action's schema).
        start = dt_util.parse_datetime(active_from, raise_on_error=True)
        if date.fromisoformat(expires_on) < dt_util.as_local(start).date():
            errors[CONF_EXPIRES_ON] = "expires_before_active"
    return errors


def clean_keyholder(user_input: dict[str, Any]) -> dict[str, Any]:
    """Return keyholder details as stored in a subentry."""
    data: dict[str, Any] = {
        CONF_GIVEN_NAME: user_input[CONF_GIVEN_NAME].strip(),
        CONF_FAMILY_NAME: user_input.get(CONF_FAMILY_NAME, "").strip(),
        CONF_ROLE: user_input.get(CONF_ROLE, Role.KEYHOLDER),
    }
    if email := (user_input.get(CONF_EMAIL) or "").strip():
        data[CONF_EMAIL] = email
    if active_from := user_input.get(CONF_ACTIVE_FROM):
        data[CONF_ACTIVE_FROM] = active_from
    if expires_on := user_input.get(CONF_EXPIRES_ON):
        data[CONF_EXPIRES_ON] = expires_on
    return data


def keyholder_title(data: dict[str, Any]) -> str:
    """Return a keyholder's full name."""
    return f"{data[CONF_GIVEN_NAME]} {data.get(CONF_FAMILY_NAME, '')}".strip()
