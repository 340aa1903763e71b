"""
Changes to who may open what: issue, cancel, re-code keys; block people.

Every function validates first and changes nothing on bad input
(``ServiceValidationError`` with a translated message), then applies the change
to the site, saves it and brings the locks in line before returning.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
import uuid

from homeassistant.exceptions import HomeAssistantError

from ..const import DOMAIN
from ..families import ProviderError
from ..model.access import term_locks
from ..model.credentials import credential_kind, shared_capabilities, taken_secrets
from ..model.serialize import key_grant_id
from ..model.site import Site
from ..model.values import (
    CredentialRef,
    Grant,
    Key,
    Keyholder,
    KeyKind,
    LockCapabilities,
    Role,
    Schedule,
)
from ..sync.runtime import KeyholderRuntime
from ..sync.state import LockInfo
from .errors import validation_error


@dataclass(frozen=True, slots=True)
class IssuedKey:
    """A new key and, once, its passcode."""

    key: Key
    passcode: str | None


def _shared_caps(
    runtime: KeyholderRuntime, lock_ids: frozenset[str]
) -> LockCapabilities:
    """Return what every one of the locks accepts (credential kinds, PIN lengths)."""
    return shared_capabilities(
        runtime.locks[lock_id].provider.capabilities for lock_id in sorted(lock_ids)
    )


def _foreign(
    runtime: KeyholderRuntime, kind: KeyKind, lock_ids: Iterable[str]
) -> dict[str, str]:
    """
    Return secret -> lock id for secrets of ``kind`` in slots Keyholder did not write.

    Locks report their code (PIN) slots only, so only passcodes can collide.
    """
    return runtime.queries.foreign_codes(lock_ids) if kind is KeyKind.PASSCODE else {}


def secret_for(
    runtime: KeyholderRuntime,
    kind: KeyKind,
    lock_ids: frozenset[str],
    own: str | None,
    length: int,
    *,
    exclude_key_id: str | None = None,
) -> str | None:
    """
    Check an entered secret, or make one that fits every lock (its kind's rules).

    Answers the secret as it is kept (normalised); None for a kind without one.
    """
    spec = credential_kind(kind)
    caps = _shared_caps(runtime, lock_ids)
    if reason := spec.unusable(caps):
        raise validation_error(reason)
    taken = taken_secrets(runtime.site, kind, lock_ids, exclude_key_id=exclude_key_id)
    foreign = _foreign(runtime, kind, lock_ids)
    if own is None or not spec.entered:
        if spec.generate is not None:
            return spec.generate(caps, length, taken | foreign.keys())
        if spec.missing is not None:
            raise validation_error(spec.missing, **spec.limits(caps))
        return None
    secret, reason = spec.check(own, caps, taken)
    if reason:
        raise validation_error(reason, **spec.limits(caps))
    _refuse_foreign(runtime, secret, foreign)
    return secret


def _refuse_foreign(
    runtime: KeyholderRuntime, code: str, foreign: dict[str, str]
) -> None:
    """Refuse a code a lock already holds in a slot Keyholder does not manage."""
    if (lock_id := foreign.get(code)) is not None:
        raise validation_error("passcode_on_lock", lock=runtime.locks[lock_id].name)


def _check_locks(runtime: KeyholderRuntime, lock_ids: frozenset[str]) -> None:
    """Refuse no locks, or locks the site does not have."""
    if not lock_ids:
        raise validation_error("no_locks")
    if unknown := sorted(lock_ids - runtime.locks.keys()):
        raise validation_error("unknown_lock", lock=", ".join(unknown))


def access_locks(runtime: KeyholderRuntime, keyholder_id: str) -> frozenset[str]:
    """Return the site's locks a keyholder's access names (at any time)."""
    terms = runtime.site.access.terms_of(keyholder_id)
    return term_locks(terms) & runtime.locks.keys()


def _key_locks(
    runtime: KeyholderRuntime,
    keyholder_id: str,
    lock_ids: frozenset[str] | None,
    kind: KeyKind,
) -> frozenset[str]:
    """Return the locks a new key will open; refuse what cannot be issued."""
    if keyholder_id not in runtime.site.keyholders:
        raise validation_error("unknown_keyholder", keyholder=keyholder_id)
    if lock_ids is not None:
        _check_locks(runtime, lock_ids)
    locks = access_locks(runtime, keyholder_id) if lock_ids is None else lock_ids
    if not locks:
        raise validation_error("no_access_given")
    spec = credential_kind(kind)
    unsupported = [
        runtime.locks[lock_id].name
        for lock_id in sorted(locks)
        if not spec.can_hold(runtime.locks[lock_id].provider.capabilities)
    ]
    if unsupported:
        raise validation_error(
            "kind_not_supported", kind=kind.value, lock=", ".join(unsupported)
        )
    return locks


async def async_issue_key(
    runtime: KeyholderRuntime,
    *,
    keyholder_id: str,
    lock_ids: frozenset[str] | None,
    kind: KeyKind,
    schedule: Schedule,
    max_uses: int | None,
    passcode: str | None,
    tag: str | None,
    passcode_length: int,
    name: str = "",
) -> IssuedKey:
    """
    Give a keyholder a new key.

    With ``lock_ids``, the shorthand of ``issue_key``: the keyholder gets
    personal access to those locks on ``schedule`` and the key is limited to
    them (it opens exactly that). Without, the key opens whatever the
    keyholder's access allows, limited by ``schedule``.
    """
    site = runtime.site
    locks = _key_locks(runtime, keyholder_id, lock_ids, kind)
    spec = credential_kind(kind)
    entered = {KeyKind.PASSCODE: passcode, KeyKind.TAG: tag}.get(kind)
    secret = secret_for(runtime, kind, locks, entered, passcode_length)
    key = Key(
        id=uuid.uuid4().hex,
        keyholder_id=keyholder_id,
        kind=kind,
        lock_ids=lock_ids,
        schedule=schedule,
        secret=secret,
        max_uses=max_uses,
        name=name,
        serial=site.next_serial(),
    )
    if lock_ids is not None:
        site.put_grant(
            Grant(key_grant_id(key.id), keyholder_id, lock_ids, schedule=schedule)
        )
    site.put_key(key)
    await runtime.async_apply_changes(
        set(locks), keys=[key.id], keyholders=[keyholder_id]
    )
    return IssuedKey(key, secret if spec.returned else None)


def _get_key(runtime: KeyholderRuntime, key_id: str) -> Key:
    key = runtime.site.keys.get(key_id)
    if key is None:
        raise validation_error("unknown_key", key_id=key_id)
    return key


async def async_cancel_key(runtime: KeyholderRuntime, key_id: str) -> Key:
    """Cancel a key: it stops working on every lock at once."""
    key = replace(_get_key(runtime, key_id), cancelled=True)
    runtime.site.put_key(key)
    await runtime.async_apply_changes(set(runtime.site.locks_of(key)), keys=[key.id])
    return key


async def async_reschedule_key(
    runtime: KeyholderRuntime,
    key_id: str,
    schedule: Schedule,
    lock_ids: frozenset[str] | None = None,
) -> Key:
    """
    Give a key a new schedule (and locks): same credential, new validity.

    A key issued on its own locks (``issue_key``) moves its personal access
    along. The passcode must still be free on every lock it now opens.
    """
    site = runtime.site
    old = _get_key(runtime, key_id)
    lock_ids = old.lock_ids if lock_ids is None else lock_ids
    if lock_ids is not None:
        _check_locks(runtime, lock_ids)
    before = site.locks_of(old)
    grant = site.grants.get(key_grant_id(key_id))
    if grant is not None and lock_ids is not None:
        site.put_grant(replace(grant, lock_ids=lock_ids, schedule=schedule))
    key = replace(old, schedule=schedule, lock_ids=lock_ids)
    site.put_key(key)
    spec = credential_kind(old.kind)
    if spec.in_use is not None and old.secret is not None:
        after = site.locks_of(key)
        taken = taken_secrets(site, old.kind, after, exclude_key_id=key_id)
        foreign = _foreign(runtime, old.kind, after)
        if old.secret in taken or old.secret in foreign:
            site.put_key(old)
            if grant is not None:
                site.put_grant(grant)
            _refuse_foreign(runtime, old.secret, foreign)
            raise validation_error(spec.in_use)
    await runtime.async_apply_changes(
        set(before | site.locks_of(key)), keys=[key_id], keyholders=[old.keyholder_id]
    )
    return key


async def async_remove_key(runtime: KeyholderRuntime, key_id: str) -> None:
    """Forget a key; any lock still holding its code has it cleared."""
    site = runtime.site
    if (old := site.keys.get(key_id)) is None:
        return
    locks = site.locks_of(old)
    site.remove_key(key_id)
    site.remove_grant(key_grant_id(key_id))  # the access given with it goes too
    await runtime.async_apply_changes(
        set(locks), keys=[key_id], keyholders=[old.keyholder_id]
    )


async def async_new_passcode(
    runtime: KeyholderRuntime, key_id: str, passcode: str | None, length: int
) -> str:
    """Replace a passcode key's code; the old code stops working everywhere."""
    key = _get_key(runtime, key_id)
    if key.kind is not KeyKind.PASSCODE:
        raise validation_error("not_a_passcode", key_id=key_id)
    if key.cancelled:
        raise validation_error("key_cancelled", key_id=key_id)
    locks = runtime.site.locks_of(key)
    code = secret_for(runtime, key.kind, locks, passcode, length, exclude_key_id=key.id)
    assert code is not None  # a passcode is always made or entered
    runtime.site.put_key(replace(key, secret=code))
    await runtime.async_apply_changes(set(locks))
    return code


def holder_locks(site: Site, keyholder_id: str) -> frozenset[str]:
    """Return the locks any key of a keyholder opens at some time."""
    return frozenset().union(
        *(site.locks_of(key) for key in site.keys_of(keyholder_id))
    )


def is_last_active_manager(site: Site, holder: Keyholder) -> bool:
    """Return True when no other unblocked manager would be left without ``holder``."""
    return holder.role is Role.MANAGER and not any(
        h.role is Role.MANAGER and not h.blocked and h.id != holder.id
        for h in site.keyholders.values()
    )


async def async_set_blocked(
    runtime: KeyholderRuntime, keyholder_id: str, *, blocked: bool
) -> None:
    """Block or unblock a keyholder (the last active manager cannot be blocked)."""
    site = runtime.site
    holder = site.keyholders.get(keyholder_id)
    if holder is None:
        raise validation_error("unknown_keyholder", keyholder=keyholder_id)
    if blocked and not holder.blocked and is_last_active_manager(site, holder):
        raise validation_error("last_manager", keyholder=holder.name)
    if holder.blocked == blocked:
        return
    site.put_keyholder(replace(holder, blocked=blocked))
    await runtime.async_apply_changes(
        set(holder_locks(site, keyholder_id)), keyholders=[keyholder_id]
    )


def _passcode_slot(info: LockInfo, slot: int) -> CredentialRef:
    """Return passcode ``slot`` of a lock; refuse one the lock does not have."""
    pins = info.provider.capabilities.slots.get(KeyKind.PASSCODE)
    if pins is None:
        raise validation_error(
            "kind_not_supported", kind=KeyKind.PASSCODE.value, lock=info.name
        )
    if not pins.first <= slot <= pins.last:
        raise validation_error(
            "slot_not_on_lock",
            lock=info.name,
            slot=str(slot),
            slot_min=str(pins.first),
            slot_max=str(pins.last),
        )
    return CredentialRef(KeyKind.PASSCODE, slot)


async def async_adopt_code(
    runtime: KeyholderRuntime, *, lock_id: str, slot: int, keyholder_id: str, name: str
) -> Key:
    """
    Take over a passcode found on a lock: it becomes a key Keyholder manages.

    The code stays in its passcode slot; from then on Keyholder may change or
    clear it.
    """
    if keyholder_id not in runtime.site.keyholders:
        raise validation_error("unknown_keyholder", keyholder=keyholder_id)
    info = runtime.locks[lock_id]
    caps = info.provider.capabilities
    ref = _passcode_slot(info, slot)
    # Under the lock's guard: no sync may write this slot meanwhile.
    async with runtime.lock_guard(lock_id):
        written = runtime.data.written.setdefault(lock_id, {})
        if ref in written:
            raise validation_error("slot_managed", lock=info.name, slot=str(slot))
        try:
            reported = await info.provider.async_read_credentials()
        except ProviderError as err:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="lock_unreachable",
                translation_placeholders={"lock": info.name, "error": err.reason},
            ) from err
        if ref not in reported:
            raise validation_error("slot_empty", lock=info.name, slot=str(slot))
        code = reported[ref]
        if code is None:
            raise validation_error("code_masked", lock=info.name, slot=str(slot))
        # Adopted codes follow the same rules, or the planner would drop them.
        spec = credential_kind(KeyKind.PASSCODE)
        taken = taken_secrets(runtime.site, KeyKind.PASSCODE, {lock_id})
        if reason := spec.validate(code, caps, taken):
            raise validation_error(reason, **spec.limits(caps))
        key = Key(
            id=uuid.uuid4().hex,
            keyholder_id=keyholder_id,
            kind=KeyKind.PASSCODE,
            lock_ids=frozenset({lock_id}),
            secret=code,
            name=name,
            serial=runtime.site.next_serial(),
        )
        runtime.site.put_grant(
            Grant(key_grant_id(key.id), keyholder_id, frozenset({lock_id}))
        )
        runtime.site.put_key(key)
        runtime.site.slots.setdefault(lock_id, {})[key.id] = slot
        written[ref] = code
    await runtime.async_apply_changes(
        {lock_id}, keys=[key.id], keyholders=[keyholder_id]
    )
    return key
