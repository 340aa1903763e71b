"""
JSON-compatible (de)serialisation of a site, with versioned migrations.

Datetimes are stored as ISO 8601 strings in UTC, dates and times as ISO strings,
frozensets as sorted lists. What a lock holds is kept per credential:
``{lock id: {kind: {index: value}}}`` (:func:`credentials_to_dict`).

A stored document is what one of a site's files holds: the site (which carries
its own ``"version"``) and the per-lock records (``written``, ``virtual``,
``pending``...). Older documents are upgraded one step at a time through
:data:`MIGRATIONS` before loading.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time
from typing import Any

from .access import grant_for_key
from .access_index import AccessIndex
from .site import Site
from .values import (
    CredentialRef,
    Grant,
    Key,
    Keyholder,
    KeyKind,
    Membership,
    Role,
    Schedule,
    Window,
)

STORAGE_VERSION = 3
"""The version :func:`site_to_dict` writes (and of the files holding it)."""

CREDENTIAL_RECORDS = ("written", "virtual", "pending")
"""The per-lock records of a stored document keyed by credential (from version 2)."""


def _v1_slots_to_credentials(document: dict[str, Any]) -> dict[str, Any]:
    """
    Version 1 -> 2: per-lock records keyed by slot become keyed by credential.

    Version 1 knew passcodes only, so every slot is a passcode index:
    ``{"lock": {"3": "1234"}}`` becomes ``{"lock": {"passcode": {"3": "1234"}}}``
    (a lock with nothing recorded stays ``{}``). The site's own shape is
    unchanged (``slots`` maps lock -> key -> index; each key has one kind).
    """
    out = dict(document)
    for name in CREDENTIAL_RECORDS:
        records = document.get(name)
        if records is None:
            continue
        out[name] = {
            lock_id: {KeyKind.PASSCODE.value: dict(slots)} if slots else {}
            for lock_id, slots in records.items()
        }
    if (site := document.get("site")) is not None:
        out["site"] = {**site, "version": 2}
    return out


def _v2_keys_to_access(document: dict[str, Any]) -> dict[str, Any]:
    """
    Version 2 -> 3: every key becomes personal access plus the same key.

    A version-2 key listed its locks and schedule itself. Its keyholder gets
    personal access to exactly those (a grant named after the key) and the key
    keeps them as its limits: it opens what it opened, in the same slot, and
    nothing is written to or cleared from any lock.
    """
    out = dict(document)
    if (site := document.get("site")) is not None:
        grants = [
            grant_to_dict(grant_for_key(key, key_grant_id(key.id)))
            for key in map(key_from_dict, site.get("keys", ()))
        ]
        out["site"] = {**site, "grants": grants, "version": 3}
    return out


type MigrationStep = Callable[[dict[str, Any]], dict[str, Any]]

MIGRATIONS: dict[int, MigrationStep] = {
    1: _v1_slots_to_credentials,
    2: _v2_keys_to_access,
}
"""
Step functions: ``MIGRATIONS[n]`` turns a version-n stored document into n+1.

