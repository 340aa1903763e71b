"""
Alerts on repeated wrong codes at a lock: someone may be guessing codes.

Every refused attempt a lock family reports (a wrong code, or a code refused
because the keypad is locked out) is counted per lock. When a lock refuses
``wrong_code_limit`` attempts within ``wrong_code_minutes`` (site options), or
reports that its keypad locked itself out (it counts wrong codes itself, and
some locks report only that), Keyholder fires one ``keyholder_alert`` event
and raises a repair issue naming the lock. Further refusals in the same run
alert no more; once the lock has refused nothing for that long, the next run
alerts again. The repair issue stays (across restarts) until a user confirms
it. No code is ever part of it.
"""

from __future__ import annotations

from collections import deque
from datetime import datetime, timedelta

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util

from ..const import (
    ATTR_LOCK,
    ATTR_LOCK_ID,
    CONF_WRONG_CODE_LIMIT,
    CONF_WRONG_CODE_MINUTES,
    DEFAULT_WRONG_CODE_LIMIT,
    DEFAULT_WRONG_CODE_MINUTES,
    DOMAIN,
    EVENT_ALERT,
    LOGGER,
    site_setting,
)
from .runtime import KeyholderConfigEntry
from .state import AccessEvent, AccessResult

ALERT_WRONG_CODES = "wrong_codes"
REFUSED = frozenset({AccessResult.DENIED, AccessResult.LOCKED_OUT})


def alert_issue_id(lock_id: str) -> str:
    """Return the repair issue id of a lock that refused too many codes."""
    return f"wrong_codes_{lock_id}"


def is_alert_issue(issue_id: str) -> bool:
    """Return True for the repair issue of a wrong-code alert."""
    return issue_id.startswith("wrong_codes_")


class WrongCodeAlerts:
    """Counts refused attempts per lock of a site and alerts on a run of them."""

    def __init__(self, hass: HomeAssistant, entry: KeyholderConfigEntry) -> None:
        """Read the site's threshold: so many refusals within so many minutes."""
        self._hass = hass
        self._entry_id = entry.entry_id
        self._runtime = entry.runtime_data
        self.limit = site_setting(
            entry, CONF_WRONG_CODE_LIMIT, DEFAULT_WRONG_CODE_LIMIT
        )
        self.minutes = site_setting(
            entry, CONF_WRONG_CODE_MINUTES, DEFAULT_WRONG_CODE_MINUTES
        )
        self._refused: dict[str, deque[datetime]] = {}
        self._alerted: set[str] = set()

    @callback
    def async_start(self) -> CALLBACK_TYPE:
        """Follow the site's access attempts; return what stops it."""
        return self._runtime.listeners.add_access(self._on_access)

    @callback
    def _on_access(self, event: AccessEvent) -> None:
        if event.result not in REFUSED or event.lock_id not in self._runtime.locks:
            return
        now = dt_util.utcnow()
        # The latest ``limit`` refusals are all that is needed (bounded memory
        # however fast someone types).
        refused = self._refused.setdefault(event.lock_id, deque(maxlen=self.limit))
        since = now - timedelta(minutes=self.minutes)
        while refused and refused[0] <= since:
            refused.popleft()
        if not refused:
            # Quiet for the whole window: a new run starts.
            self._alerted.discard(event.lock_id)
        refused.append(now)
        if event.lock_id in self._alerted:
            return
        locked_out = event.result is AccessResult.LOCKED_OUT
        if locked_out or len(refused) >= self.limit:
            self._alerted.add(event.lock_id)
            self._alert(event.lock_id, len(refused), now, locked_out=locked_out)

    def _alert(
        self, lock_id: str, attempts: int, now: datetime, *, locked_out: bool
    ) -> None:
        name = self._runtime.locks[lock_id].name
        LOGGER.warning(
            "%s refused %d codes within %d minutes%s",
            name,
            attempts,
            self.minutes,
            "; its keypad is locked out" if locked_out else "",
        )
        self._hass.bus.async_fire(
            EVENT_ALERT,
            {
                "alert": ALERT_WRONG_CODES,
                ATTR_LOCK_ID: lock_id,
                ATTR_LOCK: name,
                "attempts": attempts,
                "minutes": self.minutes,
                "locked_out": locked_out,
            },
        )
        ir.async_create_issue(
            self._hass,
            DOMAIN,
            alert_issue_id(lock_id),
            is_fixable=True,
            is_persistent=True,
            severity=ir.IssueSeverity.WARNING,
            translation_key=f"{ALERT_WRONG_CODES}_locked_out"
            if locked_out
            else ALERT_WRONG_CODES,
            translation_placeholders={
                "lock": name,
                "attempts": str(attempts),
                "minutes": str(self.minutes),
                "time": dt_util.as_local(now).strftime("%Y-%m-%d %H:%M"),
            },
            data={"entry_id": self._entry_id, "lock_id": lock_id},
        )
