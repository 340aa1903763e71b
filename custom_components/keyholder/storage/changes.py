"""
What a site's main file holds, record by record, and the changes written since.

A large site is not written whole for every change: the main file would grow
with the site and so would every action's cost. Its records (keyholders, keys,
memberships, grants, each lock's slots, codes written, memory and pending
writes, targets, booking guests) are compared with what was last written; only
those that differ are written, as *changes*, to ``<main>.changes``, which names
the main file it applies to. When the changes outgrow a share of the main file,
it is written whole again. A small site is always written whole.

Changes are set or delete operations on records, addressed by a section's path
and the record's id: ``["set", ["site", "keys"], "<key id>", {...}]``. They are
applied to the main file's contents as read, whatever its format version (a
section that is a list holds records with an ``"id"``), before anything else
reads it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
import math
from operator import attrgetter
from typing import Any, Protocol

from ..model import serialize
from ..model.serialize import STORAGE_VERSION
from ..model.site import Site
from ..model.values import CredentialRef


class SiteData(Protocol):
    """What a site's files hold (:class:`.store.SiteData`)."""

    site: Site
    written: dict[str, dict[CredentialRef, str]]
    virtual: dict[str, dict[CredentialRef, str]]
    targets: dict[str, str]
    pending: dict[str, dict[CredentialRef, str | None]]
    bookings: dict[str, Any]


type Change = list[Any]
"""``["set", path, record id, value]`` or ``["del", path, record id]``."""

CHANGES_MIN = 16 * 1024
"""The changes may always grow to this size (bytes) before the main file is rewritten."""
CHANGE_SIZE = 1024
"""A typical change's size (bytes), which sets how far the changes may grow."""


def changes_limit(main_size: int) -> int:
    """
    Return how large the changes may grow before the main file is written whole.

    Each write of the changes costs their size, and the main file is written
    whole once per ``limit / CHANGE_SIZE`` changes: the square root of twice the
    main file's size times a change's keeps the bytes written per change lowest
    (they grow as that square root, not with the site).
    """
    return max(CHANGES_MIN, math.isqrt(2 * main_size * CHANGE_SIZE))


@dataclass(frozen=True, slots=True)
class _Section:
    """One kind of record: where it lives in the file and how it is written."""

    path: tuple[str, ...]
    records: Callable[[SiteData], Mapping[Any, Any]]
    """The section's records now: record id -> value (a model object or data)."""
    to_json: Callable[[Any], Any] = lambda value: value
    immutable: bool = False
    """Records are immutable model objects: an unchanged one is the same object."""
    is_list: bool = False
    """The file holds the section as a list of records sorted by id."""
    grouped: bool = False
    """Records come in groups (per lock, per calendar): group -> id -> value."""
    key_path: Callable[[Any], tuple[str, str]] | None = None
    """For grouped records kept one level deeper in the file (a lock's
    credentials by kind): a record's key -> (its sub-section, its id)."""


def _credential_path(ref: CredentialRef) -> tuple[str, str]:
    """Where a lock's record of one credential is: ``{kind: {index: ...}}``."""
    return ref.kind.value, str(ref.index)


SECTIONS = (
    *(
        _Section(
            ("site", name),
            attrgetter(f"site.{name}"),
            to_dict,
            immutable=True,
            is_list=True,
        )
        for name, to_dict in (
            ("keyholders", serialize.keyholder_to_dict),
            ("keys", serialize.key_to_dict),
            ("memberships", serialize.membership_to_dict),
            ("grants", serialize.grant_to_dict),
        )
    ),
    _Section(("site", "slots"), lambda data: data.site.slots, grouped=True),
    *(
        _Section((name,), attrgetter(name), grouped=True, key_path=_credential_path)
        for name in ("written", "virtual", "pending")
    ),
    _Section(("targets",), lambda data: data.targets),
    _Section(
        ("bookings",),
        lambda data: data.bookings,
        lambda record: record.to_dict(),
        grouped=True,
    ),
)

type _Held = dict[str, tuple[Any, Any]]
"""Record id (as written) -> (value, its JSON)."""