A step returns a new document (the caller's is not modified) and brings the
site's own ``"version"`` along when the document holds a site.
"""


def _dt_out(value: datetime | None) -> str | None:
    """Serialise an aware datetime as an ISO string in UTC."""
    return None if value is None else value.astimezone(UTC).isoformat()


def _dt_in(value: str | None) -> datetime | None:
    """Parse an ISO datetime string (assumed UTC when it has no offset)."""
    if value is None:
        return None
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def _window_to_dict(window: Window) -> dict[str, Any]:
    """Serialise a window."""
    return {
        "days": sorted(window.days),
        "start": window.start.isoformat(),
        "end": window.end.isoformat(),
    }


def _window_from_dict(data: dict[str, Any]) -> Window:
    """Deserialise a window."""
    return Window(
        days=frozenset(int(day) for day in data["days"]),
        start=time.fromisoformat(data["start"]),
        end=time.fromisoformat(data["end"]),
    )


def schedule_to_dict(schedule: Schedule) -> dict[str, Any]:
    """Serialise a schedule."""
    return {
        "windows": [_window_to_dict(window) for window in schedule.windows],
        "valid_from": _dt_out(schedule.valid_from),
        "valid_until": _dt_out(schedule.valid_until),
    }


def schedule_from_dict(data: dict[str, Any]) -> Schedule:
    """Deserialise a schedule."""
    return Schedule(
        windows=tuple(_window_from_dict(window) for window in data.get("windows", ())),
        valid_from=_dt_in(data.get("valid_from")),
        valid_until=_dt_in(data.get("valid_until")),
    )


def keyholder_to_dict(keyholder: Keyholder) -> dict[str, Any]:
    """Serialise a keyholder."""
    return {
        "id": keyholder.id,
        "given_name": keyholder.given_name,
        "family_name": keyholder.family_name,
        "email": keyholder.email,
        "role": keyholder.role.value,
        "active_from": _dt_out(keyholder.active_from),
        "expires_on": (
            None if keyholder.expires_on is None else keyholder.expires_on.isoformat()
        ),
        "blocked": keyholder.blocked,
    }


def keyholder_from_dict(data: dict[str, Any]) -> Keyholder:
    """Deserialise a keyholder."""
    expires_on = data.get("expires_on")
    return Keyholder(
        id=data["id"],
        given_name=data["given_name"],
        family_name=data.get("family_name", ""),
        email=data.get("email"),
        role=Role(data.get("role", Role.KEYHOLDER)),
        active_from=_dt_in(data.get("active_from")),
        expires_on=None if expires_on is None else date.fromisoformat(expires_on),
        blocked=bool(data.get("blocked", False)),
    )


def key_grant_id(key_id: str) -> str:
    """Return the id of the personal access given with a key (``issue_key``)."""
    return f"{key_id}.access"


def membership_to_dict(membership: Membership) -> dict[str, Any]:
    """Serialise a membership."""
    return {
        "id": membership.id,
        "group_id": membership.group_id,
        "keyholder_id": membership.keyholder_id,
        "schedule": schedule_to_dict(membership.schedule),
    }


def membership_from_dict(data: dict[str, Any]) -> Membership:
    """Deserialise a membership."""
    return Membership(
        group_id=data["group_id"],
        keyholder_id=data["keyholder_id"],
        schedule=schedule_from_dict(data.get("schedule", {})),
    )


def grant_to_dict(grant: Grant) -> dict[str, Any]:
    """Serialise personal access."""
    return {
        "id": grant.id,
        "keyholder_id": grant.keyholder_id,
        "lock_ids": sorted(grant.lock_ids),
        "schedule": schedule_to_dict(grant.schedule),
    }


def grant_from_dict(data: dict[str, Any]) -> Grant:
    """Deserialise personal access."""
    return Grant(
        id=data["id"],
        keyholder_id=data["keyholder_id"],
        lock_ids=frozenset(data.get("lock_ids", ())),
        schedule=schedule_from_dict(data.get("schedule", {})),
    )


def key_to_dict(key: Key) -> dict[str, Any]:
    """Serialise a key (including its secret: store it privately)."""
    return {
        "id": key.id,
        "keyholder_id": key.keyholder_id,
        "kind": key.kind.value,
        "lock_ids": None if key.lock_ids is None else sorted(key.lock_ids),
        "schedule": schedule_to_dict(key.schedule),
        "secret": key.secret,
        "max_uses": key.max_uses,
        "uses": key.uses,
        "cancelled": key.cancelled,
        "name": key.name,
        "serial": key.serial,
    }


def key_from_dict(data: dict[str, Any]) -> Key:
    """Deserialise a key."""
    return Key(
        id=data["id"],
        keyholder_id=data["keyholder_id"],
        kind=KeyKind(data["kind"]),
        lock_ids=None if (locks := data.get("lock_ids")) is None else frozenset(locks),
        schedule=schedule_from_dict(data.get("schedule", {})),
        secret=data.get("secret"),
        max_uses=data.get("max_uses"),
        uses=int(data.get("uses", 0)),
        cancelled=bool(data.get("cancelled", False)),
        name=data.get("name", ""),
        serial=int(data.get("serial", 0)),
    )


type KeyDicts = dict[tuple[str, str], tuple[object, dict[str, Any]]]
"""
(kind, id) -> (the keyholder or key, its dict): what :func:`site_to_dict`
serialised last.
"""


def _serialised[T](
    kind: str,
    items: dict[str, T],
    to_dict: Callable[[T], dict[str, Any]],
    cache: KeyDicts | None,
    seen: KeyDicts,
) -> list[dict[str, Any]]:
    """Serialise items sorted by id, reusing the dicts of unchanged ones."""
    out: list[dict[str, Any]] = []
    for item_id, item in sorted(items.items()):
        hit = cache.get((kind, item_id)) if cache is not None else None
        if hit is None or hit[0] is not item:
            hit = (item, to_dict(item))
        seen[kind, item_id] = hit
        out.append(hit[1])
    return out


def site_to_dict(site: Site, cache: KeyDicts | None = None) -> dict[str, Any]:
    """
    Serialise a site into a JSON-compatible dict (with ``version``).

    With a ``cache`` (kept by the caller between calls), a keyholder or key
    that is the very object serialised last time gets the same dict again, so
    a large site costs what changed. Such dicts are shared: never modify them.
    """
    seen: KeyDicts = {}
    keyholders = _serialised(
        "keyholder", site.keyholders, keyholder_to_dict, cache, seen
    )
    keys = _serialised("key", site.keys, key_to_dict, cache, seen)
    memberships = _serialised(
        "membership", site.memberships, membership_to_dict, cache, seen
    )
    grants = _serialised("grant", site.grants, grant_to_dict, cache, seen)
    if cache is not None:
        cache.clear()
        cache.update(seen)
    return {
        "version": STORAGE_VERSION,
        "keyholders": keyholders,
        "keys": keys,
        "memberships": memberships,
        "grants": grants,
        "slots": {
            lock_id: dict(sorted(lock_slots.items()))
            for lock_id, lock_slots in sorted(site.slots.items())
        },
    }


def credentials_to_dict[V: str | None](
    records: dict[str, dict[CredentialRef, V]],
) -> dict[str, dict[str, dict[str, V]]]:
    """Serialise lock id -> ref -> value as ``{lock: {kind: {index: value}}}``."""
    out: dict[str, dict[str, dict[str, V]]] = {}
    for lock_id, held in records.items():
        by_kind: dict[str, dict[str, V]] = {}
        for ref, value in sorted(held.items()):
            by_kind.setdefault(ref.kind.value, {})[str(ref.index)] = value
        out[lock_id] = by_kind
    return out


def credentials_from_dict[V: str | None](
    data: dict[str, dict[str, dict[str, V]]],
) -> dict[str, dict[CredentialRef, V]]:
    """
    Deserialise what :func:`credentials_to_dict` wrote.

    Raises ValueError for an unknown kind or an index that is not a number,
    AttributeError or TypeError for another shape.
    """
    return {
        str(lock_id): {
            CredentialRef(KeyKind(kind), int(index)): value
            for kind, held in by_kind.items()
            for index, value in held.items()
        }
        for lock_id, by_kind in data.items()
    }


def migrate(document: dict[str, Any], from_version: int) -> dict[str, Any]:
    """
    Upgrade a stored document from ``from_version`` to :data:`STORAGE_VERSION`.

    Returns a new document. Raises ValueError for a version newer than this
    code or without a step.
    """
    if from_version > STORAGE_VERSION:
        raise ValueError(f"stored version {from_version} is newer than supported")
    version = from_version
    while version < STORAGE_VERSION:
        step = MIGRATIONS.get(version)
        if step is None:
            raise ValueError(f"no migration from storage version {version}")
        document = step(document)
        version += 1
    return document


def site_from_dict(data: dict[str, Any]) -> Site:
    """Deserialise a site, migrating one of an older version first."""
    version = int(data.get("version", STORAGE_VERSION))
    if version != STORAGE_VERSION:
        data = migrate({"site": data}, version)["site"]
    keyholders = [keyholder_from_dict(item) for item in data.get("keyholders", ())]
    keys = [key_from_dict(item) for item in data.get("keys", ())]
    memberships = [membership_from_dict(i) for i in data.get("memberships", ())]
    grants = [grant_from_dict(item) for item in data.get("grants", ())]
    return Site(
        keyholders={holder.id: holder for holder in keyholders},
        keys={key.id: key for key in keys},
        access=AccessIndex(
            memberships={item.id: item for item in memberships},
            grants={item.id: item for item in grants},
        ),
        slots={
            lock_id: {key_id: int(slot) for key_id, slot in lock_slots.items()}
            for lock_id, lock_slots in data.get("slots", {}).items()
        },
    )
