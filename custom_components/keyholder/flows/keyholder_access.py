"""
The keyholder flow's access and key steps: their forms and what they mean.

Access: the groups someone is a member of and their personal doors with a
schedule (the personal access the flow edits, ``personal_grant_id``). Key: a
passcode made up or typed in, or none yet.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers.selector import (
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)
import probatio as vol

from ..access.grants import personal_grant_id
from ..model.site import Site
from ..model.values import ALWAYS, Schedule
from .groups import locks_selector
from .schedule_form import schedule_defaults, schedule_from_form, schedule_schema

CONF_GROUPS = "groups"
CONF_DOORS = "doors"
CONF_KEY = "key"
CONF_PASSCODE = "passcode"

KEY_GENERATE = "generate"
KEY_OWN = "own"
KEY_NONE = "none"
KEY_CHOICES = [KEY_GENERATE, KEY_OWN, KEY_NONE]

KEY_ERRORS = frozenset(
    {
        "passcode_not_digits",
        "passcode_too_short",
        "passcode_too_long",
        "passcode_one_digit",
        "passcode_sequence",
        "passcode_too_few_digits",
        "passcode_in_use",
        "passcode_on_lock",
        "kind_not_supported",
        "access_code_taken",
    }
)
"""Refusals of the commands the flow shows as themselves (others: generic)."""


@dataclass(frozen=True, slots=True)
class AccessChoice:
    """What the access step chose: groups, and personal doors with a schedule."""

    groups: tuple[str, ...]
    personal: tuple[frozenset[str], Schedule] | None

    def memberships(self, site: Site, keyholder_id: str) -> dict[str, Schedule]:
        """Return group -> membership schedule (a member's own one stays)."""
        kept = {
            m.group_id: m.schedule for m in site.access.memberships_of(keyholder_id)
        }
        return {group: kept.get(group, ALWAYS) for group in self.groups}

    def lock_ids(self, site: Site) -> frozenset[str]:
        """Return the locks the choice names (at any time)."""
        locks = set(self.personal[0]) if self.personal else set()
        for group in self.groups:
            if group in site.groups:
                locks |= site.groups[group].lock_ids
        return frozenset(locks)


def _multi(options: Mapping[str, str]) -> SelectSelector:
    return SelectSelector(
        SelectSelectorConfig(
            options=[
                SelectOptionDict(value=value, label=label)
                for value, label in options.items()
            ],
            multiple=True,
            mode=SelectSelectorMode.LIST,
        )
    )


def access_schema(groups: Mapping[str, str], locks: Mapping[str, str]) -> vol.Schema:
    """Return the access form: groups, personal doors and their schedule."""
    fields: dict[Any, Any] = {}
    if groups:
        fields[vol.Optional(CONF_GROUPS, default=[])] = _multi(groups)
    fields[vol.Optional(CONF_DOORS, default=[])] = locks_selector(dict(locks))
    return vol.Schema({**fields, **schedule_schema()})


def access_from_form(
    user_input: dict[str, Any], groups: Mapping[str, str], locks: Mapping[str, str]
) -> tuple[AccessChoice, dict[str, str]]:
    """Return the access a form chose and field -> error key (of the schedule)."""
    chosen = tuple(sorted(g for g in user_input.get(CONF_GROUPS) or () if g in groups))
    doors = frozenset(d for d in user_input.get(CONF_DOORS) or () if d in locks)
    if not doors:
        return AccessChoice(chosen, None), {}
    schedule, errors = schedule_from_form(user_input)
    return AccessChoice(chosen, (doors, schedule)), errors


def access_defaults(site: Site, keyholder_id: str) -> dict[str, Any]:
    """Return the access form filled in from a keyholder's access."""
    values: dict[str, Any] = {
        CONF_GROUPS: sorted(
            m.group_id for m in site.access.memberships_of(keyholder_id)
        ),
    }
    grant = site.grants.get(personal_grant_id(keyholder_id))
    if grant is None:
        return {**values, **schedule_defaults(ALWAYS)}
    return {
        **values,
        CONF_DOORS: sorted(grant.lock_ids),
        **schedule_defaults(grant.schedule),
    }


KEY_SCHEMA = vol.Schema(
    {
        vol.Required(CONF_KEY, default=KEY_GENERATE): SelectSelector(
            SelectSelectorConfig(
                options=KEY_CHOICES,
                translation_key=CONF_KEY,
                mode=SelectSelectorMode.LIST,
            )
        ),
        vol.Optional(CONF_PASSCODE): TextSelector(
            TextSelectorConfig(type=TextSelectorType.PASSWORD)
        ),
    }
)
"""The key form: make up a passcode, type one in, or no key yet."""


def refusal(
    err: ServiceValidationError, field: str
) -> tuple[dict[str, str], dict[str, str]]:
    """Return the form's errors and placeholders for a command's refusal."""
    key = err.translation_key if err.translation_key in KEY_ERRORS else "key_refused"
    placeholders = {
        name: str(value)
        for name, value in (err.translation_placeholders or {}).items()
        if name in {"pin_min", "pin_max", "lock", "keyholder", "kind"}
    }
    return {field: key}, placeholders
