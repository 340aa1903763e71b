"""
What each of Keyholder's actions does: resolve, run the command, answer.

Each handler resolves what the call names, runs the command and answers with
the description callers need.

``services.py`` holds the actions' schemas and registers these handlers
(admin only); the call has been validated against its schema by then.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from homeassistant.config_entries import ConfigEntry, ConfigSubentry
from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.core import ServiceCall, ServiceResponse
from homeassistant.helpers import entity_registry as er

from ..access.describe import KeyDescription, describe_key, describe_keys, iso
from ..access.errors import validation_error
from ..access.keyholder_details import (
    clean_keyholder,
    keyholder_problems,
    keyholder_title,
)
from ..access.keys import (
    IssuedKey,
    async_adopt_code,
    async_cancel_key,
    async_issue_key,
    async_new_passcode,
    async_set_blocked,
    is_last_active_manager,
)
from ..access.resolve import find_site, resolve_keyholder, resolve_locks
from ..const import (
    CONF_ACTIVE_FROM,
    CONF_EMAIL,
    CONF_EXPIRES_ON,
    CONF_FAMILY_NAME,
    CONF_GIVEN_NAME,
    CONF_PASSCODE_LENGTH,
    DEFAULT_PASSCODE_LENGTH,
    DOMAIN,
    SUBENTRY_KEYHOLDER,
    site_setting,
)
from ..families.virtual import VirtualLock
from ..model.values import KeyKind
from ..site import async_sync_keyholders
from ..sync.runtime import KeyholderRuntime
from .action_fields import (
    ATTR_END_TIME,
    ATTR_GROUP,
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
from .schedule_fields import day_in_range, schedule_from_fields, utc_in_range


def entry_of(call: ServiceCall) -> ConfigEntry:
    """Return the site the call is for (found from what it names when not given)."""
    data = call.data
    locks = data.get(ATTR_LOCKS) or ([data[ATTR_LOCK]] if ATTR_LOCK in data else [])
    return find_site(
        call.hass,
        data.get(ATTR_SITE),
        keyholder=data.get(ATTR_KEYHOLDER),
        locks=locks,
        key_id=data.get(ATTR_KEY_ID),
        group=data.get(ATTR_GROUP),
    )


def _runtime(call: ServiceCall) -> KeyholderRuntime:
    runtime: KeyholderRuntime = entry_of(call).runtime_data
    return runtime


def _passcode_length(call: ServiceCall) -> int:
    return site_setting(entry_of(call), CONF_PASSCODE_LENGTH, DEFAULT_PASSCODE_LENGTH)


def issued_response(runtime: KeyholderRuntime, issued: IssuedKey) -> dict[str, Any]:
    """
    Answer an issued key: its id, status and where it is not (and why).

    ``not_on_locks`` lists the locks the key should be on now but is not (no
    free slot, code refused...): the key's status does not say it works there.
    """
    key = describe_key(runtime, issued.key)
    response: dict[str, Any] = {
        ATTR_KEY_ID: key.id,
        "status": key.status.value,
        ATTR_NOT_ON_LOCKS: list(key.not_on_locks),
    }
    if issued.passcode is not None:
        response[ATTR_PASSCODE] = issued.passcode
    return response


def listed_key(key: KeyDescription) -> dict[str, Any]:
    """Answer one key of ``list_keys``: status, locks by name, schedule."""
    return {
        ATTR_KEY_ID: key.id,
        "name": key.name,
        ATTR_KEYHOLDER: key.keyholder,
        ATTR_KIND: key.kind.value,
        ATTR_LOCKS: list(key.locks),
        "status": key.status.value,
        "lock_statuses": [
            {"lock": name, "lock_id": lock_id, "status": status.value}
            for lock_id, name, status in key.lock_statuses
        ],
        "follows_access": key.follows_access,
        ATTR_NOT_ON_LOCKS: list(key.not_on_locks),
        ATTR_USES: key.uses,
        "max_uses": key.max_uses,
        ATTR_VALID_FROM: iso(key.schedule.valid_from),
        ATTR_VALID_UNTIL: iso(key.schedule.valid_until),
        ATTR_WEEKDAYS: [
            {
                "days": [WEEKDAYS[d] for d in sorted(w.days)],
                ATTR_START_TIME: w.start.isoformat(),
                ATTR_END_TIME: w.end.isoformat(),
            }
            for w in key.schedule.windows
        ],
    }


async def issue_key(call: ServiceCall) -> ServiceResponse:
    """Issue a passcode or tag key; answer with its passcode, this once."""
    runtime = _runtime(call)
    data = call.data
    issued = await async_issue_key(
        runtime,
        keyholder_id=resolve_keyholder(runtime, data[ATTR_KEYHOLDER]),
        lock_ids=(
            resolve_locks(call.hass, runtime, data[ATTR_LOCKS])
            if ATTR_LOCKS in data
            else None  # the key follows the keyholder's access
        ),
        kind=KeyKind(data[ATTR_KIND]),
        schedule=schedule_from_fields(dict(data)),
        max_uses=data.get(ATTR_USES),
        passcode=data.get(ATTR_PASSCODE),
        tag=data.get(ATTR_TAG),
        passcode_length=_passcode_length(call),
        name=data[ATTR_NAME],
    )
    return issued_response(runtime, issued)


async def cancel_key(call: ServiceCall) -> None:
    """Cancel a key on every lock."""
    await async_cancel_key(_runtime(call), call.data[ATTR_KEY_ID])


async def generate_passcode(call: ServiceCall) -> ServiceResponse:
    """Give a key a new passcode; answer with it, this once."""
    code = await async_new_passcode(
        _runtime(call),
        call.data[ATTR_KEY_ID],
        call.data.get(ATTR_PASSCODE),
        _passcode_length(call),
    )
    return {ATTR_KEY_ID: call.data[ATTR_KEY_ID], ATTR_PASSCODE: code}


async def block_user(call: ServiceCall) -> None:
    """Block a keyholder: none of their keys works until unblocked."""
    runtime = _runtime(call)
    keyholder_id = resolve_keyholder(runtime, call.data[ATTR_KEYHOLDER])
    await async_set_blocked(runtime, keyholder_id, blocked=True)


async def unblock_user(call: ServiceCall) -> None:
    """Unblock a keyholder."""
    runtime = _runtime(call)
    keyholder_id = resolve_keyholder(runtime, call.data[ATTR_KEYHOLDER])
    await async_set_blocked(runtime, keyholder_id, blocked=False)


async def list_keys(call: ServiceCall) -> ServiceResponse:
    """Answer with the site's keys (of one keyholder when named), never a code."""
    runtime = _runtime(call)
    only = call.data.get(ATTR_KEYHOLDER)
    holder_id = resolve_keyholder(runtime, only) if only else None
    return {"keys": [listed_key(key) for key in describe_keys(runtime, holder_id)]}


