"""Config flow for Keyholder: a site is one config entry."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from homeassistant.config_entries import (
    ConfigEntry,
    ConfigFlow,
    ConfigFlowResult,
    ConfigSubentry,
    ConfigSubentryFlow,
    OptionsFlow,
)
from homeassistant.const import CONF_NAME
from homeassistant.core import callback
from homeassistant.helpers.selector import (
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    TextSelector,
)
import probatio as vol

from .access.inputs import flow_whole_number, name_error
from .const import (
    CONF_GRACE_MINUTES,
    CONF_PASSCODE_LENGTH,
    CONF_WRONG_CODE_LIMIT,
    CONF_WRONG_CODE_MINUTES,
    DEFAULT_GRACE_MINUTES,
    DEFAULT_PASSCODE_LENGTH,
    DEFAULT_WRONG_CODE_LIMIT,
    DEFAULT_WRONG_CODE_MINUTES,
    DOMAIN,
    MAX_GRACE_MINUTES,
    MAX_PASSCODE_LENGTH,
    MAX_WRONG_CODE_LIMIT,
    MAX_WRONG_CODE_MINUTES,
    MIN_PASSCODE_LENGTH,
    SUBENTRY_BOOKING,
    SUBENTRY_GROUP,
    SUBENTRY_KEYHOLDER,
    SUBENTRY_LOCK,
)
from .families.ttlock import CONF_ADDRESS, PROVIDER_TTLOCK, normalize_address
from .flows.bookings import BookingSubentryFlow
from .flows.groups import GroupSubentryFlow
from .flows.keyholders import KeyholderSubentryFlow
from .flows.lock_forms import ttlock_lock_data, ttlock_schema
from .flows.locks import LockSubentryFlow

if TYPE_CHECKING:
    from homeassistant.components.bluetooth import BluetoothServiceInfoBleak

CONF_SITE = "site"


def _lock_name_error(name: str, others: list[dict[str, Any]]) -> dict[str, str]:
    """Return the error of a discovered lock's name among the site's locks."""
    if not name:
        return {CONF_NAME: "lock_name_required"}
    if error := name_error(name):
        return {CONF_NAME: error}
    if name.casefold() in {o["_title"].casefold() for o in others}:
        return {CONF_NAME: "lock_exists"}
    return {}


def _number(
    defaults: Mapping[str, Any],
    key: str,
    default: int,
    low: int,
    high: int,
    *,
    unit: str | None = None,
) -> dict[Any, Any]:
    """Return a whole-number field between ``low`` and ``high``."""
    config = NumberSelectorConfig(min=low, max=high, mode=NumberSelectorMode.BOX)
    if unit is not None:
        config["unit_of_measurement"] = unit
    return {
        vol.Required(key, default=defaults.get(key, default)): vol.All(
            NumberSelector(config), flow_whole_number, vol.Range(min=low, max=high)
        )
    }


def _defaults_schema(defaults: Mapping[str, Any]) -> dict[Any, Any]:
    """Return the fields of the site's defaults (passcode length, grace time)."""
    return {
        **_number(
            defaults,
            CONF_PASSCODE_LENGTH,
            DEFAULT_PASSCODE_LENGTH,
            MIN_PASSCODE_LENGTH,
            MAX_PASSCODE_LENGTH,
        ),
        **_number(
            defaults,
            CONF_GRACE_MINUTES,
            DEFAULT_GRACE_MINUTES,
            0,
            MAX_GRACE_MINUTES,
            unit="min",
        ),
    }


def _alert_schema(defaults: Mapping[str, Any]) -> dict[Any, Any]:
    """Return the fields of the wrong-code alert: so many codes in so many minutes."""
    return {
        **_number(
            defaults,
            CONF_WRONG_CODE_LIMIT,
            DEFAULT_WRONG_CODE_LIMIT,
            2,
            MAX_WRONG_CODE_LIMIT,
        ),
        **_number(
            defaults,
            CONF_WRONG_CODE_MINUTES,
            DEFAULT_WRONG_CODE_MINUTES,
            1,
            MAX_WRONG_CODE_MINUTES,
            unit="min",
        ),
    }


