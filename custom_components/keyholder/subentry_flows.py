"""Subentry flows of a site: locks, keyholders and booking calendars (reconfigurable)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
import json
from typing import Any

from homeassistant.config_entries import ConfigSubentryFlow, SubentryFlowResult
from homeassistant.const import CONF_NAME
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.selector import (
    DateSelector,
    DateTimeSelector,
    EntitySelector,
    EntitySelectorConfig,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)
import probatio as vol

from .const import (
    CONF_ACTIVE_FROM,
    CONF_CALENDAR,
    CONF_EMAIL,
    CONF_EXPIRES_ON,
    CONF_FAMILY_NAME,
    CONF_GIVEN_NAME,
    CONF_GRACE,
    CONF_GRACE_MINUTES,
    CONF_LOCK_ENTITY,
    CONF_LOCKS,
    CONF_NOTIFY,
    CONF_PIN_MAX,
    CONF_PIN_MIN,
    CONF_PROVIDER,
    CONF_ROLE,
    CONF_SLOTS,
    CONF_WRITE_DELAY,
    DEFAULT_GRACE_MINUTES,
    DOMAIN,
    MAX_GRACE_MINUTES,
    MAX_PASSCODE_LENGTH,
    MAX_SLOT_COUNT,
    MAX_WRITE_DELAY,
    MIN_PASSCODE_LENGTH,
    SUBENTRY_BOOKING,
    SUBENTRY_KEYHOLDER,
    SUBENTRY_LOCK,
    site_setting,
)
from .engine.model import Role
from .inputs import flow_finite_number, flow_whole_number, name_error
from .keyholder_details import clean_keyholder, keyholder_problems, keyholder_title
from .lock_families import DEFAULT_FAMILY, FAMILIES, family_of
from .notify_targets import unsafe_notify
from .providers.matter import PROVIDER_MATTER
from .providers.ttlock import (
    CONF_ADDRESS,
    CONF_EKEY,
    DEFAULT_SLOTS as TTLOCK_DEFAULT_SLOTS,
    MAX_SLOTS as TTLOCK_MAX_SLOTS,
    PROVIDER_TTLOCK,
    NotAdminKeyError,
    normalize_address,
    parse_ekey,
)
from .providers.virtual import PROVIDER_VIRTUAL
from .providers.zha import (
    CONF_FIRST_SLOT,
    DEFAULT_PIN_MAX as ZHA_DEFAULT_PIN_MAX,
    DEFAULT_PIN_MIN as ZHA_DEFAULT_PIN_MIN,
    DEFAULT_SLOTS as ZHA_DEFAULT_SLOTS,
    PROVIDER_ZHA,
)
from .providers.zigbee2mqtt import (
    CONF_BASE_TOPIC,
    CONF_DEVICE,
    DEFAULT_BASE_TOPIC,
    DEFAULT_SLOTS as Z2M_DEFAULT_SLOTS,
    PROVIDER_ZIGBEE2MQTT,
    valid_topic_part,
)
from .providers.zwave_js import PROVIDER_ZWAVE_JS


def ttlock_lock_data(
    user_input: dict[str, Any],
    others: list[dict[str, Any]],
    stored_ekey: dict[str, Any] | None = None,
) -> tuple[dict[str, Any], dict[str, str]]:
    """
    Check a TTLock's form; return (subentry data, field -> error key).

    An empty eKey keeps ``stored_ekey`` (reconfiguring without pasting it again).
    No error quotes what was entered.
    """
    text = (user_input.get(CONF_EKEY) or "").strip()
    ekey: dict[str, Any] | None = stored_ekey if not text else None
    errors: dict[str, str] = {}
    if text:
        try:
            loaded = json.loads(text)
            if isinstance(loaded, list) and len(loaded) == 1:
                loaded = loaded[0]  # a keys.json holding this one lock
            if not isinstance(loaded, dict):
                raise ValueError("not an object")  # noqa: TRY004, TRY301
            parse_ekey(loaded)
            ekey = loaded
        except NotAdminKeyError:
            errors[CONF_EKEY] = "ekey_not_admin"
        except ValueError:
            errors[CONF_EKEY] = "invalid_ekey"
    elif ekey is None:
        errors[CONF_EKEY] = "invalid_ekey"
    raw_address = (user_input.get(CONF_ADDRESS) or "").strip()
    if not raw_address and ekey is not None:
        raw_address = str(ekey.get("lockMac", ""))
    address = normalize_address(raw_address)
    if address is None:
        if CONF_EKEY not in errors:
            errors[CONF_ADDRESS] = "invalid_address"
    elif any(
        o.get(CONF_PROVIDER) == PROVIDER_TTLOCK and o.get(CONF_ADDRESS) == address
        for o in others
    ):
        errors[CONF_ADDRESS] = "ttlock_in_use"
    data = {
        CONF_NAME: user_input.get(CONF_NAME, "").strip(),
        CONF_PROVIDER: PROVIDER_TTLOCK,
        CONF_ADDRESS: address,
        CONF_EKEY: ekey,
        CONF_SLOTS: int(user_input.get(CONF_SLOTS, TTLOCK_DEFAULT_SLOTS)),
    }
    return data, errors


def ttlock_schema(
    defaults: dict[str, Any], *, with_address: bool = True
) -> dict[Any, Any]:
    """Return the fields of a TTLock (the eKey is never shown back)."""
    fields: dict[Any, Any] = {
        vol.Required(CONF_NAME, default=defaults.get(CONF_NAME, "")): TextSelector()
    }
    if with_address:
        fields[vol.Optional(CONF_ADDRESS, default=defaults.get(CONF_ADDRESS) or "")] = (
            TextSelector()
        )
    return fields | {
        vol.Optional(CONF_EKEY, default=""): TextSelector(
            TextSelectorConfig(multiline=True)
        ),
        vol.Required(
            CONF_SLOTS, default=defaults.get(CONF_SLOTS, TTLOCK_DEFAULT_SLOTS)
        ): _box(1, TTLOCK_MAX_SLOTS),
    }


def _box(minimum: int, maximum: int) -> vol.All[Any]:
    return vol.All(
        NumberSelector(
            NumberSelectorConfig(min=minimum, max=maximum, mode=NumberSelectorMode.BOX)
        ),
        flow_whole_number,
    )


def _keypad_fields(
    defaults: Mapping[str, Any], *, slots: int, pin_min: int = 4, pin_max: int = 8
) -> dict[Any, Any]:
    """Return the form fields of a keypad: code slots and passcode lengths."""
    return {
        vol.Required(CONF_SLOTS, default=defaults.get(CONF_SLOTS, slots)): _box(
            1, MAX_SLOT_COUNT
        ),
        vol.Required(CONF_PIN_MIN, default=defaults.get(CONF_PIN_MIN, pin_min)): _box(
            MIN_PASSCODE_LENGTH, MAX_PASSCODE_LENGTH
        ),
        vol.Required(CONF_PIN_MAX, default=defaults.get(CONF_PIN_MAX, pin_max)): _box(
            MIN_PASSCODE_LENGTH, MAX_PASSCODE_LENGTH
        ),
    }


def _pin_range_error(user_input: Mapping[str, Any]) -> dict[str, str]:
    """Return an error when the longest passcode is shorter than the shortest."""
    if (
        CONF_PIN_MIN in user_input
        and user_input[CONF_PIN_MIN] > user_input[CONF_PIN_MAX]
    ):
        return {CONF_PIN_MAX: "pin_range"}
    return {}


class _SiteSubentryFlow(ConfigSubentryFlow):
    """Shared helpers of the lock and keyholder flows."""

    def _others(self, subentry_type: str) -> list[dict[str, Any]]:
        """Return the data of the site's other subentries of a type."""
        current = (
            self._reconfigure_subentry_id if self.source == "reconfigure" else None
        )
        return [
            {**sub.data, "_title": sub.title}
            for sid, sub in self._get_entry().subentries.items()
            if sub.subentry_type == subentry_type and sid != current
        ]

    def _defaults(self) -> dict[str, Any]:
        return (
            dict(self._get_reconfigure_subentry().data)
            if self.source == "reconfigure"
            else {}
        )

    def _finish(self, title: str, data: dict[str, Any]) -> SubentryFlowResult:
        if self.source == "reconfigure":
            return self.async_update_and_abort(
                self._get_entry(),
                self._get_reconfigure_subentry(),
                title=title,
                data=data,
            )
        return self.async_create_entry(title=title, data=data)


