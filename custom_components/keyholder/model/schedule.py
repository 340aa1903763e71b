"""
Schedule evaluation in the site's time zone.

A :class:`~.model.Schedule` is a set of weekly windows (wall-clock times in the
site's time zone) inside an optional half-open UTC range ``[valid_from,
valid_until)``. All functions take aware datetimes and a ``tz`` (a
:class:`zoneinfo.ZoneInfo`) and return aware datetimes in UTC.

DST policy
----------
Every wall-clock time is resolved on its own date with ``fold=0`` semantics, which
is what :mod:`zoneinfo` does for ``datetime.combine(day, t, tzinfo=tz)``:

* a time inside a spring-forward gap is shifted forward by the gap length
  (02:30 on a day where 02:00 jumps to 03:00 means 03:30);
* an ambiguous time inside a fall-back overlap means its *first* occurrence.

A window belongs to the day it starts. Its start resolves on that day and its end
on the same day (``end > start``) or the next day (``end <= start``). A window
whose end resolves to an instant that is not after its start (possible only on a
DST day, e.g. 02:30-03:00 on a spring-forward day) is empty that day. Windows are
therefore slightly longer or shorter on DST days, exactly as a wall clock shows.

Windows of different days may overlap or touch; activity is their union, and
touching intervals merge (``[a, b) + [b, c) = [a, c)``).

Searching forward for the next change expands its horizon geometrically; a
schedule whose windows cover every instant for about three years (only possible
by covering the whole week) is reported as never changing, like "always".
"""

from __future__ import annotations

from bisect import bisect_right
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import lru_cache

from .values import Schedule, Window

Interval = tuple[datetime, datetime]
"""A half-open interval ``[start, end)`` of aware UTC datetimes."""

_DAY = timedelta(days=1)
_MIDNIGHT = time(0)
# Days of look-back: a window starting two local days earlier can only still be
# open in zones with a DST gap around midnight; checking it is cheap.
_LOOKBACK = 2
# Forward horizons (in days) tried when searching for the next change.
_HORIZONS = (2, 8, 32, 128, 512, 1024)


@lru_cache(maxsize=16384)
def resolve(day: date, wall: time, tz: tzinfo) -> datetime:
    """
    Return the UTC instant of wall-clock ``wall`` on ``day`` in ``tz``.

    Gap times move forward by the gap length; ambiguous times mean their first
    occurrence (``fold=0``). Results are cached: the same few dates and times are
    resolved over and over while planning.
    """
    return datetime.combine(day, wall, tzinfo=tz).astimezone(UTC)


def end_of_day(day: date, tz: tzinfo) -> datetime:
    """Return the instant (UTC) of the local midnight that ends ``day``."""
    return resolve(day + _DAY, _MIDNIGHT, tz)


def local_date(at: datetime, tz: tzinfo) -> date:
    """Return the local calendar date of the instant ``at`` in ``tz``."""
    return at.astimezone(tz).date()


def window_interval(window: Window, day: date, tz: tzinfo) -> Interval | None:
    """
    Return the UTC interval of ``window`` starting on ``day`` (None if empty).

    The weekday of ``day`` is not checked here.
    """
    start = resolve(day, window.start, tz)
    end_day = day + _DAY if window.end <= window.start else day
    end = resolve(end_day, window.end, tz)
    if end <= start:
        return None
    return start, end


def _merge(intervals: list[Interval]) -> list[Interval]:
    """Merge overlapping or touching intervals; the input must be sorted."""
    merged: list[Interval] = []
    for start, end in intervals:
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def window_intervals(
    windows: tuple[Window, ...], first: date, last: date, tz: tzinfo
) -> list[Interval]:
    """Return the merged UTC intervals of windows starting on days first..last."""
    raw: list[Interval] = []
    day = first
    while day <= last:
        weekday = day.weekday()
        for window in windows:
            if weekday in window.days:
                interval = window_interval(window, day, tz)
                if interval is not None:
                    raw.append(interval)
        day += _DAY
    raw.sort()
    return _merge(raw)


def windows_active(windows: tuple[Window, ...], at: datetime, tz: tzinfo) -> bool:
    """Return True when ``at`` lies inside one of the weekly ``windows``."""
    today = local_date(at, tz)
    day = today - timedelta(days=_LOOKBACK)
    while day <= today:
        weekday = day.weekday()
        for window in windows:
            if weekday in window.days:
                interval = window_interval(window, day, tz)
                if interval is not None and interval[0] <= at < interval[1]:
                    return True
        day += _DAY
    return False


def windows_next_change(
    windows: tuple[Window, ...], after: datetime, tz: tzinfo
) -> datetime | None:
    """
    Return the first instant > ``after`` where window activity flips.

    Only the weekly windows are considered (not the validity range). Returns None
    when activity never changes (no window has any day, or the windows cover
    every instant of the search horizon).
    """
    if not any(window.days for window in windows):
        return None
    today = local_date(after, tz)
    first = today - timedelta(days=_LOOKBACK)
    for horizon in _HORIZONS:
        last = today + timedelta(days=horizon)
        intervals = window_intervals(windows, first, last, tz)
        # Windows starting after `last` begin later than the start of day `last`
        # (gap shifts are a few hours at most), so anything before it is final.
        limit = resolve(last, _MIDNIGHT, tz)
        index = bisect_right(intervals, (after, datetime.max.replace(tzinfo=UTC)))
        # intervals[index - 1] is the last one starting at or before `after`.
        if index and intervals[index - 1][1] > after:
            candidate = intervals[index - 1][1]
        elif index < len(intervals):
            candidate = intervals[index][0]
        else:
            continue
        if candidate < limit:
            return candidate
    return None


