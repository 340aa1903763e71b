"""
Persistence of a site: keys, blocks, slots, usage and what each lock holds.

One private file per site (``.storage/keyholder.<entry_id>``). Keyholder details
live in config subentries; everything that changes at run time lives here.

A second private file, ``keyholder.<entry_id>.backup``, is a copy of what the
main file last held, written at most :data:`BACKUP_DELAY` seconds after it (and
at once when the site unloads or Home Assistant stops). So the two files are
never both freshly written when the power fails, and the copy lags by seconds,
not by a restart. A main file that cannot be read (not JSON, truncated, or JSON
of the wrong shape) is kept aside as ``<file>.corrupt.<time>`` and the site is
restored from the copy; see :meth:`KeyholderStore.async_load_checked`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
import glob
import os
from typing import Any

from homeassistant.core import DOMAIN as HOMEASSISTANT_DOMAIN, HomeAssistant
from homeassistant.exceptions import (
    HomeAssistantError,
    UnsupportedStorageVersionError,
)
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util

from .const import DOMAIN, LOGGER
from .engine.model import CredentialRef, Site
from .engine.serialize import (
    STORAGE_VERSION,
    KeyDicts,
    credentials_from_dict,
    credentials_to_dict,
    site_from_dict,
    site_to_dict,
)
from .store_file import KeyholderFile, remove_stray_copies

STORE_MINOR_VERSION = 1
BACKUP_DELAY = 10
"""Seconds the copy is written after the main file (one write per burst)."""

# What a damaged file's contents can make parsing raise (never logged: it may
# quote stored values).
_SHAPE_ERRORS = (AttributeError, KeyError, TypeError, ValueError)


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
    data: SiteData | None = None
    damaged: bool = False
    kept: str | None = None


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
    }


def _parse(raw: Any) -> SiteData:
    """Build the site's data from file contents; raise one of _SHAPE_ERRORS."""
    if not isinstance(raw, dict) or not isinstance(raw["site"], dict):
        raise TypeError("not a Keyholder site")
    return SiteData(
        site=site_from_dict(raw["site"]),
        written=credentials_from_dict(raw.get("written", {})),
        virtual=credentials_from_dict(raw.get("virtual", {})),
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
        # Small and written often: the writes a pass is about to make.
        self._pending = self._make(f"{DOMAIN}.{entry_id}.pending")
        self._entry_id = entry_id
        self.saved_site: dict[str, Any] = site_to_dict(Site())
        """The site as last written to (or read from) the main file."""
        # What the main file holds (None: unknown): a save of the same is skipped.
        self._on_disk: dict[str, Any] | None = None
        self._pending_on_disk: dict[str, dict[CredentialRef, str | None]] = {}
        self._key_dicts: KeyDicts = {}
        self._backup_payload: dict[str, Any] | None = None
        self._backup_pending = False

    def _make(self, key: str) -> KeyholderFile:
        return KeyholderFile(
            self._hass, key, version=STORAGE_VERSION, minor_version=STORE_MINOR_VERSION
        )

    async def async_load(self) -> SiteData:
        """Return the saved data (restored from the copy if need be)."""
        return (await self.async_load_checked()).data

    async def async_load_checked(self) -> LoadResult:
        """Return the saved data, with the writes left pending by a crash."""
        await self._hass.async_add_executor_job(self._remove_leftovers)
        result = await self._async_load_site()
        self.saved_site = (
            self._on_disk["site"]
            if self._on_disk is not None
            else site_to_dict(result.data.site)
        )
        try:
            raw = await self._pending.async_load()
            if raw is not None:
                result.data.pending = credentials_from_dict(raw["pending"])
                self._pending_on_disk = _copy(result.data.pending)
        except (HomeAssistantError, *_SHAPE_ERRORS) as err:
            # At worst a code written just before a crash shows as unmanaged.
            LOGGER.warning(
                "Unreadable list of pending writes (%s) ignored", type(err).__name__
            )
        return result

    async def async_save_pending(self, data: SiteData) -> None:
        """Write the writes about to be made to disk now (before they start)."""
        await self._pending.async_save_checked(
            {"pending": credentials_to_dict(data.pending)}
        )
        self._pending_on_disk = _copy(data.pending)

    async def _async_load_site(self) -> LoadResult:
        """
        Return the saved data and how it was obtained.

        No main file and no copy: a new site. An unreadable main file is kept
        aside and the copy, if usable, is loaded and saved as the main file.
        A file written by a newer Keyholder raises (nothing is renamed).
        """
        main = await self._async_read(self._store)
        if main.data is not None:
            self._on_disk = main.payload
            return LoadResult(main.data, LoadOutcome.LOADED)
        backup = await self._async_read(self._backup)
        kept = tuple(read.kept for read in (main, backup) if read.kept)
        if backup.data is not None and backup.payload is not None:
            saved_at = dt_util.parse_datetime(str(backup.payload.get("saved_at")))
            if saved_at is None:  # a copy not written by Keyholder
                saved_at = await self._hass.async_add_executor_job(
                    _modified, self._backup.path
                )
            await self._store.async_save(
                {k: v for k, v in backup.payload.items() if k != "saved_at"}
            )
            outcome = (
                LoadOutcome.RESTORED if main.damaged else LoadOutcome.RESTORED_MISSING
            )
            return LoadResult(backup.data, outcome, saved_at, kept)
        if main.damaged or backup.damaged:
            return LoadResult(SiteData(), LoadOutcome.LOST, kept=kept)
        return LoadResult(SiteData(), LoadOutcome.NEW)

    async def _async_read(self, store: KeyholderFile) -> _Read:
        """Read one file; a damaged one is moved aside (HA does so for bad JSON)."""
        path: str = store.path
        existed = await self._hass.async_add_executor_job(os.path.isfile, path)
        try:
            raw = await store.async_load()
            if raw is not None:
                return _Read(payload=raw, data=_parse(raw))
        except UnsupportedStorageVersionError:
            raise
        except _SHAPE_ERRORS as err:
            LOGGER.error(
                "%s does not hold Keyholder data as expected (%s)",
                path,
                type(err).__name__,
            )
        else:
            if not existed:
                return _Read()
        kept = await self._hass.async_add_executor_job(_keep_damaged, path)
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
        Write the data to disk now; the copy follows within BACKUP_DELAY.

        Data the main file holds already is not written again. Raises
        StoreWriteError when the file could not be written.
        """
        payload = _payload(data, self._key_dicts)
        written = payload != self._on_disk
        if written:  # what the file holds already is not written again
            self._on_disk = None  # until the write succeeds
            await self._store.async_save_checked(payload)
            self._on_disk = payload
        self.saved_site = payload["site"]
        if data.pending != self._pending_on_disk:
            # Only now that what was written is saved may the list shrink.
            await self.async_save_pending(data)
        if not written:
            return
        self._backup_payload = {**payload, "saved_at": dt_util.utcnow().isoformat()}
        if not self._backup_pending:
            # Throttled, not debounced: later saves only refresh what is written.
            self._backup_pending = True
            self._backup.async_delay_save(self._take_backup, BACKUP_DELAY)

    def _take_backup(self) -> dict[str, Any]:
        """Return the latest saved contents, when the delayed copy is written."""
        self._backup_pending = False
        assert self._backup_payload is not None
        return self._backup_payload

    async def async_flush_backup(self) -> None:
        """Write a pending copy now (the site unloads)."""
        if self._backup_pending and self._backup_payload is not None:
            self._backup_pending = False
            await self._backup.async_save(self._backup_payload)

    def _remove_leftovers(self) -> None:
        """Remove copies of the site's data that interrupted writes left."""
        for file in (self._store, self._backup, self._pending):
            file.remove_leftovers()
        remove_stray_copies(self._hass.config.config_dir, self._entry_id)

    async def async_remove(self) -> None:
        """Delete the site's files (when the site is removed)."""
        self._backup_pending = False
        await self._store.async_remove()
        await self._backup.async_remove()
        await self._pending.async_remove()
        await self._hass.async_add_executor_job(self._remove_leftovers)


def _copy(
    pending: dict[str, dict[CredentialRef, str | None]],
) -> dict[str, dict[CredentialRef, str | None]]:
    return {lock: dict(held) for lock, held in pending.items()}


def _modified(path: str) -> datetime | None:
    """Return when a file was last written (None if it is not on disk)."""
    try:
        return dt_util.utc_from_timestamp(os.path.getmtime(path))
    except OSError:
        return None


def _keep_damaged(path: str) -> str | None:
    """
    Return where a damaged file now is, moving it aside if it is still in place.

    Home Assistant renames a file it cannot parse to ``<path>.corrupt.<time>``;
    a file that parses but has the wrong shape is renamed here the same way.
    """
    if os.path.isfile(path):
        kept = f"{path}.corrupt.{dt_util.utcnow().isoformat()}"
        os.replace(path, kept)
        return kept
    found = sorted(glob.glob(f"{glob.escape(path)}.corrupt.*"))
    return found[-1] if found else None
