"""
One of Keyholder's private files: written so that no copy is left behind.

Home Assistant's atomic writer puts each save into a randomly named
``.storage/tmp*`` file first; a crash mid-save leaves that file (with every
passcode of the site) behind for good, under a name nobody can tie to
Keyholder. Keyholder's files are written through ``<file>.tmp`` instead, a name
of its own that is removed when the file is next loaded or removed. Write
errors, which Home Assistant only logs, are raised here: an action must not
answer success for a change that is not on disk.
"""

from __future__ import annotations

from collections.abc import Callable
import contextlib
from datetime import datetime
import glob
import json
import os
from pathlib import Path
from typing import Any, override

from homeassistant.core import HomeAssistant
from homeassistant.helpers.storage import STORAGE_DIR, Store
from homeassistant.util import dt as dt_util
from homeassistant.util.file import WriteError

from ..const import DOMAIN, LOGGER
from ..model.serialize import migrate

TMP_SUFFIX = ".tmp"
_HEAD_BYTES = 512
"""How much of a temporary file tells whose data it holds."""


class StoreWriteError(Exception):
    """A private file could not be written; the error's type is in ``reason``."""

    def __init__(self, reason: str) -> None:
        """Store the type name of the underlying error (never its message)."""
        super().__init__(reason)
        self.reason = reason


class KeyholderFile(Store[dict[str, Any]]):
    """A private Store that raises write errors and leaves no stray copies."""

    def __init__(
        self, hass: HomeAssistant, key: str, *, version: int, minor_version: int
    ) -> None:
        """Create the file ``.storage/<key>``."""
        super().__init__(
            hass,
            version,
            key,
            private=True,
            atomic_writes=True,
            minor_version=minor_version,
        )
        self.write_error: str | None = None
        self.size = 0
        """The size of the file as last written by this object (bytes)."""
        self.before_migration: Callable[[dict[str, Any]], dict[str, Any]] | None = None
        """What to do with an older file's contents before they are upgraded."""

    @override
    async def _async_migrate_func(
        self,
        old_major_version: int,
        old_minor_version: int,
        old_data: dict[str, Any],
    ) -> dict[str, Any]:
        """
        Upgrade a file of an older Keyholder (Home Assistant saves the result).

        The main file and its copy hold the site and the per-lock records, the
        list of pending writes of older versions only its records; :func:`migrate`
        upgrades whichever parts a file has. A main file's own changes are
        applied first (``before_migration``): they are in its format. Minor
        versions need no step yet.
        """
        if self.before_migration is not None:
            old_data = self.before_migration(old_data)
        return migrate(old_data, old_major_version)

    async def async_save_checked(self, data: dict[str, Any]) -> None:
        """Write ``data`` now; raise StoreWriteError when it did not reach the disk."""
        self.write_error = None
        try:
            await self.async_save(data)
        except Exception as err:  # what Home Assistant does not catch itself
            raise StoreWriteError(type(err).__name__) from err
        if self.write_error is not None:
            raise StoreWriteError(self.write_error)

    @override
    async def _async_write_data(self, data: dict[str, Any]) -> None:
        # Home Assistant catches and logs what this raises; remember it so that
        # async_save_checked can tell its caller.
        try:
            await super()._async_write_data(data)
        except Exception as err:
            # Named by its cause: an OSError wrapped in Home Assistant's WriteError.
            self.write_error = type(err.__cause__ or err).__name__
            raise

    @override
    def _write_prepared_data(self, mode: str, json_data: str | bytes) -> None:
        """Write through ``<file>.tmp`` (private), then move it into place."""
        path, tmp = Path(self.path), self._tmp_path
        path.parent.mkdir(parents=True, exist_ok=True)
        raw = json_data.encode() if isinstance(json_data, str) else json_data
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                view = memoryview(raw)
                while view:
                    view = view[os.write(fd, view) :]
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, path)
            self.size = len(raw)
        except OSError as err:
            with contextlib.suppress(OSError):
                tmp.unlink()
            # As Home Assistant's own writer does: it handles WriteError (logs
            # it), also for the delayed writes of the backup copy.
            raise WriteError(err) from err
        _fsync_dir(path.parent)

    @property
    def _tmp_path(self) -> Path:
        return Path(self.path + TMP_SUFFIX)

    def remove_leftovers(self) -> None:
        """Remove this file's temporary copy left by an interrupted write."""
        with contextlib.suppress(FileNotFoundError):
            self._tmp_path.unlink()
            LOGGER.debug("Removed an interrupted write of %s", self.key)


def _fsync_dir(directory: Path) -> None:
    """Make a rename durable (where the platform allows it)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def remove_stray_copies(config_dir: str, entry_id: str) -> int:
    """
    Remove Home Assistant temporary files that hold this site's data.

    Earlier versions of Keyholder wrote through Home Assistant's atomic
    writer, which leaves ``.storage/tmp*`` behind when killed mid-save. Only
    files whose JSON names one of this site's files (``"key":
    "keyholder.<entry_id>..."``) are removed; they are read only as far as that.
    Returns how many were removed.
    """
    storage = Path(config_dir, STORAGE_DIR)
    prefix = f"{DOMAIN}.{entry_id}"
    removed = 0
    try:
        candidates = [p for p in storage.iterdir() if p.name.startswith("tmp")]
    except OSError:
        return 0
    for candidate in candidates:
        if _names_store(candidate, prefix):
            with contextlib.suppress(OSError):
                candidate.unlink()
                removed += 1
    if removed:
        LOGGER.info("Removed %d copies of Keyholder's data left by a crash", removed)
    return removed


def _names_store(path: Path, prefix: str) -> bool:
    """Return True when the file at ``path`` is a save of a file ``prefix*``."""
    try:
        with path.open("rb") as handle:
            head = handle.read(_HEAD_BYTES)
    except OSError:
        return False
    # Home Assistant writes "version", "minor_version", then "key".
    marker = b'"key":'
    at = head.find(marker)
    if at < 0:
        return False
    rest = head[at + len(marker) :].lstrip()
    end = rest.find(b'"', 1)
    if not rest.startswith(b'"') or end < 0:
        return False
    try:
        key = json.loads(rest[: end + 1])
    except ValueError:
        return False
    return isinstance(key, str) and (key == prefix or key.startswith(prefix + "."))


def file_size(path: str) -> int | None:
    """Return a file's size (None if it is not on disk)."""
    try:
        return os.path.getsize(path)
    except OSError:
        return None


def modified_at(path: str) -> datetime | None:
    """Return when a file was last written (None if it is not on disk)."""
    try:
        return dt_util.utc_from_timestamp(os.path.getmtime(path))
    except OSError:
        return None


def keep_damaged(path: str) -> str | None:
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
