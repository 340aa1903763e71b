"""
Schedules as the actions and the panel's commands take and show them.

A schedule is given as fields: ``weekdays``, ``start_time`` and ``end_time``
(one weekly window; none of them: any time) and ``valid_from`` /
``valid_until`` (dates; naive ones are the home's time).
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from homeassistant.helpers import config_validation as cv
from homeassistant.util import dt as dt_util
import probatio as vol

from ..access.describe import iso
from ..access.errors import validation_error
from ..model.values import Schedule, Window
from .action_fields import (
    ATTR_END_TIME,
    ATTR_START_TIME,
    ATTR_VALID_FROM,
    ATTR_VALID_UNTIL,
    ATTR_WEEKDAYS,
    WEEKDAYS,
)

EARLIEST = 1970
LATEST = 2999
"""Dates and times of day outside these years are refused (typos, not plans)."""

SCHEDULE_FIELDS: dict[Any, Any] = {
    vol.Optional(ATTR_WEEKDAYS): vol.All(cv.ensure_list, [vol.In(WEEKDAYS)]),
    vol.Optional(ATTR_START_TIME): cv.time,
    vol.Optional(ATTR_END_TIME): cv.time,
    vol.Optional(ATTR_VALID_FROM): cv.datetime,
    vol.Optional(ATTR_VALID_UNTIL): cv.datetime,
}
"""The schedule's fields, validated (strings become times and datetimes)."""


def utc_in_range(value: datetime | None, field: str) -> datetime | None:
    """Return a datetime in UTC (naive ones are local); refuse far-off years."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt_util.get_default_time_zone())
    try:
        utc = dt_util.as_utc(value)
    except OverflowError:
        utc = None
    if utc is None or not EARLIEST <= utc.year <= LATEST:
        raise validation_error("out_of_range", field=field)
    return utc


def day_in_range(value: date | None, field: str) -> date | None:
    """Return the day of a date (or of a datetime); refuse far-off years."""
    if value is None:
        return None
    if isinstance(value, datetime):
        value = value.date()
    if not EARLIEST <= value.year <= LATEST:
        raise validation_error("out_of_range", field=field)
    return value


def schedule_from_fields(data: dict[str, Any]) -> Schedule:
    """Build a schedule from validated fields (always, or a weekly window)."""
    days = data.get(ATTR_WEEKDAYS)
    start: time | None = data.get(ATTR_START_TIME)
    end: time | None = data.get(ATTR_END_TIME)
    windows: tuple[Window, ...] = ()
    if days or start is not None or end is not None:
        if start is None or end is None:
            raise validation_error("window_needs_times")
        day_numbers = frozenset(WEEKDAYS.index(day) for day in days or WEEKDAYS)
        windows = (Window(days=day_numbers, start=start, end=end),)
    valid_from = utc_in_range(data.get(ATTR_VALID_FROM), ATTR_VALID_FROM)
    valid_until = utc_in_range(data.get(ATTR_VALID_UNTIL), ATTR_VALID_UNTIL)
    if valid_from and valid_until and valid_until <= valid_from:
        raise validation_error("until_before_from")
    return Schedule(windows=windows, valid_from=valid_from, valid_until=valid_until)


def schedule_shown(schedule: Schedule) -> dict[str, Any]:
    """Describe a schedule for the panel: weekly windows and dates (UTC, ISO)."""
    return {
        "windows": [
            {
                "days": [WEEKDAYS[day] for day in sorted(window.days)],
                "start": window.start.strftime("%H:%M"),
                "end": window.end.strftime("%H:%M"),
            }
            for window in schedule.windows
        ],
        "valid_from": iso(schedule.valid_from),
        "valid_until": iso(schedule.valid_until),
    }
