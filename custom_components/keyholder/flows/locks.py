"""The lock flow: pick the lock family, then that family's form."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from homeassistant.config_entries import SubentryFlowResult
from homeassistant.const import CONF_NAME
from homeassistant.helpers.selector import (
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
)
import probatio as vol

from ..access.inputs import name_error
from ..const import CONF_LOCK_ENTITY, CONF_PROVIDER, CONF_WRITE_DELAY, SUBENTRY_LOCK
from ..families.matter import PROVIDER_MATTER
from ..families.ttlock import CONF_EKEY
from ..families.virtual import PROVIDER_VIRTUAL
from ..families.zha import PROVIDER_ZHA
from ..families.zigbee2mqtt import CONF_BASE_TOPIC, CONF_DEVICE, PROVIDER_ZIGBEE2MQTT
from ..families.zwave_js import PROVIDER_ZWAVE_JS
from ..lock_families import DEFAULT_FAMILY, FAMILIES, family_of
from .base import SiteSubentryFlow
from .lock_forms import (
    entity_fields,
    pin_range_error,
    ttlock_lock_data,
    ttlock_schema,
    virtual_fields,
    zha_fields,
    zigbee2mqtt_fields,
    zigbee2mqtt_problem,
)


class LockSubentryFlow(SiteSubentryFlow):
    """Add or change a lock of the site: one ``async_step_<family id>`` per family."""

    async def async_step_user(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Pick the lock family."""
        if user_input is not None:
            return await self._async_family_step(user_input, None)
        return self.async_show_form(
            step_id="user",
            data_schema=vol.Schema(
                {
                    vol.Required(CONF_PROVIDER, default=DEFAULT_FAMILY): SelectSelector(
                        SelectSelectorConfig(
                            options=list(FAMILIES),
                            translation_key=CONF_PROVIDER,
                            mode=SelectSelectorMode.LIST,
                        )
                    )
                }
            ),
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Change a lock (same form as when it was added)."""
        return await self._async_family_step(self._defaults(), user_input)

    async def _async_family_step(
        self, data: Mapping[str, Any], user_input: dict[str, Any] | None
    ) -> SubentryFlowResult:
        """Go on with the step of the lock family ``data`` names (its id)."""
        step: Callable[[dict[str, Any] | None], Awaitable[SubentryFlowResult]]
        step = getattr(self, f"async_step_{family_of(data).id}")
        return await step(user_input)

    def _name_error(self, name: str) -> dict[str, str]:
        taken = {o["_title"].casefold() for o in self._others(SUBENTRY_LOCK)}
        if not name:
            return {CONF_NAME: "name_required"}
        if error := name_error(name):
            return {CONF_NAME: error}
        if name.casefold() in taken:
            return {CONF_NAME: "lock_exists"}
        return {}

    def _form(
        self, step_id: str, fields: dict[Any, Any], errors: dict[str, str]
    ) -> SubentryFlowResult:
        """Show a family's form."""
        return self.async_show_form(
            step_id=step_id, data_schema=vol.Schema(fields), errors=errors
        )

    async def async_step_zwave_js(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Choose the Z-Wave lock entity that Keyholder should manage."""
        return self._entity_step(PROVIDER_ZWAVE_JS, user_input)

    async def async_step_matter(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Choose the Matter lock entity that Keyholder should manage."""
        return self._entity_step(PROVIDER_MATTER, user_input)

    async def async_step_zha(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Choose the ZHA lock entity and describe its keypad."""
        return self._entity_step(PROVIDER_ZHA, user_input, zha_fields)

    def _entity_step(
        self,
        provider: str,
        user_input: dict[str, Any] | None,
        fields: Callable[[Mapping[str, Any]], dict[Any, Any]] | None = None,
    ) -> SubentryFlowResult:
        """
        Name a lock entity of the integration ``provider`` (one form per family).

        ``fields`` adds the family's own fields to the form (from its defaults).
        """
        errors: dict[str, str] = {}
        if user_input is not None:
            name = user_input[CONF_NAME].strip()
            entity_id = user_input[CONF_LOCK_ENTITY]
            used = {o.get(CONF_LOCK_ENTITY) for o in self._others(SUBENTRY_LOCK)}
            errors = self._name_error(name)
            if not errors and entity_id in used:
                errors = {CONF_LOCK_ENTITY: "entity_in_use"}
            errors = errors or pin_range_error(user_input)
            if not errors:
                return self._finish(
                    name, {**user_input, CONF_NAME: name, CONF_PROVIDER: provider}
                )
        defaults = user_input or self._defaults()
        own = fields(defaults) if fields else {}
        return self._form(
            provider, {**entity_fields(provider, defaults), **own}, errors
        )

    async def async_step_zigbee2mqtt(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Name the Zigbee2MQTT lock device that Keyholder should manage."""
        errors: dict[str, str] = {}
        if user_input is not None:
            name = user_input[CONF_NAME].strip()
            base = user_input[CONF_BASE_TOPIC].strip()
            device = user_input[CONF_DEVICE].strip()
            errors = (
                self._name_error(name)
                or zigbee2mqtt_problem(base, device, self._others(SUBENTRY_LOCK))
                or pin_range_error(user_input)
            )
            if not errors:
                return self._finish(
                    name,
                    {
                        **user_input,
                        CONF_NAME: name,
                        CONF_BASE_TOPIC: base,
                        CONF_DEVICE: device,
                        CONF_PROVIDER: PROVIDER_ZIGBEE2MQTT,
                    },
                )
        defaults = user_input or self._defaults()
        return self._form("zigbee2mqtt", zigbee2mqtt_fields(defaults), errors)

    async def async_step_ttlock(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Describe a TTLock reached over Bluetooth, with its eKey."""
        errors: dict[str, str] = {}
        if user_input is not None:
            data, errors = ttlock_lock_data(
                user_input,
                self._others(SUBENTRY_LOCK),
                self._defaults().get(CONF_EKEY),
            )
            errors = self._name_error(data[CONF_NAME]) or errors
            if not errors:
                return self._finish(data[CONF_NAME], data)
        defaults = user_input or self._defaults()
        return self._form("ttlock", ttlock_schema(defaults), errors)

    async def async_step_virtual(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Describe a virtual keypad lock."""
        errors: dict[str, str] = {}
        if user_input is not None:
            name = user_input[CONF_NAME].strip()
            errors = self._name_error(name) or pin_range_error(user_input)
            if not errors:
                data = {**user_input, CONF_NAME: name, CONF_PROVIDER: PROVIDER_VIRTUAL}
                if not data.get(CONF_WRITE_DELAY):
                    # No simulated radio: keep the lock's data as before the option.
                    data.pop(CONF_WRITE_DELAY, None)
                return self._finish(name, data)
        defaults = user_input or self._defaults()
        return self._form("virtual", virtual_fields(defaults), errors)