def _name_schema(name: str) -> dict[Any, Any]:
    return {vol.Required(CONF_NAME, default=name): TextSelector()}


class KeyholderConfigFlow(ConfigFlow, domain=DOMAIN):
    """Create or reconfigure a Keyholder site."""

    VERSION = 1

    _address: str = ""
    _lock_name: str = ""

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
        """Return the subentries a site has: locks, keyholders, bookings, groups."""
        return {
            SUBENTRY_LOCK: LockSubentryFlow,
            SUBENTRY_KEYHOLDER: KeyholderSubentryFlow,
            SUBENTRY_BOOKING: BookingSubentryFlow,
            SUBENTRY_GROUP: GroupSubentryFlow,
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
            elif error := name_error(name):
                errors[CONF_NAME] = error
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

    def _sites(self) -> list[ConfigEntry]:
        return self._async_current_entries(include_ignore=False)

    async def async_step_bluetooth(
        self, discovery_info: BluetoothServiceInfoBleak
    ) -> ConfigFlowResult:
        """Offer a TTLock Home Assistant hears to a site."""
        address = normalize_address(discovery_info.address)
        if address is None:
            return self.async_abort(reason="not_supported")
        # One flow per lock; ignoring it hides the lock for good.
        await self.async_set_unique_id(f"{PROVIDER_TTLOCK}_{address}")
        self._abort_if_unique_id_configured()
        for entry in self._sites():
            for sub in entry.subentries.values():
                if (
                    sub.subentry_type == SUBENTRY_LOCK
                    and sub.data.get(CONF_ADDRESS) == address
                ):
                    return self.async_abort(reason="already_configured")
        if not self._sites():
            return self.async_abort(reason="no_site")
        self._address = address
        self._lock_name = discovery_info.name or address
        self.context["title_placeholders"] = {"name": self._lock_name}
        return await self.async_step_bluetooth_confirm()

    async def async_step_bluetooth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Pick the site and give the lock's eKey; the lock joins the site."""
        sites = {entry.entry_id: entry for entry in self._sites()}
        errors: dict[str, str] = {}
        if user_input is not None:
            site = sites.get(user_input.get(CONF_SITE, ""))
            if site is None:
                return self.async_abort(reason="no_site")
            others = [
                {**sub.data, "_title": sub.title}
                for sub in site.subentries.values()
                if sub.subentry_type == SUBENTRY_LOCK
            ]
            data, errors = ttlock_lock_data(
                {**user_input, CONF_ADDRESS: self._address}, others
            )
            name = data[CONF_NAME]
            errors = _lock_name_error(name, others) or errors
            if not errors:
                self.hass.config_entries.async_add_subentry(
                    site,
                    ConfigSubentry(
                        data=MappingProxyType(data),
                        subentry_type=SUBENTRY_LOCK,
                        title=name,
                        unique_id=None,
                    ),
                )
                return self.async_abort(
                    reason="lock_added", description_placeholders={"site": site.title}
                )
        defaults = user_input or {CONF_NAME: self._lock_name}
        fields = ttlock_schema(defaults, with_address=False)
        return self.async_show_form(
            step_id="bluetooth_confirm",
            data_schema=vol.Schema(
                {
                    vol.Required(
                        CONF_SITE, default=defaults.get(CONF_SITE, next(iter(sites)))
                    ): SelectSelector(
                        SelectSelectorConfig(
                            options=[
                                SelectOptionDict(value=entry_id, label=entry.title)
                                for entry_id, entry in sites.items()
                            ]
                        )
                    ),
                    **fields,
                }
            ),
            errors=errors,
            description_placeholders={
                "name": self._lock_name,
                "address": self._address,
            },
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
            elif error := name_error(name):
                errors[CONF_NAME] = error
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
    """Change the site's defaults and when repeated wrong codes raise an alert."""

    async def async_step_init(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Show and save the defaults."""
        if user_input is not None:
            return self.async_create_entry(data=user_input)
        current = {**self.config_entry.data, **self.config_entry.options}
        return self.async_show_form(
            step_id="init",
            data_schema=vol.Schema(
                {**_defaults_schema(current), **_alert_schema(current)}
            ),
        )