async def add_keyholder(call: ServiceCall) -> ServiceResponse:
    """Create a keyholder subentry, ready for the next action at once."""
    entry = entry_of(call)
    # Keyholder details are stored as the flows store them: ISO strings.
    user_input = {k: v for k, v in call.data.items() if k != ATTR_SITE}
    if active := utc_in_range(call.data.get(CONF_ACTIVE_FROM), CONF_ACTIVE_FROM):
        user_input[CONF_ACTIVE_FROM] = active.isoformat()
    if expires := day_in_range(call.data.get(CONF_EXPIRES_ON), CONF_EXPIRES_ON):
        user_input[CONF_EXPIRES_ON] = expires.isoformat()
    # Only the keyholders (and booking calendars) with the same name or e-mail.
    others = entry.runtime_data.subentries.others(
        entry,
        user_input[CONF_GIVEN_NAME],
        user_input.get(CONF_FAMILY_NAME, ""),
        user_input.get(CONF_EMAIL) or "",
    )
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
    entry.runtime_data.subentries.expect(entry, subentry.subentry_id)
    call.hass.config_entries.async_add_subentry(entry, subentry)
    # Ready for the next action at once (e.g. issue_key in the same script).
    await async_sync_keyholders(call.hass, entry)
    return {"keyholder_id": subentry.subentry_id}


async def remove_keyholder(call: ServiceCall) -> None:
    """Remove a keyholder (never the last active manager)."""
    entry = entry_of(call)
    runtime: KeyholderRuntime = entry.runtime_data
    keyholder_id = resolve_keyholder(runtime, call.data[ATTR_KEYHOLDER])
    holder = runtime.site.keyholders[keyholder_id]
    if is_last_active_manager(runtime.site, holder):
        raise validation_error("last_manager_removed", keyholder=holder.name)
    runtime.subentries.expect(entry, keyholder_id)
    call.hass.config_entries.async_remove_subentry(entry, keyholder_id)
    await async_sync_keyholders(call.hass, entry)


async def adopt_code(call: ServiceCall) -> ServiceResponse:
    """Make a code already on a lock a keyholder's key."""
    runtime = _runtime(call)
    (lock_id,) = resolve_locks(call.hass, runtime, [call.data[ATTR_LOCK]])
    key = await async_adopt_code(
        runtime,
        lock_id=lock_id,
        slot=call.data[ATTR_SLOT],
        keyholder_id=resolve_keyholder(runtime, call.data[ATTR_KEYHOLDER]),
        name=call.data[ATTR_NAME],
    )
    return {ATTR_KEY_ID: key.id}


async def set_lock_online(call: ServiceCall) -> None:
    """Take a virtual lock off line or back (for trying things out)."""
    hass = call.hass
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
    raise validation_error("not_a_virtual_lock", entity_id=call.data[ATTR_ENTITY_ID])
