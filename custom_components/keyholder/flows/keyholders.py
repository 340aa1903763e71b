"""
The keyholder flow: add or change a person of the site.

Adding is three steps: details, access (groups and personal doors), a key. The
flow adds the keyholder itself at the end, so that it can set their access and
issue the key at once; the passcode is shown once, on the last screen, and
kept nowhere else. Changing someone is details and access (no key step).
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from homeassistant.config_entries import (
    ConfigEntryState,
    ConfigSubentry,
    SubentryFlowResult,
)
from homeassistant.exceptions import ServiceValidationError
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

from ..access.grants import async_set_access
from ..access.keyholder_details import (
    clean_keyholder,
    keyholder_problems,
    keyholder_title,
)
from ..access.keys import access_locks, async_issue_key, secret_for
from ..const import (
    CONF_ACTIVE_FROM,
    CONF_EMAIL,
    CONF_EXPIRES_ON,
    CONF_FAMILY_NAME,
    CONF_GIVEN_NAME,
    CONF_PASSCODE_LENGTH,
    CONF_ROLE,
    DEFAULT_PASSCODE_LENGTH,
    SUBENTRY_BOOKING,
    SUBENTRY_GROUP,
    SUBENTRY_KEYHOLDER,
    SUBENTRY_LOCK,
    site_setting,
)
from ..model.values import ALWAYS, KeyKind, Role
from ..site import async_sync_keyholders
from ..sync.runtime import KeyholderConfigEntry, KeyholderRuntime
from .base import SiteSubentryFlow
from .keyholder_access import (
    CONF_KEY,
    CONF_PASSCODE,
    KEY_NONE,
    KEY_OWN,
    KEY_SCHEMA,
    AccessChoice,
    access_defaults,
    access_from_form,
    access_schema,
    refusal,
)


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

    _details: dict[str, Any]
    _access: AccessChoice

    async def async_step_user(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Enter a keyholder's details."""
        if self._get_entry().state is not ConfigEntryState.LOADED:
            return self.async_abort(reason="site_not_loaded")
        errors: dict[str, str] = {}
        if user_input is not None:
            errors = keyholder_problems(
                user_input,
                self._others(SUBENTRY_KEYHOLDER)
                + booking_names(self._others(SUBENTRY_BOOKING)),
            )
            if not errors:
                self._details = clean_keyholder(user_input)
                return await self.async_step_access()
        defaults = user_input or self._defaults()
        return self.async_show_form(
            step_id="user",
            data_schema=self.add_suggested_values_to_schema(KEYHOLDER_SCHEMA, defaults),
            errors=errors,
        )

    async_step_reconfigure = async_step_user

    def _titles(self, subentry_type: str) -> dict[str, str]:
        return {
            sid: sub.title
            for sid, sub in self._get_entry().subentries.items()
            if sub.subentry_type == subentry_type
        }

    @property
    def _runtime(self) -> KeyholderRuntime:
        entry: KeyholderConfigEntry = self._get_entry()
        return entry.runtime_data

    async def async_step_access(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Choose the groups and personal doors (with their schedule)."""
        groups = self._titles(SUBENTRY_GROUP)
        locks = self._titles(SUBENTRY_LOCK)
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = {}
        if user_input is not None:
            self._access, errors = access_from_form(user_input, groups, locks)
            if not errors and self.source != "reconfigure":
                return await self.async_step_key()
            if not errors:
                try:
                    await self._async_set_access(self._reconfigure_subentry_id)
                except ServiceValidationError as err:
                    errors, placeholders = refusal(err, "base")
                else:
                    return self._finish(keyholder_title(self._details), self._details)
        if user_input is None and self.source == "reconfigure":
            user_input = access_defaults(
                self._runtime.site, self._reconfigure_subentry_id
            )
        return self.async_show_form(
            step_id="access",
            data_schema=self.add_suggested_values_to_schema(
                access_schema(groups, locks), user_input or {}
            ),
            errors=errors,
            description_placeholders={
                "name": keyholder_title(self._details),
                **placeholders,
            },
        )

    async def _async_set_access(self, keyholder_id: str) -> None:
        runtime = self._runtime
        await async_set_access(
            runtime,
            keyholder_id,
            groups=self._access.memberships(runtime.site, keyholder_id),
            personal=self._access.personal,
        )

    async def async_step_key(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Give the new keyholder a key: a passcode made up or typed in, or none."""
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = {}
        if user_input is not None:
            mode = user_input[CONF_KEY]
            own = str(user_input.get(CONF_PASSCODE) or "").strip()
            field = CONF_PASSCODE if mode == KEY_OWN else CONF_KEY
            if mode == KEY_OWN and not own:
                errors = {CONF_PASSCODE: "passcode_required"}
            elif mode != KEY_NONE and not self._access.lock_ids(self._runtime.site):
                errors = {CONF_KEY: "key_needs_access"}
            else:
                try:
                    if mode == KEY_OWN:  # checked before anyone is added
                        own = self._checked_code(own)
                    return await self._async_add(mode, own if mode == KEY_OWN else None)
                except ServiceValidationError as err:
                    errors, placeholders = refusal(err, field)
        # The passcode typed is never filled in again (nor kept by the flow).
        return self.async_show_form(
            step_id="key",
            data_schema=KEY_SCHEMA,
            errors=errors,
            description_placeholders={
                "name": keyholder_title(self._details),
                **placeholders,
            },
        )

    def _checked_code(self, own: str) -> str:
        """Return an own passcode as kept, if it fits the chosen doors (else raise)."""
        runtime = self._runtime
        locks = self._access.lock_ids(runtime.site) & runtime.locks.keys()
        code = secret_for(
            runtime, KeyKind.PASSCODE, locks, own, self._passcode_length()
        )
        assert code is not None  # a passcode is always checked and kept
        return code

    def _passcode_length(self) -> int:
        return site_setting(
            self._get_entry(), CONF_PASSCODE_LENGTH, DEFAULT_PASSCODE_LENGTH
        )

    async def _async_add(self, mode: str, own: str | None) -> SubentryFlowResult:
        """
        Add the keyholder, set their access, issue the key; show the code once.

        A refusal of the access or the key takes the keyholder away again (bad
        input changes nothing) and is raised for the form.
        """
        entry: KeyholderConfigEntry = self._get_entry()
        runtime = entry.runtime_data
        title = keyholder_title(self._details)
        subentry = ConfigSubentry(
            data=MappingProxyType(self._details),
            subentry_type=SUBENTRY_KEYHOLDER,
            title=title,
            unique_id=None,
        )
        holder = subentry.subentry_id
        runtime.subentries.expect(entry, holder)
        self.hass.config_entries.async_add_subentry(entry, subentry)
        await async_sync_keyholders(self.hass, entry)
        try:
            await self._async_set_access(holder)
            issued = (
                None
                if mode == KEY_NONE
                else await async_issue_key(
                    runtime,
                    keyholder_id=holder,
                    lock_ids=None,
                    kind=KeyKind.PASSCODE,
                    schedule=ALWAYS,
                    max_uses=None,
                    passcode=own,
                    tag=None,
                    passcode_length=self._passcode_length(),
                )
            )
        except ServiceValidationError:
            runtime.subentries.expect(entry, holder)
            self.hass.config_entries.async_remove_subentry(entry, holder)
            await async_sync_keyholders(self.hass, entry)
            raise
        doors = ", ".join(
            sorted(runtime.locks[lock].name for lock in access_locks(runtime, holder))
        )
        if issued is None or issued.passcode is None:
            return self.async_abort(
                reason="keyholder_added_no_key",
                description_placeholders={"name": title, "doors": doors or "-"},
            )
        return self.async_abort(
            reason="keyholder_added",
            description_placeholders={
                "name": title,
                "code": issued.passcode,
                "doors": doors or "-",
            },
        )
