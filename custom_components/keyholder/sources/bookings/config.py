"""What a booking subentry says: its calendar, doors, grace time and notify entity."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from ...const import (
    CONF_CALENDAR,
    CONF_GRACE,
    CONF_GRACE_MINUTES,
    CONF_LOCKS,
    CONF_NOTIFY,
    DEFAULT_GRACE_MINUTES,
    site_setting,
)
from ...sync.runtime import KeyholderConfigEntry


@dataclass(frozen=True, slots=True)
class BookingConfig:
    """What a booking subentry says."""

    title: str
    calendar: str
    locks: tuple[str, ...]
    grace: timedelta
    notify: str | None


def booking_config(entry: KeyholderConfigEntry, subentry_id: str) -> BookingConfig:
    """Return the settings of one booking subentry."""
    sub = entry.subentries[subentry_id]
    grace = sub.data.get(CONF_GRACE)
    if grace is None:
        grace = site_setting(entry, CONF_GRACE_MINUTES, DEFAULT_GRACE_MINUTES)
    return BookingConfig(
        title=sub.title,
        calendar=sub.data[CONF_CALENDAR],
        locks=tuple(sorted(sub.data.get(CONF_LOCKS, ()))),
        grace=timedelta(minutes=int(grace)),
        notify=sub.data.get(CONF_NOTIFY) or None,
    )