class SiteRecords:
    """
    The records as last written (main file and changes), to tell what changed.

    Each is kept as (value, its JSON); grouped records per group, with a copy of
    the group as it was (the site changes those dicts in place), so that an
    unchanged group costs one comparison.
    """

    def __init__(self) -> None:
        """Start knowing nothing of what the files hold."""
        self.known = False
        """False until the files' records are known (everything then differs)."""
        self._held: dict[tuple[str, ...], _Held] = {}
        self._groups: dict[tuple[str, ...], dict[str, tuple[dict[Any, Any], _Held]]]
        # Keys and keyholders put or removed since the last write (None: any)
        self._unsettled: set[str] | None = None
        self.forget()

    def forget(self) -> None:
        """Know nothing of what the files hold (the next write is whole)."""
        self.known = False
        self._held = {s.path: {} for s in SECTIONS if not s.grouped}
        self._groups = {s.path: {} for s in SECTIONS if s.grouped}
        self._unsettled = None

    def diff(self, data: SiteData) -> tuple[list[Change], list[Any]]:
        """
        Return the changes from what was written to ``data``, and their records.

        Changes nothing here: the second list is for :meth:`accept`, once the
        changes are written.
        """
        changes: list[Change] = []
        accepted: list[Any] = []
        # Keys and keyholders are looked at only where the site says they were
        # put or removed (all of them when it cannot say).
        changed = data.site.take_changed()
        if changed is None or self._unsettled is None:
            self._unsettled = None
        else:
            self._unsettled |= changed
        for section in SECTIONS:
            records = section.records(data)
            if not section.grouped:
                held = self._held[section.path]
                ids = self._unsettled if section.immutable else None
                updates = (
                    _diff(section, section.path, records, held, changes)
                    if ids is None
                    else _diff_some(section, records, held, ids, changes)
                )
                accepted.extend(
                    (section.path, record_id, record)
                    for record_id, record in updates.items()
                )
                continue
            groups = self._groups[section.path]
            seen = 0
            for group, group_records in records.items():
                old = groups.get(group)
                if old is not None:
                    seen += 1
                    if old[0] == group_records:
                        continue
                held = dict(old[1]) if old is not None else {}
                path = (*section.path, group)
                for record_id, record in _diff(
                    section, path, group_records, held, changes
                ).items():
                    if record is None:
                        del held[record_id]
                    else:
                        held[record_id] = record
                accepted.append((section.path, group, (dict(group_records), held)))
            if seen < len(groups):  # some groups are gone
                for group in groups.keys() - records.keys():
                    changes.append(["del", list(section.path), group])
                    accepted.append((section.path, group, None))
        return changes, accepted

    def accept(self, accepted: Iterable[Any], *, known: bool = False) -> None:
        """Take records as written (``known``: the files now hold exactly these)."""
        self.known |= known
        if known:
            self._unsettled = set()
        for path, record_id, record in accepted:
            held: dict[str, Any] = (
                self._held[path] if path in self._held else self._groups[path]
            )
            if record is None:
                held.pop(record_id, None)
            else:
                held[record_id] = record

    def payload(self) -> dict[str, Any]:
        """Return the whole file as last written (without its changes' name)."""
        payload: dict[str, Any] = {"site": {"version": STORAGE_VERSION}}
        for section in SECTIONS:
            *parents, name = section.path
            container = payload
            for part in parents:
                container = container.setdefault(part, {})
            if section.grouped:
                container[name] = {
                    group: _nested(section, held)
                    for group, (_, held) in sorted(self._groups[section.path].items())
                }
                continue
            held = self._held[section.path]
            if section.is_list:
                container[name] = [held[key][1] for key in sorted(held)]
            else:
                container[name] = {key: held[key][1] for key in sorted(held)}
        return payload


def _diff_some(
    section: _Section,
    records: Mapping[str, Any],
    held: _Held,
    ids: set[str],
    changes: list[Change],
) -> dict[str, tuple[Any, Any] | None]:
    """Like :func:`_diff`, looking only at the (immutable) records ``ids``."""
    updates: dict[str, tuple[Any, Any] | None] = {}
    for record_id in ids:
        value, old = records.get(record_id), held.get(record_id)
        if value is None:
            if old is not None:
                changes.append(["del", list(section.path), record_id])
                updates[record_id] = None
        elif old is None or old[0] is not value:
            as_json = section.to_json(value)
            changes.append(["set", list(section.path), record_id, as_json])
            updates[record_id] = (value, as_json)
    return updates


