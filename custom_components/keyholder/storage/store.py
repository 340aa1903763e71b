"""
Persistence of a site: keys, blocks, slots, usage and what each lock holds.

One private file per site (``.storage/keyholder.<entry_id>``). Keyholder details
live in config subentries; everything that changes at run time lives here. A
large site's changes go to ``keyholder.<entry_id>.changes`` between whole
writes of the main file (see :mod:`.store_changes`).

A second private file, ``keyholder.<entry_id>.backup``, is a copy of what the
main file last held, written at most :data:`BACKUP_DELAY` seconds after it (and
at once when the site unloads or Home Assistant stops). So the two files are
never both freshly written when the power fails, and the copy lags by seconds,
not by a restart. A main file that cannot be read (not JSON, truncated, or JSON
of the wrong shape) is kept aside as ``<file>.corrupt.<time>`` and the site is
restored from the copy; see :meth:`KeyholderStore.async_load_checked`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, cast

from homeassistant.core import DOMAIN as HOMEASSISTANT_DOMAIN, HomeAssistant
from homeassistant.exceptions import (
    HomeAssistantError,
    UnsupportedStorageVersionError,
)
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util

from ..const import DOMAIN, LOGGER
from ..model.serialize import (
    STORAGE_VERSION,
    KeyDicts,
    credentials_from_dict,
    credentials_to_dict,
    site_from_dict,
    site_to_dict,
)
from ..model.site import Site
from ..model.values import CredentialRef
from .changes import apply_own_changes, check_changes
from .files import (
    KeyholderFile,
    file_size,
    keep_damaged,
    modified_at,
    remove_stray_copies,
)
from .writer import SiteWriter

STORE_MINOR_VERSION = 1
BACKUP_DELAY = 10
"""Seconds the copy is written after the main file (one write per burst)."""

# What a damaged file's contents can make parsing raise (never logged: it may
# quote stored values).
_SHAPE_ERRORS = (AttributeError, IndexError, KeyError, TypeError, ValueError)


@dataclass(slots=True)
class SiteData:
    """
    Everything Keyholder remembers about a site between restarts.

    ``written`` is Keyholder's record of the codes it wrote (lock id -> ref ->
    code): the credentials it manages and may clear. ``virtual`` holds what
    locks keep with the site: the virtual locks' memory and TTLocks' numbering
    (lock id -> ref -> code). ``targets`` remembers which physical lock each
    lock id drove, so a lock pointed elsewhere starts afresh. ``pending`` holds
    the writes Keyholder is about to make (lock id -> ref -> new code, None to
    clear), saved before they start: if Home Assistant dies mid-write, those
    credentials still count as Keyholder's whichever code they hold. On disk
    each is ``{lock id: {kind: {index: code}}}`` (store version 2; version 1
    was keyed by slot, all passcodes).
    What a pass wrote is saved with the next change; until then the writes of
    the last pass stay in ``pending`` on disk, which settles them just as well.
    ``bookings`` maps a booking calendar (its subentry id) -> event id -> the
    key that event's guest holds (absent from files written before bookings).
    """

    site: Site = field(default_factory=Site)
    written: dict[str, dict[CredentialRef, str]] = field(default_factory=dict)
    virtual: dict[str, dict[CredentialRef, str]] = field(default_factory=dict)
    targets: dict[str, str] = field(default_factory=dict)
    pending: dict[str, dict[CredentialRef, str | None]] = field(default_factory=dict)
    bookings: dict[str, dict[str, BookingRecord]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class BookingRecord:
    """The key of one calendar event's guest, and the event as last seen."""

    key_id: str
    summary: str
    start: datetime
    end: datetime
    notified: bool = False
    """Whether the passcode was sent (it is sent once)."""

    def to_dict(self) -> dict[str, Any]:
        """Return the record as stored (times in UTC, ISO 8601)."""
        return {
            "key_id": self.key_id,
            "summary": self.summary,
            "start": dt_util.as_utc(self.start).isoformat(),
            "end": dt_util.as_utc(self.end).isoformat(),
            "notified": self.notified,
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> BookingRecord:
        """Return a stored record (raise one of _SHAPE_ERRORS if malformed)."""
        return cls(
            key_id=str(raw["key_id"]),
            summary=str(raw["summary"]),
            start=_aware(raw["start"]),
            end=_aware(raw["end"]),
            notified=bool(raw.get("notified", False)),
        )


def _aware(value: Any) -> datetime:
    parsed = dt_util.parse_datetime(str(value), raise_on_error=True)
    if parsed.tzinfo is None:
        raise ValueError("naive time in a booking record")
    return dt_util.as_utc(parsed)


class LoadOutcome(StrEnum):
    """How a site's data came back at start."""

    LOADED = "loaded"
    NEW = "new"
    RESTORED = "restored"
    """The main file was unreadable; the copy was used."""
    RESTORED_MISSING = "restored_missing"
    """The main file was missing although a copy exists; the copy was used."""
    LOST = "lost"
    """Neither the main file nor the copy could be used: the site starts empty."""


@dataclass(frozen=True, slots=True)
class LoadResult:
    """The loaded data and what had to be done to get it."""

    data: SiteData
    outcome: LoadOutcome
    saved_at: datetime | None = None
    """When the restored copy was saved (restored outcomes)."""
    kept: tuple[str, ...] = ()
    """Where unreadable files were kept."""


@dataclass(frozen=True, slots=True)
class _Read:
    """One file read: its data, or whether it was damaged and where it was kept."""

    payload: dict[str, Any] | None = None
    data: Any = None
    damaged: bool = False
    kept: str | None = None
    size: int = 0


def store_issue_id(entry_id: str) -> str:
    """Return the id of the repair issue about a site's unreadable data."""
    return f"store_{entry_id}"


def _payload(data: SiteData, cache: KeyDicts) -> dict[str, Any]:
    """
    Return the file contents of a site (a snapshot: nothing shared with it).

    Unchanged keys reuse their dicts from ``cache`` (not to be modified).
    """
    return {
        "site": site_to_dict(data.site, cache),
        "written": credentials_to_dict(data.written),
        "virtual": credentials_to_dict(data.virtual),
        "targets": dict(data.targets),
        "bookings": {
            booking: {event: record.to_dict() for event, record in records.items()}
            for booking, records in data.bookings.items()
        },
        "pending": credentials_to_dict(data.pending),
    }


def _parse(raw: Any) -> SiteData:
    """Build the site's data from file contents; raise one of _SHAPE_ERRORS."""
    if not isinstance(raw, dict) or not isinstance(raw["site"], dict):
        raise TypeError("not a Keyholder site")
    return SiteData(
        site=site_from_dict(raw["site"]),
        written=credentials_from_dict(raw.get("written", {})),
        virtual=credentials_from_dict(raw.get("virtual", {})),
        pending=credentials_from_dict(raw.get("pending", {})),
        targets={
            str(lock): str(target) for lock, target in raw.get("targets", {}).items()
        },
        bookings={
            str(booking): {
                str(event): BookingRecord.from_dict(record)
                for event, record in records.items()
            }
            for booking, records in raw.get("bookings", {}).items()
        },
    )


class KeyholderStore:
    """Load and save one site's data, with a copy to fall back on."""

    def __init__(self, hass: HomeAssistant, entry_id: str) -> None:
        """Create the store of a config entry."""
        self._hass = hass
        self._store = self._make(f"{DOMAIN}.{entry_id}")
        self._backup = self._make(f"{DOMAIN}.{entry_id}.backup")
        self._changes = KeyholderFile(
            hass, f"{DOMAIN}.{entry_id}.changes", version=1, minor_version=1
        )
        # Where versions before the changes file kept the writes about to be
        # made (upgraded like the main file: version 1 was keyed by slot).
        self._old_pending = self._make(f"{DOMAIN}.{entry_id}.pending")
        self._entry_id = entry_id
        self._key_dicts: KeyDicts = {}
        self._writer = SiteWriter(
            hass,
            (self._store, self._changes, self._backup),
            lambda data: _payload(cast("SiteData", data), self._key_dicts),
            BACKUP_DELAY,
        )

    def _make(self, key: str) -> KeyholderFile:
        return KeyholderFile(
            self._hass, key, version=STORAGE_VERSION, minor_version=STORE_MINOR_VERSION
        )

    @property
    def saved_site(self) -> dict[str, Any]:
        """The site as the files hold it (what a failed save goes back to)."""
        return self._writer.saved_site

    async def async_load(self) -> SiteData:
        """Return the saved data (restored from the copy if need be)."""
        return (await self.async_load_checked()).data

    async def async_load_checked(self) -> LoadResult:
        """Return the saved data, with the writes left pending by a crash."""
        await self._hass.async_add_executor_job(self._remove_leftovers)
        result = await self._async_load_site()
        try:
            raw = await self._old_pending.async_load()
            if raw is not None:
                for lock, held in credentials_from_dict(raw["pending"]).items():
                    result.data.pending.setdefault(lock, {}).update(held)
                # The next save is whole, the pending writes in it; then the
                # old list goes.
                self._writer.records.forget()
                self._writer.after_whole = self._old_pending.async_remove
        except (HomeAssistantError, *_SHAPE_ERRORS) as err:
            # At worst a code written just before a crash shows as unmanaged.
            LOGGER.warning(
                "Unreadable list of pending writes (%s) ignored", type(err).__name__
            )
        return result

    async def _async_load_site(self) -> LoadResult:
        """
        Return the saved data and how it was obtained.

        No main file and no copy: a new site. An unreadable main file (or
        changes) is kept aside and the copy, if usable, is loaded and saved as
        the main file. A file written by a newer Keyholder raises (nothing is
        renamed).
        """
        changes = await self._async_read(self._changes, check_changes)
        applied: list[Any] = []

        def with_changes(raw: Any) -> Any:
            # Changes are in the format of the main file they follow: an older
            # one gets them before it is upgraded (and no longer names them).
            applied[:] = apply_own_changes(
                raw, changes.payload, damaged=changes.damaged
            )
            return raw

        def before_migration(raw: dict[str, Any]) -> dict[str, Any]:
            with_changes(raw)
            raw.pop("changes_id", None)
            return raw

        self._store.before_migration = before_migration
        main = await self._async_read(self._store, lambda r: _parse(with_changes(r)))
        if main.data is not None and main.payload is not None:
            self._writer.changes_id = main.payload.get("changes_id")
            self._writer.loaded(main.data, main.size, applied)
            return LoadResult(main.data, LoadOutcome.LOADED)
        backup = await self._async_read(self._backup)
        kept = tuple(read.kept for read in (main, changes, backup) if read.kept)
        if backup.data is not None and backup.payload is not None:
            saved_at = dt_util.parse_datetime(str(backup.payload.get("saved_at")))
            if saved_at is None:  # a copy not written by Keyholder
                saved_at = await self._hass.async_add_executor_job(
                    modified_at, self._backup.path
                )
            await self._store.async_save_checked(
                {k: v for k, v in backup.payload.items() if k != "saved_at"}
            )
            self._writer.loaded(backup.data, self._store.size, [])
            outcome = (
                LoadOutcome.RESTORED if main.damaged else LoadOutcome.RESTORED_MISSING
            )
            return LoadResult(backup.data, outcome, saved_at, kept)
        if main.damaged or backup.damaged:
            return LoadResult(SiteData(), LoadOutcome.LOST, kept=kept)
        return LoadResult(SiteData(), LoadOutcome.NEW)

    async def _async_read(
        self, store: KeyholderFile, parse: Callable[[Any], Any] = _parse
    ) -> _Read:
        """Read one file; a damaged one is moved aside (HA does so for bad JSON)."""
        path: str = store.path
        size = await self._hass.async_add_executor_job(file_size, path)
        try:
            raw = await store.async_load()
            if raw is not None:
                return _Read(payload=raw, data=parse(raw), size=size or 0)
        except UnsupportedStorageVersionError:
            raise
        except _SHAPE_ERRORS as err:
            LOGGER.error(
                "%s does not hold Keyholder data as expected (%s)",
                path,
                type(err).__name__,
            )
        else:
            if size is None:
                return _Read()
        kept = await self._hass.async_add_executor_job(keep_damaged, path)
        # Home Assistant's own issue about an unparsable file is superseded by
        # Keyholder's, which says what was restored and from when.
        registry = ir.async_get(self._hass)
        prefix = f"storage_corruption_{store.key}_"
        for domain, issue_id in list(registry.issues):
            if domain == HOMEASSISTANT_DOMAIN and issue_id.startswith(prefix):
                ir.async_delete_issue(self._hass, HOMEASSISTANT_DOMAIN, issue_id)
        return _Read(damaged=True, kept=kept or path)

    async def async_save(self, data: SiteData) -> None:
        """
        Write to disk now what changed; the copy follows within BACKUP_DELAY.

        A small site's main file is written whole, a large one's changes go to
        the changes file (see :mod:`.store_writer`). Raises StoreWriteError
        when the file could not be written.
        """
        await self._writer.async_save(data)

    async def async_flush_backup(self) -> None:
        """Write a pending copy now (the site unloads)."""
        await self._writer.async_flush_backup()

    def _remove_leftovers(self) -> None:
        """Remove copies of the site's data that interrupted writes left."""
        for file in (self._store, self._backup, self._changes, self._old_pending):
            file.remove_leftovers()
        remove_stray_copies(self._hass.config.config_dir, self._entry_id)

    async def async_remove(self) -> None:
        """Delete the site's files (when the site is removed)."""
        self._writer.stop_backup()
        for file in (self._store, self._backup, self._changes, self._old_pending):
            await file.async_remove()
        await self._hass.async_add_executor_job(self._remove_leftovers)
