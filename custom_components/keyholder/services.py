"""Keyholder's actions: admin-only, validated, answering with what callers need."""

from __future__ import annotations

from datetime import date, datetime, time
from types import MappingProxyType
from typing import Any

from homeassistant.config_entries import ConfigEntry, ConfigSubentry
from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
)
from homeassistant.helpers import config_validation as cv, entity_registry as er
from homeassistant.helpers.service import async_register_admin_service
from homeassistant.util import dt as dt_util
import probatio as vol

from .action_fields import (
    ATTR_END_TIME,
    ATTR_KEY_ID,
    ATTR_KEYHOLDER,
    ATTR_KIND,
    ATTR_LOCK,
    ATTR_LOCKS,
    ATTR_NAME,
    ATTR_NOT_ON_LOCKS,
    ATTR_ONLINE,
    ATTR_PASSCODE,
    ATTR_SITE,
    ATTR_SLOT,
    ATTR_START_TIME,
    ATTR_TAG,
    ATTR_USES,
    ATTR_VALID_FROM,
    ATTR_VALID_UNTIL,
    ATTR_WEEKDAYS,
    WEEKDAYS,
)
from .const import (
    CONF_ACTIVE_FROM,
    CONF_EMAIL,
    CONF_EXPIRES_ON,
    CONF_FAMILY_NAME,
    CONF_GIVEN_NAME,
    CONF_PASSCODE_LENGTH,
    CONF_ROLE,
    DEFAULT_PASSCODE_LENGTH,
    DOMAIN,
    MAX_TAG_LENGTH,
    MAX_USES,
    SUBENTRY_BOOKING,
    SUBENTRY_KEYHOLDER,
    site_setting,
)
from .engine.model import KeyKind, Role, Schedule, Window
from .engine.names import MAX_EMAIL_LENGTH
from .engine.status import key_status
from .errors import validation_error
from .inputs import name_text, whole_number
from .keyholder_details import clean_keyholder, keyholder_problems, keyholder_title
from .keys import (
    IssuedKey,
    async_adopt_code,
    async_cancel_key,
    async_issue_key,
    async_new_passcode,
    async_set_blocked,
    is_last_active_manager,
)
from .providers.virtual import VirtualLock
from .resolve import find_site, resolve_keyholder, resolve_locks
from .runtime import KeyholderRuntime
from .site import async_sync_keyholders

EARLIEST = 1970
LATEST = 2999
"""Dates and times of day outside these years are refused (typos, not plans)."""

_SITE: dict[Any, Any] = {vol.Optional(ATTR_SITE): cv.string}
_KEYHOLDER = {**_SITE, vol.Required(ATTR_KEYHOLDER): cv.string}

ISSUE_KEY_SCHEMA = vol.Schema(
    {
        **_KEYHOLDER,
        vol.Required(ATTR_LOCKS): vol.All(
            cv.ensure_list, [cv.string], vol.Length(min=1)
        ),
        vol.Optional(ATTR_KIND, default=KeyKind.PASSCODE.value): vol.In(
            [KeyKind.PASSCODE.value, KeyKind.TAG.value]
        ),
        vol.Optional(ATTR_WEEKDAYS): vol.All(cv.ensure_list, [vol.In(WEEKDAYS)]),
        vol.Optional(ATTR_START_TIME): cv.time,
        vol.Optional(ATTR_END_TIME): cv.time,
        vol.Optional(ATTR_VALID_FROM): cv.datetime,
        vol.Optional(ATTR_VALID_UNTIL): cv.datetime,
        vol.Optional(ATTR_USES): whole_number(ATTR_USES, 1, MAX_USES),
        vol.Optional(ATTR_PASSCODE): cv.string,
        vol.Optional(ATTR_TAG): vol.All(cv.string, vol.Length(max=MAX_TAG_LENGTH)),
        vol.Optional(ATTR_NAME, default=""): name_text(ATTR_NAME),
    }
)
KEY_SCHEMA = vol.Schema({**_SITE, vol.Required(ATTR_KEY_ID): cv.string})
GENERATE_SCHEMA = KEY_SCHEMA.extend({vol.Optional(ATTR_PASSCODE): cv.string})
KEYHOLDER_SCHEMA = vol.Schema(_KEYHOLDER)
LIST_SCHEMA = vol.Schema({**_SITE, vol.Optional(ATTR_KEYHOLDER): cv.string})
ADD_KEYHOLDER_SCHEMA = vol.Schema(
    {
        **_SITE,
        vol.Required(CONF_GIVEN_NAME): name_text(CONF_GIVEN_NAME),
        vol.Optional(CONF_FAMILY_NAME, default=""): name_text(CONF_FAMILY_NAME),
        vol.Optional(CONF_EMAIL): name_text(CONF_EMAIL, MAX_EMAIL_LENGTH),
        vol.Optional(CONF_ROLE, default=Role.KEYHOLDER.value): vol.In(
            [role.value for role in Role]
        ),
        vol.Optional(CONF_ACTIVE_FROM): cv.datetime,
        vol.Optional(CONF_EXPIRES_ON): cv.date,
    }
)
ADOPT_SCHEMA = vol.Schema(
    {
        **_KEYHOLDER,
        vol.Required(ATTR_LOCK): cv.string,
        # Bounded by the lock's own slots (async_adopt_code).
        vol.Required(ATTR_SLOT): whole_number(ATTR_SLOT, 1, None),
        vol.Optional(ATTR_NAME, default=""): name_text(ATTR_NAME),
    }
)
ONLINE_SCHEMA = vol.Schema(
    {vol.Required(ATTR_ENTITY_ID): cv.entity_id, vol.Required(ATTR_ONLINE): cv.boolean}
)


