"""Config flow for Keyholder: a site is one config entry."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from homeassistant.config_entries import (
    ConfigEntry,
    ConfigFlow,
    ConfigFlowResult,
    ConfigSubentryFlow,
    OptionsFlow,
)
from homeassistant.const import CONF_NAME
from homeassistant.core import callback
from homeassistant.helpers.selector import (
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    TextSelector,
)
import probatio as vol

from .const import (
    CONF_GRACE_MINUTES,
    CONF_PASSCODE_LENGTH,
    DEFAULT_GRACE_MINUTES,
    DEFAULT_PASSCODE_LENGTH,
    DOMAIN,
    MAX_PASSCODE_LENGTH,
    MIN_PASSCODE_LENGTH,
    SUBENTRY_KEYHOLDER,
    SUBENTRY_LOCK,
)
from .subentry_flows import KeyholderSubentryFlow, LockSubentryFlow


def _defaults_schema(defaults: Mapping[str, Any]) -> dict[Any, Any]:
    """Return the fields of the site's defaults (passcode length, grace time)."""
    return {
        vol.Required(
            CONF_PASSCODE_LENGTH,
            default=defaults.get(CONF_PASSCODE_LENGTH, DEFAULT_PASSCODE_LENGTH),
        ): vol.All(
            NumberSelector(
                NumberSelectorConfig(
                    min=MIN_PASSCODE_LENGTH,
                    max=MAX_PASSCODE_LENGTH,
                    mode=NumberSelectorMode.BOX,
                )
            ),
            vol.Coerce(int),
        ),
        vol.Required(
            CONF_GRACE_MINUTES,
            default=defaults.get(CONF_GRACE_MINUTES, DEFAULT_GRACE_MINUTES),
        ): vol.All(
            NumberSelector(
                NumberSelectorConfig(
                    min=0,
                    max=720,
                    unit_of_measurement="min",
                    mode=NumberSelectorMode.BOX,
                )
            ),
            vol.Coerce(int),
        ),
    }


def _name_schema(name: str) -> dict[Any, Any]:
    return {vol.Required(CONF_NAME, default=name): TextSelector()}


class KeyholderConfigFlow(ConfigFlow, domain=DOMAIN):
    """Create or reconfigure a Keyholder site."""

    VERSION = 1

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: ConfigEntry) -> SiteOptionsFlow:
        """Return the flow that changes the site's defaults."""
        return SiteOptionsFlow()

    @classmethod
    @callback
    def async_get_supported_subentry_types(
        cls, config_entry: ConfigEntry
    ) -> dict[str, type[ConfigSubentryFlow]]:
        """Return the subentries a site has: its locks and its keyholders."""
        return {
            SUBENTRY_LOCK: LockSubentryFlow,
            SUBENTRY_KEYHOLDER: KeyholderSubentryFlow,
        }

    def _name_taken(self, name: str, exclude_entry_id: str | None = None) -> bool:
        """Return True when another site already uses this name."""
        wanted = name.casefold()
        return any(
            entry.title.casefold() == wanted
            for entry in self._async_current_entries(include_ignore=False)
            if entry.entry_id != exclude_entry_id
        )

    async def async_step_user(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Name the site."""
        errors: dict[str, str] = {}
        if user_input is not None:
            name = user_input[CONF_NAME].strip()
            if not name:
                errors[CONF_NAME] = "name_required"
            elif self._name_taken(name):
                errors[CONF_NAME] = "name_exists"
            else:
                return self.async_create_entry(
                    title=name, data={**user_input, CONF_NAME: name}
                )
        return self.async_show_form(
            step_id="user",
            data_schema=vol.Schema(
                {
                    **_name_schema((user_input or {}).get(CONF_NAME, "")),
                    **_defaults_schema(user_input or {}),
                }
            ),
            errors=errors,
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Rename the site (its defaults are options)."""
        entry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            name = user_input[CONF_NAME].strip()
            if not name:
                errors[CONF_NAME] = "name_required"
            elif self._name_taken(name, exclude_entry_id=entry.entry_id):
                errors[CONF_NAME] = "name_exists"
            else:
                return self.async_update_reload_and_abort(
                    entry, title=name, data_updates={CONF_NAME: name}
                )
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=vol.Schema(
                _name_schema((user_input or {}).get(CONF_NAME, entry.title))
            ),
            errors=errors,
        )


class SiteOptionsFlow(OptionsFlow):
    """Change the site's defaults: passcode length and booking grace time."""

    async def async_step_init(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Show and save the defaults."""
        if user_input is not None:
            return self.async_create_entry(data=user_input)
        current = {**self.config_entry.data, **self.config_entry.options}
        return self.async_show_form(
            step_id="init", data_schema=vol.Schema(_defaults_schema(current))
        )
