"""
What a TTLock says and keeps, in the terms of the ``ttlock-ble`` library.

Pure helpers of the TTLock provider (:mod:`.ttlock`): the error bytes the lock
answers with and the :class:`ProviderError` each means, the lock's clock
(local wall-clock time without a zone, two-digit years) and the window a
passcode is kept with. Also keeps the library's debug dumps of decrypted
replies, which hold passcodes, out of the log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
import logging
import re
from typing import Final

from homeassistant.util import dt as dt_util
from ttlock_ble import KeyboardPwdType, TTLockError

from . import ProviderError, Validity

# Error bytes the lock answers a passcode command with (TTLock's SDK names them).
_PASSCODE_LENGTH_INVALID: Final = 0x0F
_PASSCODE_EXISTS: Final = 0x14
PASSCODE_NOT_FOUND: Final = 0x15
_NO_FREE_MEMORY: Final = 0x16
# The library puts the error byte in its message only ("... error=16").
_ERROR_BYTE = re.compile(r"error=([0-9a-f]{2})")
# The firmware keeps dates from 2000 to 2099 (two-digit years).
_LAST_DATE = datetime(2099, 12, 31, 23, 59)  # noqa: DTZ001 - the lock's own wall clock


class _NoPlaintext(logging.Filter):
    """Drop the library's debug dumps of decrypted replies (they hold passcodes)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "plaintext" not in str(record.msg)


logging.getLogger("ttlock_ble.client").addFilter(_NoPlaintext())


def error_byte(err: TTLockError) -> int | None:
    """Return the error byte the lock answered with, if the error names one."""
    match = _ERROR_BYTE.search(str(err))
    return int(match.group(1), 16) if match else None


def lock_time(instant: datetime) -> datetime:
    """Return ``instant`` on the lock's clock (Home Assistant's local time, naive)."""
    return min(dt_util.as_local(instant).replace(tzinfo=None), _LAST_DATE)


def lock_date(instant: datetime) -> str:
    """Return a time on the lock's clock as the lock's commands take it."""
    return instant.strftime("%y%m%d%H%M")


@dataclass(frozen=True, slots=True)
class Held:
    """A passcode on the lock, with its window on the lock's clock (to the minute)."""

    pwd_type: KeyboardPwdType
    start: datetime | None
    end: datetime | None


def wanted(valid: Validity | None) -> Held:
    """Return how a passcode working within ``valid`` is kept on the lock."""
    if valid is None or valid[1] is None:
        return Held(KeyboardPwdType.PERMANENT, None, None)
    # A minute early: a lock clock a few seconds behind still takes the
    # code at once (it was not on the lock before, so this grants nothing).
    start = lock_time(valid[0] - timedelta(minutes=1)).replace(second=0, microsecond=0)
    end = lock_time(valid[1]).replace(second=0, microsecond=0)
    return Held(KeyboardPwdType.PERIOD, start, end)


def same(held: Held, want: Held) -> bool:
    """Return True when a passcode kept as ``held`` already works as ``want``."""
    if held.pwd_type is not want.pwd_type:
        return False
    if want.pwd_type is KeyboardPwdType.PERMANENT:
        return True
    return held.end == want.end


def failure(err: TTLockError) -> ProviderError:
    """Translate what the lock or the link said (the library's text quotes no code)."""
    byte = error_byte(err)
    text = str(err)
    if "authorize" in text or "validate virtual key" in text:
        return ProviderError("ekey_rejected", "The lock did not accept the eKey")
    if byte == _NO_FREE_MEMORY:
        return ProviderError("lock_full", "The lock has no room for another passcode")
    if byte in (_PASSCODE_LENGTH_INVALID, _PASSCODE_EXISTS):
        return ProviderError("code_rejected", "The lock rejected the passcode")
    if "Timed out" in text:
        return ProviderError("lock_not_answering", "The lock did not answer in time")
    if byte is not None or "rejected" in text:
        return ProviderError("lock_error", "The lock refused the command")
    return ProviderError("lock_offline", "The Bluetooth link to the lock failed")