def _entry(hass: HomeAssistant, call: ServiceCall) -> ConfigEntry:
    """Return the site the call is for (found from what it names when not given)."""
    data = call.data
    locks = data.get(ATTR_LOCKS) or ([data[ATTR_LOCK]] if ATTR_LOCK in data else [])
    return find_site(
        hass,
        data.get(ATTR_SITE),
        keyholder=data.get(ATTR_KEYHOLDER),
        locks=locks,
        key_id=data.get(ATTR_KEY_ID),
    )


def _runtime(hass: HomeAssistant, call: ServiceCall) -> KeyholderRuntime:
    runtime: KeyholderRuntime = _entry(hass, call).runtime_data
    return runtime


def _utc(value: datetime | None, field: str) -> datetime | None:
    """Return a datetime in UTC (naive ones are local); refuse far-off years."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt_util.get_default_time_zone())
    try:
        utc = dt_util.as_utc(value)
    except OverflowError:
        utc = None
    if utc is None or not EARLIEST <= utc.year <= LATEST:
        raise validation_error("out_of_range", field=field)
    return utc


def _day(value: date | None, field: str) -> date | None:
    """Return the day of a date (or of a datetime); refuse far-off years."""
    if value is None:
        return None
    if isinstance(value, datetime):
        value = value.date()
    if not EARLIEST <= value.year <= LATEST:
        raise validation_error("out_of_range", field=field)
    return value


def _schedule(data: dict[str, Any]) -> Schedule:
    """Build a schedule from an action's fields (always, or weekly windows)."""
    days = data.get(ATTR_WEEKDAYS)
    start: time | None = data.get(ATTR_START_TIME)
    end: time | None = data.get(ATTR_END_TIME)
    windows: tuple[Window, ...] = ()
    if days or start is not None or end is not None:
        if start is None or end is None:
            raise validation_error("window_needs_times")
        day_numbers = frozenset(WEEKDAYS.index(day) for day in days or WEEKDAYS)
        windows = (Window(days=day_numbers, start=start, end=end),)
    valid_from = _utc(data.get(ATTR_VALID_FROM), ATTR_VALID_FROM)
    valid_until = _utc(data.get(ATTR_VALID_UNTIL), ATTR_VALID_UNTIL)
    if valid_from and valid_until and valid_until <= valid_from:
        raise validation_error("until_before_from")
    return Schedule(windows=windows, valid_from=valid_from, valid_until=valid_until)


def issued_response(runtime: KeyholderRuntime, issued: IssuedKey) -> dict[str, Any]:
    """
    Answer an issued key: its id, status and where it is not (and why).

    ``not_on_locks`` lists the locks the key should be on now but is not (no
    free slot, code refused...): the key's status does not say it works there.
    """
    response: dict[str, Any] = {
        ATTR_KEY_ID: issued.key.id,
        "status": runtime.key_status(issued.key).value,
        ATTR_NOT_ON_LOCKS: runtime.not_on_locks(issued.key.id),
    }
    if issued.passcode is not None:
        response[ATTR_PASSCODE] = issued.passcode
    return response