def _diff(
    section: _Section,
    path: tuple[str, ...],
    records: Mapping[Any, Any],
    held: _Held,
    changes: list[Change],
) -> dict[str, tuple[Any, Any] | None]:
    """
    Add the changes from ``held`` to ``records`` to ``changes``.

    Returns record id -> (value, its JSON), None for a record gone.
    """
    updates: dict[str, tuple[Any, Any] | None] = {}
    seen = 0
    for key, value in records.items():
        record_id = _record_id(section, key)
        old = held.get(record_id)
        if old is not None:
            seen += 1
            if old[0] is value or (not section.immutable and old[0] == value):
                continue
        as_json = section.to_json(value)
        changes.append(["set", *_address(section, path, record_id), as_json])
        updates[record_id] = (value, as_json)
    if seen < len(held):  # some records are gone
        current = {_record_id(section, key) for key in records}
        for record_id in held.keys() - current:
            changes.append(["del", *_address(section, path, record_id)])
            updates[record_id] = None
    return updates


def _record_id(section: _Section, key: Any) -> str:
    """Return how a record is known among those last written (a string)."""
    if section.key_path is not None:
        return "/".join(section.key_path(key))
    return key if isinstance(key, str) else str(key)


def _address(
    section: _Section, path: tuple[str, ...], record_id: str
) -> tuple[list[str], str]:
    """Return a change's path and record id in the file for a record."""
    if section.key_path is None:
        return list(path), record_id
    sub, leaf = record_id.split("/", 1)
    return [*path, sub], leaf


def _nested(section: _Section, held: _Held) -> dict[str, Any]:
    """Return one group's records as the file holds them."""
    if section.key_path is None:
        return {key: held[key][1] for key in sorted(held)}
    out: dict[str, dict[str, Any]] = {}
    for record_id in sorted(held):
        sub, leaf = record_id.split("/", 1)
        out.setdefault(sub, {})[leaf] = held[record_id][1]
    return out


def apply_changes(payload: dict[str, Any], changes: Iterable[Change]) -> None:
    """
    Apply written changes, in order, to a main file's contents (in place).

    A section that is a list holds records with an ``"id"``; a missing section
    is created as a dict. Raises one of ``(KeyError, TypeError, ValueError,
    IndexError)`` for changes of the wrong shape.
    """
    # id of a list section -> (the list, record id -> position)
    lists: dict[int, tuple[list[Any], dict[str, int]]] = {}
    for change in changes:
        kind, path, record_id = change[0], change[1], change[2]
        container: Any = payload
        for part in path:
            container = container.setdefault(part, {})
        if isinstance(container, list):
            if (found := lists.get(id(container))) is None:
                found = lists[id(container)] = (container, _positions(container))
            _apply_to_list(*found, kind, record_id, change)
        elif kind == "set":
            container[record_id] = change[3]
        elif kind == "del":
            container.pop(record_id, None)
        else:
            raise ValueError("unknown change")
    for records, _ in lists.values():  # deleted records were left as None
        records[:] = [record for record in records if record is not None]


def _positions(records: list[Any]) -> dict[str, int]:
    return {record["id"]: index for index, record in enumerate(records)}


def _apply_to_list(
    records: list[Any],
    where: dict[str, int],
    kind: str,
    record_id: str,
    change: Change,
) -> None:
    if kind == "set":
        if (index := where.get(record_id)) is None:
            where[record_id] = len(records)
            records.append(change[3])
        else:
            records[index] = change[3]
    elif kind == "del":
        if (index := where.pop(record_id, None)) is not None:
            records[index] = None
    else:
        raise ValueError("unknown change")


def check_changes(raw: Any) -> dict[str, Any]:
    """Return a changes file's contents; raise TypeError if they are not changes."""
    if not isinstance(raw["base"], str) or not isinstance(raw["changes"], list):
        raise TypeError("not the changes of a Keyholder site")
    return dict(raw)


def apply_own_changes(
    raw: Any, stored: dict[str, Any] | None, *, damaged: bool
) -> list[Change]:
    """
    Apply the changes ``stored`` to the main file ``raw`` if they are its own.

    Returns the changes applied. Raises ValueError when the main file names
    changes that are damaged (the main file is then as good as damaged).
    """
    changes_id = raw.get("changes_id") if isinstance(raw, dict) else None
    if changes_id is None:
        return []
    if damaged:
        raise ValueError("the changes of the main file are damaged")
    if stored is None or stored["base"] != changes_id:
        return []
    applied: list[Change] = stored["changes"]
    apply_changes(raw, applied)
    return applied
