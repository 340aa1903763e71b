"""The access group flow: a named set of doors with a schedule ("Cleaners")."""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import SubentryFlowResult
from homeassistant.const import CONF_NAME
from homeassistant.helpers.selector import (
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
)
import probatio as vol

from ..access.inputs import name_error
from ..const import CONF_LOCKS, CONF_SCHEDULE, SUBENTRY_GROUP, SUBENTRY_LOCK
from ..model.serialize import schedule_from_dict, schedule_to_dict
from .base import SiteSubentryFlow
from .schedule_form import schedule_defaults, schedule_from_form, schedule_schema


def locks_selector(locks: dict[str, str]) -> SelectSelector:
    """Return a multi-select of the site's locks (subentry id -> name)."""
    return SelectSelector(
        SelectSelectorConfig(
            options=[
                SelectOptionDict(value=sid, label=title) for sid, title in locks.items()
            ],
            multiple=True,
            mode=SelectSelectorMode.LIST,
        )
    )


def group_schema(locks: dict[str, str]) -> vol.Schema:
    """Return the access group form: name, doors and schedule."""
    return vol.Schema(
        {
            vol.Required(CONF_NAME): TextSelector(),
            vol.Required(CONF_LOCKS, default=[]): locks_selector(locks),
            **schedule_schema(),
        }
    )


class GroupSubentryFlow(SiteSubentryFlow):
    """Add or change an access group; a change applies to every member at once."""

    async def async_step_user(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Name the group, choose its doors and when they open."""
        locks = {
            sid: sub.title
            for sid, sub in self._get_entry().subentries.items()
            if sub.subentry_type == SUBENTRY_LOCK
        }
        if not locks:
            return self.async_abort(reason="no_locks")
        errors: dict[str, str] = {}
        if user_input is not None:
            name = str(user_input.get(CONF_NAME, "")).strip()
            chosen = sorted(lock for lock in user_input[CONF_LOCKS] if lock in locks)
            schedule, errors = schedule_from_form(user_input)
            if not name:
                errors = {CONF_NAME: "name_required"}
            elif error := name_error(name):
                errors = {CONF_NAME: error}
            elif name.casefold() in {
                o["_title"].casefold() for o in self._others(SUBENTRY_GROUP)
            }:
                errors = {CONF_NAME: "group_exists"}
            elif not chosen:
                errors = {CONF_LOCKS: "no_locks"}
            if not errors:
                return self._finish(
                    name,
                    {CONF_LOCKS: chosen, CONF_SCHEDULE: schedule_to_dict(schedule)},
                )
        return self.async_show_form(
            step_id="user",
            data_schema=self.add_suggested_values_to_schema(
                group_schema(locks), user_input or self._group_defaults()
            ),
            errors=errors,
        )

    async_step_reconfigure = async_step_user

    def _group_defaults(self) -> dict[str, Any]:
        """Return the form filled in with the group being changed (or empty)."""
        if self.source != "reconfigure":
            return {}
        subentry = self._get_reconfigure_subentry()
        return {
            CONF_NAME: subentry.title,
            CONF_LOCKS: list(subentry.data.get(CONF_LOCKS, ())),
            **schedule_defaults(
                schedule_from_dict(subentry.data.get(CONF_SCHEDULE) or {})
            ),
        }