def _passcode_length(hass: HomeAssistant, call: ServiceCall) -> int:
    return site_setting(
        _entry(hass, call), CONF_PASSCODE_LENGTH, DEFAULT_PASSCODE_LENGTH
    )


def async_setup_services(hass: HomeAssistant) -> None:
    """Register Keyholder's actions (admin only)."""

    async def issue_key(call: ServiceCall) -> ServiceResponse:
        runtime = _runtime(hass, call)
        data = call.data
        kind = KeyKind(data[ATTR_KIND])
        max_uses: int | None = data.get(ATTR_USES)
        issued = await async_issue_key(
            runtime,
            keyholder_id=resolve_keyholder(runtime, data[ATTR_KEYHOLDER]),
            lock_ids=resolve_locks(hass, runtime, data[ATTR_LOCKS]),
            kind=kind,
            schedule=_schedule(dict(data)),
            max_uses=max_uses,
            passcode=data.get(ATTR_PASSCODE),
            tag=data.get(ATTR_TAG),
            passcode_length=_passcode_length(hass, call),
            name=data[ATTR_NAME],
        )
        return issued_response(runtime, issued)

    async def cancel_key(call: ServiceCall) -> None:
        await async_cancel_key(_runtime(hass, call), call.data[ATTR_KEY_ID])

    async def generate_passcode(call: ServiceCall) -> ServiceResponse:
        runtime = _runtime(hass, call)
        code = await async_new_passcode(
            runtime,
            call.data[ATTR_KEY_ID],
            call.data.get(ATTR_PASSCODE),
            _passcode_length(hass, call),
        )
        return {ATTR_KEY_ID: call.data[ATTR_KEY_ID], ATTR_PASSCODE: code}

    async def block_user(call: ServiceCall) -> None:
        runtime = _runtime(hass, call)
        await async_set_blocked(
            runtime, resolve_keyholder(runtime, call.data[ATTR_KEYHOLDER]), blocked=True
        )

    async def unblock_user(call: ServiceCall) -> None:
        runtime = _runtime(hass, call)
        await async_set_blocked(
            runtime,
            resolve_keyholder(runtime, call.data[ATTR_KEYHOLDER]),
            blocked=False,
        )

    async def list_keys(call: ServiceCall) -> ServiceResponse:
        runtime = _runtime(hass, call)
        site = runtime.site
        only = call.data.get(ATTR_KEYHOLDER)
        holder_id = resolve_keyholder(runtime, only) if only else None
        now = dt_util.utcnow()
        keys: list[Any] = []
        for key in sorted(site.keys.values(), key=lambda k: k.id):
            holder = site.keyholders.get(key.keyholder_id)
            if holder is None or (holder_id and key.keyholder_id != holder_id):
                continue
            keys.append(
                {
                    ATTR_KEY_ID: key.id,
                    "name": key.name,
                    ATTR_KEYHOLDER: holder.name,
                    ATTR_KIND: key.kind.value,
                    ATTR_LOCKS: sorted(
                        runtime.locks[i].name
                        for i in key.lock_ids
                        if i in runtime.locks
                    ),
                    "status": key_status(key, holder, now, runtime.tz).value,
                    ATTR_NOT_ON_LOCKS: runtime.not_on_locks(key.id),
                    ATTR_USES: key.uses,
                    "max_uses": key.max_uses,
                    ATTR_VALID_FROM: _iso(key.schedule.valid_from),
                    ATTR_VALID_UNTIL: _iso(key.schedule.valid_until),
                    ATTR_WEEKDAYS: [
                        {
                            "days": [WEEKDAYS[d] for d in sorted(w.days)],
                            ATTR_START_TIME: w.start.isoformat(),
                            ATTR_END_TIME: w.end.isoformat(),
                        }
                        for w in key.schedule.windows
                    ],
                }
            )
        return {"keys": keys}

    async def add_keyholder(call: ServiceCall) -> ServiceResponse:
        entry = _entry(hass, call)
        # Keyholder details are stored as the flows store them: ISO strings.
        user_input = {k: v for k, v in call.data.items() if k != ATTR_SITE}
        if active := _utc(call.data.get(CONF_ACTIVE_FROM), CONF_ACTIVE_FROM):
            user_input[CONF_ACTIVE_FROM] = active.isoformat()
        if expires := _day(call.data.get(CONF_EXPIRES_ON), CONF_EXPIRES_ON):
            user_input[CONF_EXPIRES_ON] = expires.isoformat()
        others = [
            dict(sub.data)
            if sub.subentry_type == SUBENTRY_KEYHOLDER
            else {CONF_GIVEN_NAME: sub.title}  # a booking calendar's guests
            for sub in entry.subentries.values()
            if sub.subentry_type in (SUBENTRY_KEYHOLDER, SUBENTRY_BOOKING)
        ]
        if errors := keyholder_problems(user_input, others):
            field, error = next(iter(errors.items()))
            raise validation_error(f"keyholder_{error}", field=field)
        data = clean_keyholder(user_input)
        subentry = ConfigSubentry(
            data=MappingProxyType(data),
            subentry_type=SUBENTRY_KEYHOLDER,
            title=keyholder_title(data),
            unique_id=None,
        )
        hass.config_entries.async_add_subentry(entry, subentry)
        # Ready for the next action at once (e.g. issue_key in the same script).
        await async_sync_keyholders(hass, entry)
        return {"keyholder_id": subentry.subentry_id}

    async def remove_keyholder(call: ServiceCall) -> None:
        entry = _entry(hass, call)
        runtime: KeyholderRuntime = entry.runtime_data
        keyholder_id = resolve_keyholder(runtime, call.data[ATTR_KEYHOLDER])
        holder = runtime.site.keyholders[keyholder_id]
        if is_last_active_manager(runtime.site, holder):
            raise validation_error("last_manager_removed", keyholder=holder.name)
        hass.config_entries.async_remove_subentry(entry, keyholder_id)
        await async_sync_keyholders(hass, entry)

    async def adopt_code(call: ServiceCall) -> ServiceResponse:
        runtime = _runtime(hass, call)
        (lock_id,) = resolve_locks(hass, runtime, [call.data[ATTR_LOCK]])
        key = await async_adopt_code(
            runtime,
            lock_id=lock_id,
            slot=call.data[ATTR_SLOT],
            keyholder_id=resolve_keyholder(runtime, call.data[ATTR_KEYHOLDER]),
            name=call.data[ATTR_NAME],
        )
        return {ATTR_KEY_ID: key.id}

    async def set_lock_online(call: ServiceCall) -> None:
        entity = er.async_get(hass).async_get(call.data[ATTR_ENTITY_ID])
        for entry in hass.config_entries.async_loaded_entries(DOMAIN):
            runtime: KeyholderRuntime = entry.runtime_data
            if entity is None or entity.config_subentry_id not in runtime.locks:
                continue
            provider = runtime.locks[entity.config_subentry_id].provider
            if isinstance(provider, VirtualLock):
                provider.online = call.data[ATTR_ONLINE]
                await runtime.async_apply_changes({entity.config_subentry_id})
                return
        raise validation_error(
            "not_a_virtual_lock", entity_id=call.data[ATTR_ENTITY_ID]
        )

    register = [
        ("issue_key", issue_key, ISSUE_KEY_SCHEMA, SupportsResponse.OPTIONAL),
        ("cancel_key", cancel_key, KEY_SCHEMA, SupportsResponse.NONE),
        (
            "generate_passcode",
            generate_passcode,
            GENERATE_SCHEMA,
            SupportsResponse.OPTIONAL,
        ),
        ("block_user", block_user, KEYHOLDER_SCHEMA, SupportsResponse.NONE),
        ("unblock_user", unblock_user, KEYHOLDER_SCHEMA, SupportsResponse.NONE),
        ("list_keys", list_keys, LIST_SCHEMA, SupportsResponse.ONLY),
        (
            "add_keyholder",
            add_keyholder,
            ADD_KEYHOLDER_SCHEMA,
            SupportsResponse.OPTIONAL,
        ),
        ("remove_keyholder", remove_keyholder, KEYHOLDER_SCHEMA, SupportsResponse.NONE),
        ("adopt_code", adopt_code, ADOPT_SCHEMA, SupportsResponse.OPTIONAL),
        ("set_lock_online", set_lock_online, ONLINE_SCHEMA, SupportsResponse.NONE),
    ]
    for name, func, schema, supports in register:
        async_register_admin_service(
            hass, DOMAIN, name, func, schema=schema, supports_response=supports
        )


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