class LockSubentryFlow(_SiteSubentryFlow):
    """Add or change a lock of the site."""

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
            errors = errors or _pin_range_error(user_input)
            if not errors:
                return self._finish(
                    name, {**user_input, CONF_NAME: name, CONF_PROVIDER: provider}
                )
        defaults = user_input or self._defaults()
        return self.async_show_form(
            step_id=provider,
            data_schema=vol.Schema(
                {
                    vol.Required(
                        CONF_NAME, default=defaults.get(CONF_NAME, "")
                    ): TextSelector(),
                    vol.Required(
                        CONF_LOCK_ENTITY, default=defaults.get(CONF_LOCK_ENTITY)
                    ): EntitySelector(
                        EntitySelectorConfig(integration=provider, domain="lock")
                    ),
                    **(fields(defaults) if fields else {}),
                }
            ),
            errors=errors,
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
            used = {
                (o.get(CONF_BASE_TOPIC), o.get(CONF_DEVICE))
                for o in self._others(SUBENTRY_LOCK)
            }
            errors = self._name_error(name)
            if not errors and not valid_topic_part(base):
                errors = {CONF_BASE_TOPIC: "invalid_topic"}
            if not errors and not valid_topic_part(device):
                errors = {CONF_DEVICE: "invalid_topic"}
            if not errors and (base, device) in used:
                errors = {CONF_DEVICE: "device_in_use"}
            errors = errors or _pin_range_error(user_input)
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
        return self.async_show_form(
            step_id="zigbee2mqtt",
            data_schema=vol.Schema(
                {
                    vol.Required(
                        CONF_NAME, default=defaults.get(CONF_NAME, "")
                    ): TextSelector(),
                    vol.Required(
                        CONF_BASE_TOPIC,
                        default=defaults.get(CONF_BASE_TOPIC, DEFAULT_BASE_TOPIC),
                    ): TextSelector(),
                    vol.Required(
                        CONF_DEVICE, default=defaults.get(CONF_DEVICE, "")
                    ): TextSelector(),
                    **_keypad_fields(defaults, slots=Z2M_DEFAULT_SLOTS),
                }
            ),
            errors=errors,
        )

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
        return self.async_show_form(
            step_id="ttlock",
            data_schema=vol.Schema(ttlock_schema(defaults)),
            errors=errors,
        )

    async def async_step_zha(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Choose the ZHA lock entity and describe its keypad."""

        def keypad(defaults: Mapping[str, Any]) -> dict[Any, Any]:
            return {
                vol.Required(
                    CONF_FIRST_SLOT, default=defaults.get(CONF_FIRST_SLOT, 1)
                ): _box(1, MAX_SLOT_COUNT),
                **_keypad_fields(
                    defaults,
                    slots=ZHA_DEFAULT_SLOTS,
                    pin_min=ZHA_DEFAULT_PIN_MIN,
                    pin_max=ZHA_DEFAULT_PIN_MAX,
                ),
            }

        return self._entity_step(PROVIDER_ZHA, user_input, keypad)

    async def async_step_virtual(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Describe a virtual keypad lock."""
        errors: dict[str, str] = {}
        if user_input is not None:
            name = user_input[CONF_NAME].strip()
            errors = self._name_error(name)
            errors = errors or _pin_range_error(user_input)
            if not errors:
                data = {**user_input, CONF_NAME: name, CONF_PROVIDER: PROVIDER_VIRTUAL}
                if not data.get(CONF_WRITE_DELAY):
                    # No simulated radio: keep the lock's data as before the option.
                    data.pop(CONF_WRITE_DELAY, None)
                return self._finish(name, data)
        defaults = user_input or self._defaults()
        return self.async_show_form(
            step_id="virtual",
            data_schema=vol.Schema(
                {
                    vol.Required(
                        CONF_NAME, default=defaults.get(CONF_NAME, "")
                    ): TextSelector(),
                    **_keypad_fields(defaults, slots=20),
                    vol.Optional(
                        CONF_WRITE_DELAY, default=defaults.get(CONF_WRITE_DELAY, 0)
                    ): vol.All(
                        NumberSelector(
                            NumberSelectorConfig(
                                min=0,
                                max=MAX_WRITE_DELAY,
                                step=0.1,
                                unit_of_measurement="s",
                                mode=NumberSelectorMode.BOX,
                            )
                        ),
                        flow_finite_number,
                    ),
                }
            ),
            errors=errors,
        )


def booking_names(bookings: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return booking calendars as the keyholders they are (named after them)."""
    return [{CONF_GIVEN_NAME: o["_title"]} for o in bookings]


class KeyholderSubentryFlow(_SiteSubentryFlow):
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
            data_schema=self.add_suggested_values_to_schema(
                vol.Schema(
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
                ),
                defaults,
            ),
            errors=errors,
        )

    async_step_reconfigure = async_step_user


class BookingSubentryFlow(_SiteSubentryFlow):
    """Bind a calendar to some of the site's locks: each event gets a guest key."""

    async def async_step_user(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Choose the calendar, the doors, the grace time and where codes go."""
        entry = self._get_entry()
        locks = {
            sid: sub.title
            for sid, sub in entry.subentries.items()
            if sub.subentry_type == SUBENTRY_LOCK
        }
        if not locks:
            return self.async_abort(reason="no_locks")
        errors: dict[str, str] = {}
        if user_input is not None:
            calendar = user_input[CONF_CALENDAR]
            chosen = sorted(lock for lock in user_input[CONF_LOCKS] if lock in locks)
            title = self._calendar_name(calendar)
            names = {
                o["_title"].casefold()
                for kind in (SUBENTRY_KEYHOLDER, SUBENTRY_BOOKING)
                for o in self._others(kind)
            }
            own = er.async_get(self.hass).async_get(calendar)
            if not chosen:
                errors[CONF_LOCKS] = "no_locks"
            elif own is not None and own.platform == DOMAIN:
                # Its events are the keys' windows: every key would beget another.
                errors[CONF_CALENDAR] = "keyholder_calendar"
            elif any(
                o.get(CONF_CALENDAR) == calendar for o in self._others(SUBENTRY_BOOKING)
            ):
                errors[CONF_CALENDAR] = "calendar_in_use"
            elif error := name_error(title):
                errors[CONF_CALENDAR] = error
            elif title.casefold() in names:
                errors[CONF_CALENDAR] = "name_taken"
            elif (notify := user_input.get(CONF_NOTIFY)) and unsafe_notify(
                self.hass, notify
            ):
                errors[CONF_NOTIFY] = "notify_unsafe"
            else:
                data: dict[str, Any] = {
                    CONF_CALENDAR: calendar,
                    CONF_LOCKS: chosen,
                    CONF_GRACE: int(user_input[CONF_GRACE]),
                }
                if notify := user_input.get(CONF_NOTIFY):
                    data[CONF_NOTIFY] = notify
                return self._finish(title, data)
        defaults = user_input or self._defaults()
        grace = site_setting(entry, CONF_GRACE_MINUTES, DEFAULT_GRACE_MINUTES)
        return self.async_show_form(
            step_id="user",
            data_schema=self.add_suggested_values_to_schema(
                vol.Schema(
                    {
                        vol.Required(CONF_CALENDAR): EntitySelector(
                            EntitySelectorConfig(domain="calendar")
                        ),
                        vol.Required(CONF_LOCKS): SelectSelector(
                            SelectSelectorConfig(
                                options=[
                                    SelectOptionDict(value=sid, label=title)
                                    for sid, title in locks.items()
                                ],
                                multiple=True,
                                mode=SelectSelectorMode.LIST,
                            )
                        ),
                        vol.Required(CONF_GRACE, default=grace): vol.All(
                            NumberSelector(
                                NumberSelectorConfig(
                                    min=0,
                                    max=MAX_GRACE_MINUTES,
                                    unit_of_measurement="min",
                                    mode=NumberSelectorMode.BOX,
                                )
                            ),
                            flow_whole_number,
                        ),
                        vol.Optional(CONF_NOTIFY): EntitySelector(
                            EntitySelectorConfig(domain="notify")
                        ),
                    }
                ),
                defaults,
            ),
            errors=errors,
        )

    async_step_reconfigure = async_step_user

    def _calendar_name(self, entity_id: str) -> str:
        """Return the calendar's name: the name of its guests' keyholder."""
        state = self.hass.states.get(entity_id)
        name = state.name if state is not None else ""
        return str(name).strip() or entity_id