def _in_range(schedule: Schedule, at: datetime) -> bool:
    """Return True when ``at`` is inside the schedule's validity range."""
    if schedule.valid_from is not None and at < schedule.valid_from:
        return False
    return schedule.valid_until is None or at < schedule.valid_until


def is_active(schedule: Schedule, at: datetime, tz: tzinfo) -> bool:
    """Return True when the schedule is active at the instant ``at``."""
    if not _in_range(schedule, at):
        return False
    return not schedule.windows or windows_active(schedule.windows, at, tz)


def next_change(schedule: Schedule, after: datetime, tz: tzinfo) -> datetime | None:
    """
    Return the first instant t > ``after`` where activity differs from now.

    None means the activity never changes again.
    """
    valid_from, valid_until = schedule.valid_from, schedule.valid_until
    if valid_until is not None and after >= valid_until:
        return None
    if valid_from is not None and after < valid_from:
        # Inactive now: the change is the first active instant at or after
        # valid_from, if it comes before valid_until.
        if not schedule.windows or windows_active(schedule.windows, valid_from, tz):
            first_active: datetime | None = valid_from
        else:
            first_active = windows_next_change(schedule.windows, valid_from, tz)
        if first_active is None or (
            valid_until is not None and first_active >= valid_until
        ):
            return None
        return first_active
    if not schedule.windows:
        return valid_until
    flip = windows_next_change(schedule.windows, after, tz)
    if windows_active(schedule.windows, after, tz):
        # Active: it ends at the window end or at valid_until, whichever first.
        if flip is None or (valid_until is not None and valid_until < flip):
            return valid_until
        return flip
    # Inactive between windows: next window start, if still within the range.
    if flip is None or (valid_until is not None and flip >= valid_until):
        return None
    return flip


def active_intervals(
    schedule: Schedule, start: datetime, end: datetime, tz: tzinfo
) -> list[Interval]:
    """Return the maximal intervals of activity clipped to ``[start, end)``."""
    low = start.astimezone(UTC)
    high = end.astimezone(UTC)
    if schedule.valid_from is not None and schedule.valid_from > low:
        low = schedule.valid_from.astimezone(UTC)
    if schedule.valid_until is not None and schedule.valid_until < high:
        high = schedule.valid_until.astimezone(UTC)
    if low >= high:
        return []
    if not schedule.windows:
        return [(low, high)]
    first = local_date(low, tz) - timedelta(days=_LOOKBACK)
    last = local_date(high, tz)
    result: list[Interval] = []
    for win_start, win_end in window_intervals(schedule.windows, first, last, tz):
        clipped_start = max(win_start, low)
        clipped_end = min(win_end, high)
        if clipped_start < clipped_end:
            result.append((clipped_start, clipped_end))
    return result


WeekBlock = tuple[int, int, int]
"""A filled stretch of a drawn week: day (0 = first day), from and to minute."""


def shown_week(schedule: Schedule, now: datetime, tz: tzinfo) -> date:
    """
    Return the Monday of the week to draw for ``schedule`` at ``now``.

    This week while the schedule is in force, the week it starts in when it
    starts later, and the week it ended in once it is over.
    """
    at = now
    if schedule.valid_from is not None and schedule.valid_from > at:
        at = schedule.valid_from
    if schedule.valid_until is not None and schedule.valid_until <= at:
        at = schedule.valid_until - timedelta(microseconds=1)
    day = local_date(at, tz)
    return day - timedelta(days=day.weekday())


def _wall_minute(at: datetime, *, up: bool) -> int:
    """Return the local wall-clock minute of the day of ``at`` (rounded up)."""
    minute = at.hour * 60 + at.minute
    return minute + 1 if up and (at.second or at.microsecond) else minute


def week_blocks(schedule: Schedule, monday: date, tz: tzinfo) -> list[WeekBlock]:
    """
    Return what the schedule opens in the week starting ``monday``, day by day.

    Both the weekly windows and the date range are applied, so a one-off key
    (a date range and no windows) fills only its own days and hours. Minutes
    are local wall-clock minutes (0-1440).
    """
    start = resolve(monday, _MIDNIGHT, tz)
    end = resolve(monday + timedelta(days=7), _MIDNIGHT, tz)
    blocks: list[WeekBlock] = []
    for low, high in active_intervals(schedule, start, end, tz):
        first, last = low.astimezone(tz), high.astimezone(tz)
        day = first.date()
        while day <= last.date():
            begin = _wall_minute(first, up=False) if day == first.date() else 0
            stop = _wall_minute(last, up=True) if day == last.date() else 1440
            if stop > begin:
                blocks.append(((day - monday).days, begin, stop))
            day += _DAY
    return blocks
