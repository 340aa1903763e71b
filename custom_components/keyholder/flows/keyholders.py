"""The keyholder flow: add or change a person of the site."""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import SubentryFlowResult
from homeassistant.helpers.selector import (
    DateSelector,
    DateTimeSelector,
    SelectSelector,
    SelectSelectorConfig,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)
import probatio as vol

from ..access.keyholder_details import (
    clean_keyholder,
    keyholder_problems,
    keyholder_title,
)
from ..const import (
    CONF_ACTIVE_FROM,
    CONF_EMAIL,
    CONF_EXPIRES_ON,
    CONF_FAMILY_NAME,
    CONF_GIVEN_NAME,
    CONF_ROLE,
    SUBENTRY_BOOKING,
    SUBENTRY_KEYHOLDER,
)
from ..model.values import Role
from .base import SiteSubentryFlow


def booking_names(bookings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return booking calendars as the keyholders they are (named after them)."""
    return [{CONF_GIVEN_NAME: o["_title"]} for o in bookings]


KEYHOLDER_SCHEMA = vol.Schema(
    {
        vol.Required(CONF_GIVEN_NAME): TextSelector(),
        vol.Optional(CONF_FAMILY_NAME): TextSelector(),
        vol.Optional(CONF_EMAIL): TextSelector(
            TextSelectorConfig(type=TextSelectorType.EMAIL)
        ),
        vol.Required(CONF_ROLE, default=Role.KEYHOLDER): SelectSelector(
            SelectSelectorConfig(
                options=[role.value for role in Role],
                translation_key=CONF_ROLE,
            )
        ),
        vol.Optional(CONF_ACTIVE_FROM): DateTimeSelector(),
        vol.Optional(CONF_EXPIRES_ON): DateSelector(),
    }
)
"""The form of a keyholder's details (filled in with their current ones)."""


class KeyholderSubentryFlow(SiteSubentryFlow):
    """Add or change a keyholder (a person) of the site."""

    async def async_step_user(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Enter a keyholder's details."""
        errors: dict[str, str] = {}
        if user_input is not None:
            errors = keyholder_problems(
                user_input,
                self._others(SUBENTRY_KEYHOLDER)
                + booking_names(self._others(SUBENTRY_BOOKING)),
            )
            if not errors:
                data = clean_keyholder(user_input)
                return self._finish(keyholder_title(data), data)
        defaults = user_input or self._defaults()
        return self.async_show_form(
            step_id="user",
            data_schema=self.add_suggested_values_to_schema(KEYHOLDER_SCHEMA, defaults),
            errors=errors,
        )

    async_step_reconfigure = async_step_user
