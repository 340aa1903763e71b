"""
A schedule as a form shows it: always, weekly times, or a date range.

Shared by the access group flow and the keyholder flow's access step. Days are
the site's local days: "valid from" starts at local midnight of its day and
"valid until" is the last day (the schedule ends at the midnight after it).
The form shows one weekly window; a schedule with several windows (set by an
action) shows its first, with the days of every window of the same times.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from homeassistant.helpers.selector import (
    DateSelector,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TimeSelector,
)
from homeassistant.util import dt as dt_util
import probatio as vol

from ..model.values import ALWAYS, Schedule, Window

CONF_SCHEDULE_KIND = "schedule_kind"
CONF_WEEKDAYS = "weekdays"
CONF_START_TIME = "start_time"
CONF_END_TIME = "end_time"
CONF_VALID_FROM = "valid_from"
CONF_VALID_UNTIL = "valid_until"

KIND_ALWAYS = "always"
KIND_WEEKLY = "weekly"
KIND_DATES = "dates"
SCHEDULE_KINDS = [KIND_ALWAYS, KIND_WEEKLY, KIND_DATES]
WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]

SCHEDULE_FIELDS = (
    CONF_SCHEDULE_KIND,
    CONF_WEEKDAYS,
    CONF_START_TIME,
    CONF_END_TIME,
    CONF_VALID_FROM,
    CONF_VALID_UNTIL,
)
EARLIEST_YEAR = 1970
LATEST_YEAR = 2999


def schedule_schema() -> dict[Any, Any]:
    """Return the schedule's fields (to add to a form's schema)."""
    return {
        vol.Required(CONF_SCHEDULE_KIND, default=KIND_ALWAYS): SelectSelector(
            SelectSelectorConfig(
                options=SCHEDULE_KINDS,
                translation_key=CONF_SCHEDULE_KIND,
                mode=SelectSelectorMode.LIST,
            )
        ),
        vol.Optional(CONF_WEEKDAYS): SelectSelector(
            SelectSelectorConfig(
                options=WEEKDAYS, translation_key=CONF_WEEKDAYS, multiple=True
            )
        ),
        vol.Optional(CONF_START_TIME): TimeSelector(),
        vol.Optional(CONF_END_TIME): TimeSelector(),
        vol.Optional(CONF_VALID_FROM): DateSelector(),
        vol.Optional(CONF_VALID_UNTIL): DateSelector(),
    }


def _time(user_input: dict[str, Any], field: str) -> time | None:
    value = user_input.get(field)
    if not value:
        return None
    try:
        parsed = time.fromisoformat(str(value))
    except ValueError:
        return None
    return parsed.replace(tzinfo=None)


def _day(user_input: dict[str, Any], field: str) -> date | str | None:
    """Return the day entered, None when empty, or an error key."""
    value = user_input.get(field)
    if not value:
        return None
    try:
        day = date.fromisoformat(str(value))
    except ValueError:
        return "invalid_date"
    if not EARLIEST_YEAR <= day.year <= LATEST_YEAR:
        return "invalid_date"
    return day


def _start_of(day: date) -> datetime:
    """Return the UTC instant of local midnight at the start of ``day``."""
    return dt_util.as_utc(dt_util.start_of_local_day(day))


def _dates(
    user_input: dict[str, Any],
) -> tuple[datetime | None, datetime | None, dict[str, str]]:
    """Return the range the form's days give, or the errors of its fields."""
    first = _day(user_input, CONF_VALID_FROM)
    last = _day(user_input, CONF_VALID_UNTIL)
    if isinstance(first, str):
        return None, None, {CONF_VALID_FROM: first}
    if isinstance(last, str):
        return None, None, {CONF_VALID_UNTIL: last}
    if first is not None and last is not None and last < first:
        return None, None, {CONF_VALID_UNTIL: "until_before_from"}
    return (
        _start_of(first) if first else None,
        _start_of(last + timedelta(days=1)) if last else None,
        {},
    )


def _window(user_input: dict[str, Any]) -> tuple[Window | None, dict[str, str]]:
    """Return the weekly window of the form, or the errors of its fields."""
    days = [day for day in user_input.get(CONF_WEEKDAYS) or () if day in WEEKDAYS]
    start = _time(user_input, CONF_START_TIME)
    end = _time(user_input, CONF_END_TIME)
    if not days:
        return None, {CONF_WEEKDAYS: "weekdays_required"}
    if start is None:
        return None, {CONF_START_TIME: "time_required"}
    if end is None:
        return None, {CONF_END_TIME: "time_required"}
    numbers = frozenset(WEEKDAYS.index(day) for day in days)
    return Window(days=numbers, start=start, end=end), {}


def schedule_from_form(user_input: dict[str, Any]) -> tuple[Schedule, dict[str, str]]:
    """
    Return the schedule a form's fields describe, and field -> error key.

    With errors the schedule is ``ALWAYS`` and must not be used.
    """
    kind = user_input.get(CONF_SCHEDULE_KIND, KIND_ALWAYS)
    if kind == KIND_ALWAYS:
        return ALWAYS, {}
    windows: tuple[Window, ...] = ()
    if kind == KIND_WEEKLY:
        window, errors = _window(user_input)
        if errors:
            return ALWAYS, errors
        assert window is not None
        windows = (window,)
    valid_from, valid_until, errors = _dates(user_input)
    if errors:
        return ALWAYS, errors
    if kind == KIND_DATES and valid_from is None and valid_until is None:
        return ALWAYS, {CONF_VALID_FROM: "dates_required"}
    return Schedule(windows, valid_from, valid_until), {}


def _local_day(instant: datetime) -> str:
    return dt_util.as_local(instant).date().isoformat()


def schedule_defaults(schedule: Schedule) -> dict[str, Any]:
    """Return the form's fields filled in from a schedule."""
    values: dict[str, Any] = {}
    if schedule.valid_from is not None:
        values[CONF_VALID_FROM] = _local_day(schedule.valid_from)
    if schedule.valid_until is not None:
        # The last day: the one the range's (exclusive) end closes.
        values[CONF_VALID_UNTIL] = _local_day(
            schedule.valid_until - timedelta(microseconds=1)
        )
    if not schedule.windows:
        kind = KIND_DATES if values else KIND_ALWAYS
        return {CONF_SCHEDULE_KIND: kind, **values}
    first = schedule.windows[0]
    days = set().union(
        *(
            window.days
            for window in schedule.windows
            if (window.start, window.end) == (first.start, first.end)
        )
    )
    return {
        CONF_SCHEDULE_KIND: KIND_WEEKLY,
        CONF_WEEKDAYS: [WEEKDAYS[day] for day in sorted(days)],
        CONF_START_TIME: first.start.isoformat(),
        CONF_END_TIME: first.end.isoformat(),
        **values,
    }
