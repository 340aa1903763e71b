"""The booking flow: bind a calendar to some of the site's locks."""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import SubentryFlowResult
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.selector import (
    EntitySelector,
    EntitySelectorConfig,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
)
import probatio as vol

from ..access.inputs import flow_whole_number, name_error
from ..access.notify_targets import unsafe_notify
from ..const import (
    CONF_CALENDAR,
    CONF_GRACE,
    CONF_GRACE_MINUTES,
    CONF_LOCKS,
    CONF_NOTIFY,
    DEFAULT_GRACE_MINUTES,
    DOMAIN,
    MAX_GRACE_MINUTES,
    SUBENTRY_BOOKING,
    SUBENTRY_KEYHOLDER,
    SUBENTRY_LOCK,
    site_setting,
)
from .base import SiteSubentryFlow


def booking_schema(locks: dict[str, str], grace: int) -> vol.Schema:
    """Return the booking form: calendar, doors (id -> name), grace time, notify."""
    return vol.Schema(
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
    )


class BookingSubentryFlow(SiteSubentryFlow):
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
            title = self._calendar_name(user_input[CONF_CALENDAR])
            errors = self._problems(user_input, locks, title)
            if not errors:
                return self._finish(title, _booking_data(user_input, locks))
        defaults = user_input or self._defaults()
        grace = site_setting(entry, CONF_GRACE_MINUTES, DEFAULT_GRACE_MINUTES)
        return self.async_show_form(
            step_id="user",
            data_schema=self.add_suggested_values_to_schema(
                booking_schema(locks, grace), defaults
            ),
            errors=errors,
        )

    async_step_reconfigure = async_step_user

    def _problems(
        self, user_input: dict[str, Any], locks: dict[str, str], title: str
    ) -> dict[str, str]:
        """Return field -> error key for the form (the first problem only)."""
        calendar = user_input[CONF_CALENDAR]
        names = {
            o["_title"].casefold()
            for kind in (SUBENTRY_KEYHOLDER, SUBENTRY_BOOKING)
            for o in self._others(kind)
        }
        own = er.async_get(self.hass).async_get(calendar)
        if not any(lock in locks for lock in user_input[CONF_LOCKS]):
            return {CONF_LOCKS: "no_locks"}
        if own is not None and own.platform == DOMAIN:
            # Its events are the keys' windows: every key would beget another.
            return {CONF_CALENDAR: "keyholder_calendar"}
        if any(
            o.get(CONF_CALENDAR) == calendar for o in self._others(SUBENTRY_BOOKING)
        ):
            return {CONF_CALENDAR: "calendar_in_use"}
        if error := name_error(title):
            return {CONF_CALENDAR: error}
        if title.casefold() in names:
            return {CONF_CALENDAR: "name_taken"}
        if (notify := user_input.get(CONF_NOTIFY)) and unsafe_notify(self.hass, notify):
            return {CONF_NOTIFY: "notify_unsafe"}
        return {}

    def _calendar_name(self, entity_id: str) -> str:
        """Return the calendar's name: the name of its guests' keyholder."""
        state = self.hass.states.get(entity_id)
        name = state.name if state is not None else ""
        return str(name).strip() or entity_id


def _booking_data(user_input: dict[str, Any], locks: dict[str, str]) -> dict[str, Any]:
    """Return the subentry data of a checked booking form."""
    data: dict[str, Any] = {
        CONF_CALENDAR: user_input[CONF_CALENDAR],
        CONF_LOCKS: sorted(lock for lock in user_input[CONF_LOCKS] if lock in locks),
        CONF_GRACE: int(user_input[CONF_GRACE]),
    }
    if notify := user_input.get(CONF_NOTIFY):
        data[CONF_NOTIFY] = notify
    return data
