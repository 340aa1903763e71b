from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, strategies as st
import pytest

from custom_components.keyholder.model.schedule import (
    active_intervals,
    end_of_day,
    is_active,
    next_change,
    shown_week,
    week_blocks,
    window_interval,
    windows_next_change,
)
from custom_components.keyholder.model.values import ALL_DAYS, Schedule, Window

from .strategies import (
    BERLIN,
    LORD_HOWE,
    NEW_YORK,
    PROPERTY_SETTINGS,
    instants,
    local,
    plain_instants,
    schedules,
    windows,
    zones,
)

THU, FRI, SAT, SUN = 3, 4, 5, 6


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


# --- worked examples -------------------------------------------------------------


def test_plumber_thursdays_between_two_dates() -> None:
    schedule = Schedule(
        windows=(Window(frozenset({THU}), time(13), time(17)),),
        valid_from=local(BERLIN, 2026, 4, 1),
        valid_until=local(BERLIN, 2026, 4, 10),
    )
    thursday = (2026, 4, 2)
    assert not is_active(schedule, local(BERLIN, 2026, 3, 26, 14), BERLIN)
    assert not is_active(schedule, local(BERLIN, *thursday, 12, 59, 59), BERLIN)
    assert is_active(schedule, local(BERLIN, *thursday, 13), BERLIN)
    assert is_active(schedule, local(BERLIN, *thursday, 16, 59, 59), BERLIN)
    assert not is_active(schedule, local(BERLIN, *thursday, 17), BERLIN)
    assert is_active(schedule, local(BERLIN, 2026, 4, 9, 15), BERLIN)
    assert not is_active(schedule, local(BERLIN, 2026, 4, 16, 15), BERLIN)

    assert next_change(schedule, local(BERLIN, 2026, 3, 20), BERLIN) == local(
        BERLIN, *thursday, 13
    )
    assert next_change(schedule, local(BERLIN, *thursday, 13), BERLIN) == local(
        BERLIN, *thursday, 17
    )
    assert next_change(schedule, local(BERLIN, *thursday, 17), BERLIN) == local(
        BERLIN, 2026, 4, 9, 13
    )
    assert next_change(schedule, local(BERLIN, 2026, 4, 9, 17), BERLIN) is None

    intervals = active_intervals(
        schedule, local(BERLIN, 2026, 3, 1), local(BERLIN, 2026, 5, 1), BERLIN
    )
    assert intervals == [
        (local(BERLIN, *thursday, 13), local(BERLIN, *thursday, 17)),
        (local(BERLIN, 2026, 4, 9, 13), local(BERLIN, 2026, 4, 9, 17)),
    ]
    assert all(start.tzinfo is UTC for start, _ in intervals)


def test_overnight_window_friday_to_saturday() -> None:
    schedule = Schedule(windows=(Window(frozenset({FRI}), time(22), time(2)),))
    friday = (2026, 4, 3)
    saturday = (2026, 4, 4)
    assert not is_active(schedule, local(BERLIN, *friday, 21, 59), BERLIN)
    assert is_active(schedule, local(BERLIN, *friday, 22), BERLIN)
    assert is_active(schedule, local(BERLIN, *saturday, 1, 59, 59), BERLIN)
    assert not is_active(schedule, local(BERLIN, *saturday, 2), BERLIN)
    assert not is_active(schedule, local(BERLIN, *saturday, 23), BERLIN)
    assert not is_active(schedule, local(BERLIN, 2026, 4, 2, 23), BERLIN)
    assert next_change(schedule, local(BERLIN, *friday, 23), BERLIN) == local(
        BERLIN, *saturday, 2
    )
    assert active_intervals(
        schedule, local(BERLIN, *saturday, 0), local(BERLIN, *saturday, 12), BERLIN
    ) == [(local(BERLIN, *saturday, 0), local(BERLIN, *saturday, 2))]


def test_always_schedule_and_validity_range() -> None:
    start, end = utc(2026, 1, 1), utc(2026, 2, 1)
    assert is_active(Schedule(), start, BERLIN)
    assert next_change(Schedule(), start, BERLIN) is None
    ranged = Schedule(valid_from=start, valid_until=end)
    assert not is_active(ranged, start - timedelta(microseconds=1), BERLIN)
    assert is_active(ranged, start, BERLIN)
    assert not is_active(ranged, end, BERLIN)
    assert next_change(ranged, utc(2025, 1, 1), BERLIN) == start
    assert next_change(ranged, start, BERLIN) == end
    assert next_change(ranged, end, BERLIN) is None
    empty_range = Schedule(valid_from=end, valid_until=start)
    assert next_change(empty_range, utc(2025, 1, 1), BERLIN) is None
    assert active_intervals(empty_range, utc(2025, 1, 1), utc(2027, 1, 1), BERLIN) == []
    assert active_intervals(ranged, utc(2025, 1, 1), utc(2027, 1, 1), BERLIN) == [
        (start, end)
    ]


def test_window_with_no_days_is_never_active() -> None:
    schedule = Schedule(windows=(Window(frozenset(), time(8), time(9)),))
    assert not is_active(schedule, utc(2026, 1, 5, 8, 30), BERLIN)
    assert next_change(schedule, utc(2026, 1, 5), BERLIN) is None
    before_range = Schedule(windows=schedule.windows, valid_from=utc(2026, 2, 1))
    assert next_change(before_range, utc(2026, 1, 1), BERLIN) is None


def test_full_day_window_every_day_never_changes() -> None:
    schedule = Schedule(windows=(Window(ALL_DAYS, time(7), time(7)),))
    assert is_active(schedule, utc(2026, 3, 29, 1), BERLIN)
    assert next_change(schedule, utc(2026, 3, 29, 1), BERLIN) is None
    ending = Schedule(windows=schedule.windows, valid_until=utc(2026, 6, 1))
    assert next_change(ending, utc(2026, 3, 29, 1), BERLIN) == utc(2026, 6, 1)


def test_window_ends_before_valid_until() -> None:
    schedule = Schedule(
        windows=(Window(frozenset({THU}), time(13), time(17)),),
        valid_until=local(BERLIN, 2026, 4, 2, 15),
    )
    thursday_2pm = local(BERLIN, 2026, 4, 2, 14)
    assert next_change(schedule, thursday_2pm, BERLIN) == local(BERLIN, 2026, 4, 2, 15)
    assert next_change(schedule, local(BERLIN, 2026, 4, 1), BERLIN) == local(
        BERLIN, 2026, 4, 2, 13
    )


def test_starts_inside_a_window_at_valid_from() -> None:
    schedule = Schedule(
        windows=(Window(frozenset({THU}), time(13), time(17)),),
        valid_from=local(BERLIN, 2026, 4, 2, 14),
    )
    assert next_change(schedule, local(BERLIN, 2026, 4, 1), BERLIN) == local(
        BERLIN, 2026, 4, 2, 14
    )


def test_end_of_day_is_next_local_midnight() -> None:
    assert end_of_day(date(2026, 4, 10), BERLIN) == local(BERLIN, 2026, 4, 11)
    assert end_of_day(date(2026, 4, 10), BERLIN).tzinfo is UTC
    # The day of a spring-forward change is only 23 hours long.
    assert end_of_day(date(2026, 3, 29), BERLIN) - end_of_day(
        date(2026, 3, 28), BERLIN
    ) == timedelta(hours=23)


def test_window_validation() -> None:
    with pytest.raises(ValueError, match="days"):
        Window(frozenset({7}), time(1), time(2))
    with pytest.raises(ValueError, match="naive"):
        Window(frozenset({1}), time(1, tzinfo=UTC), time(2))
    with pytest.raises(ValueError, match="aware"):
        Schedule(valid_from=datetime(2026, 1, 1))
    assert Window(frozenset({1}), time(22), time(2)).crosses_midnight
    assert not Window(frozenset({1}), time(2), time(22)).crosses_midnight


# --- DST behaviour -----------------------------------------------------------------
# Europe/Berlin 2026: spring forward Sun 29 March 02:00 -> 03:00,
#                    fall back Sun 25 October 03:00 -> 02:00.


def test_gap_start_shifts_forward_by_gap_length() -> None:
    window = Window(frozenset({SUN}), time(2, 30), time(4))
    interval = window_interval(window, date(2026, 3, 29), BERLIN)
    assert interval == (
        local(BERLIN, 2026, 3, 29, 3, 30),
        local(BERLIN, 2026, 3, 29, 4),
    )
    assert interval[0] == utc(2026, 3, 29, 1, 30)


def test_window_empty_on_gap_day_does_not_crash() -> None:
    schedule = Schedule(windows=(Window(frozenset({SUN}), time(2, 30), time(3)),))
    assert window_interval(schedule.windows[0], date(2026, 3, 29), BERLIN) is None
    for minutes in range(0, 24 * 60, 10):
        at = local(BERLIN, 2026, 3, 29) + timedelta(minutes=minutes)
        assert not is_active(schedule, at, BERLIN)
    # The next occurrence is the following Sunday.
    assert next_change(schedule, local(BERLIN, 2026, 3, 29), BERLIN) == local(
        BERLIN, 2026, 4, 5, 2, 30
    )


def test_overnight_window_over_spring_forward_is_one_hour_shorter() -> None:
    window = Window(frozenset({SAT}), time(22), time(6))
    start, end = window_interval(window, date(2026, 3, 28), BERLIN) or (None, None)
    assert start is not None
    assert end is not None
    assert end - start == timedelta(hours=7)


def test_ambiguous_times_mean_first_occurrence() -> None:
    sunday = date(2026, 10, 25)
    early = Window(frozenset({SUN}), time(2), time(2, 30))
    start, end = window_interval(early, sunday, BERLIN) or (None, None)
    assert start == utc(2026, 10, 25, 0, 0)  # 02:00 CEST
    assert end == utc(2026, 10, 25, 0, 30)  # 02:30 CEST
    schedule = Schedule(windows=(early,))
    assert is_active(schedule, local(BERLIN, 2026, 10, 25, 2, 15, fold=0), BERLIN)
    assert not is_active(schedule, local(BERLIN, 2026, 10, 25, 2, 15, fold=1), BERLIN)
    spanning = Window(frozenset({SUN}), time(2, 30), time(3, 30))
    start, end = window_interval(spanning, sunday, BERLIN) or (None, None)
    assert start == utc(2026, 10, 25, 0, 30)  # first 02:30 (CEST)
    assert end == utc(2026, 10, 25, 2, 30)  # 03:30 CET: two hours long


def test_new_york_and_lord_howe_gaps() -> None:
    # New York: Sun 8 March 2026 02:00 -> 03:00.
    window = Window(frozenset({SUN}), time(2, 15), time(5))
    start, _ = window_interval(window, date(2026, 3, 8), NEW_YORK) or (None, None)
    assert start == local(NEW_YORK, 2026, 3, 8, 3, 15)
    # Lord Howe: Sun 4 October 2026 02:00 -> 02:30 (a 30-minute shift).
    window = Window(frozenset({SUN}), time(2, 10), time(2, 20))
    interval = window_interval(window, date(2026, 10, 4), LORD_HOWE)
    assert interval == (
        local(LORD_HOWE, 2026, 10, 4, 2, 40),
        local(LORD_HOWE, 2026, 10, 4, 2, 50),
    )
    # Lord Howe: Sun 5 April 2026 02:00 -> 01:30, 01:45 happens twice.
    window = Window(frozenset({SUN}), time(1, 45), time(2))
    start, end = window_interval(window, date(2026, 4, 5), LORD_HOWE) or (None, None)
    assert start is not None
    assert end is not None
    assert end - start == timedelta(minutes=45)


def test_transitions_walk_over_dst_week() -> None:
    schedule = Schedule(windows=(Window(ALL_DAYS, time(1, 30), time(2, 30)),))
    when: datetime | None = local(BERLIN, 2026, 3, 27)
    edges = []
    while when is not None and when < local(BERLIN, 2026, 3, 31):
        when = next_change(schedule, when, BERLIN)
        assert when is not None
        edges.append(when.astimezone(BERLIN).strftime("%d %H:%M %Z"))
    assert edges == [
        "27 01:30 CET",
        "27 02:30 CET",
        "28 01:30 CET",
        "28 02:30 CET",
        "29 01:30 CET",
        "29 03:30 CEST",
        "30 01:30 CEST",
        "30 02:30 CEST",
        "31 01:30 CEST",
    ]


def test_window_changes_far_ahead_use_larger_horizon() -> None:
    # A Sunday-only window seen from a Monday needs the 8-day horizon.
    sunday_only = (Window(frozenset({SUN}), time(9), time(10)),)
    monday = local(BERLIN, 2026, 4, 6, 12)
    assert windows_next_change(sunday_only, monday, BERLIN) == local(
        BERLIN, 2026, 4, 12, 9
    )


# --- properties ----------------------------------------------------------------------


def _samples(start: datetime, end: datetime, count: int = 12) -> list[datetime]:
    step = (end - start) / count
    points = [start + step * index for index in range(1, count)]
    return [*points, end - timedelta(microseconds=1)]


@st.composite
def schedule_cases(draw: st.DrawFn) -> tuple[ZoneInfo, Schedule, datetime]:
    tz = draw(zones)
    return tz, draw(schedules(tz)), draw(instants(tz))


@PROPERTY_SETTINGS
@given(schedule_cases())
def test_next_change_is_the_first_change(
    case: tuple[ZoneInfo, Schedule, datetime],
) -> None:
    tz, schedule, after = case
    state = is_active(schedule, after, tz)
    change = next_change(schedule, after, tz)
    if change is None:
        horizon = after + timedelta(days=30)
        for point in _samples(after, horizon, 40):
            assert is_active(schedule, point, tz) == state
        return
    assert change > after
    assert change.tzinfo is UTC
    for point in _samples(after, change):
        assert is_active(schedule, point, tz) == state, point
    assert is_active(schedule, change, tz) != state


@PROPERTY_SETTINGS
@given(schedule_cases(), st.integers(1, 10 * 24 * 3600))
def test_active_intervals_agree_with_next_change(
    case: tuple[ZoneInfo, Schedule, datetime], seconds: int
) -> None:
    tz, schedule, start = case
    end = start + timedelta(seconds=seconds)
    expected = []
    cursor = start
    state = is_active(schedule, start, tz)
    while cursor < end:
        change = next_change(schedule, cursor, tz)
        boundary = end if change is None or change > end else change
        if state:
            expected.append((cursor, boundary))
        cursor = boundary
        state = not state
    intervals = active_intervals(schedule, start, end, tz)
    assert intervals == expected
    for interval_start, interval_end in intervals:
        assert start <= interval_start < interval_end <= end
        assert is_active(schedule, interval_start, tz)
        assert is_active(schedule, interval_end - timedelta(microseconds=1), tz)


@PROPERTY_SETTINGS
@given(st.lists(windows, min_size=1, max_size=3), plain_instants)
def test_is_active_matches_minute_of_week_in_utc(
    chosen: list[Window], at: datetime
) -> None:
    # In a zone without DST a window is a plain range in the week.
    week = 7 * 24 * 3600 * 10**6

    def micros(day: int, moment: time) -> int:
        return (
            (day * 24 + moment.hour) * 3600 + moment.minute * 60 + moment.second
        ) * 10**6 + moment.microsecond

    point = micros(at.weekday(), at.time())
    expected = False
    for window in chosen:
        for day in window.days:
            start = micros(day, window.start)
            length = micros(0, window.end) - micros(0, window.start)
            if length <= 0:
                length += 24 * 3600 * 10**6
            if (point - start) % week < length:
                expected = True
    schedule = Schedule(windows=tuple(chosen))
    assert is_active(schedule, at, ZoneInfo("UTC")) == expected


def test_whole_week_cover_still_has_a_hole_on_gap_day() -> None:
    # Every wall-clock minute is covered, but on the spring-forward day 02:30
    # resolves to 03:30 while 03:15 stays 03:15: 03:15-03:30 CEST is uncovered.
    schedule = Schedule(
        windows=(
            Window(ALL_DAYS, time(0), time(3, 15)),
            Window(ALL_DAYS, time(2, 30), time(0)),
        )
    )
    start = local(BERLIN, 2026, 3, 20)
    hole_start = next_change(schedule, start, BERLIN)
    assert hole_start == local(BERLIN, 2026, 3, 29, 3, 15)
    assert next_change(schedule, hole_start, BERLIN) == local(
        BERLIN, 2026, 3, 29, 3, 30
    )


# --- the week the panel draws ----------------------------------------------------


def test_one_off_key_is_drawn_on_its_own_day_and_hours() -> None:
    """Dec 3, 09:00-12:00 and no weekdays: only that Thursday morning is filled."""
    one_off = Schedule(
        valid_from=local(BERLIN, 2026, 12, 3, 9),
        valid_until=local(BERLIN, 2026, 12, 3, 12),
    )
    monday = date(2026, 11, 30)
    for now in (
        local(BERLIN, 2026, 11, 1),  # weeks before: the week it happens in
        local(BERLIN, 2026, 12, 2, 18),
        local(BERLIN, 2026, 12, 3, 10),
        local(BERLIN, 2027, 1, 1),  # over: the week it happened in
    ):
        assert shown_week(one_off, now, BERLIN) == monday, now
    assert week_blocks(one_off, monday, BERLIN) == [(THU, 9 * 60, 12 * 60)]
    assert week_blocks(one_off, monday + timedelta(days=7), BERLIN) == []


def test_weekly_windows_are_clipped_to_the_date_range() -> None:
    thursdays = (Window(frozenset({THU}), time(13), time(17)),)
    late = (Window(frozenset({SUN}), time(22), time(2)),)
    monday = date(2026, 11, 30)
    assert week_blocks(Schedule(windows=thursdays), monday, BERLIN) == [
        (THU, 780, 1020)
    ]
    # Crossing midnight: the previous Sunday's night reaches into Monday.
    assert week_blocks(Schedule(windows=late), monday, BERLIN) == [
        (0, 0, 120),
        (SUN, 1320, 1440),
    ]
    # From Wednesday noon to the end of Saturday (the panel's inclusive day end).
    ranged = Schedule(
        valid_from=local(BERLIN, 2026, 12, 2, 12),
        valid_until=local(BERLIN, 2026, 12, 5, 23, 59, 59),
    )
    assert week_blocks(ranged, monday, BERLIN) == [
        (2, 720, 1440),
        (THU, 0, 1440),
        (FRI, 0, 1440),
        (SAT, 0, 1440),
    ]
    this_week_only = Schedule(
        windows=thursdays,
        valid_from=local(BERLIN, 2026, 12, 10),
        valid_until=local(BERLIN, 2026, 12, 11),
    )
    now = local(BERLIN, 2026, 12, 2)
    assert shown_week(this_week_only, now, BERLIN) == date(2026, 12, 7)
    assert week_blocks(this_week_only, date(2026, 12, 7), BERLIN) == [(THU, 780, 1020)]
    assert week_blocks(this_week_only, monday, BERLIN) == []
    assert shown_week(Schedule(windows=thursdays), now, BERLIN) == monday


def test_week_drawing_on_a_dst_day() -> None:
    """The spring-forward Sunday is drawn as a whole day, like the others."""
    monday = date(2026, 3, 23)
    assert week_blocks(Schedule(), monday, BERLIN) == [
        (day, 0, 1440) for day in range(7)
    ]
    early = (Window(frozenset({SUN}), time(1), time(4)),)
    # 02:00-03:00 does not exist that night: the window shows 01:00-04:00.
    assert week_blocks(Schedule(windows=early), monday, BERLIN) == [(SUN, 60, 240)]


@PROPERTY_SETTINGS
@given(schedules(BERLIN), instants(BERLIN))
def test_week_blocks_are_within_the_week(schedule: Schedule, now: datetime) -> None:
    monday = shown_week(schedule, now, BERLIN)
    assert monday.weekday() == 0
    for day, begin, end in week_blocks(schedule, monday, BERLIN):
        assert 0 <= day < 7
        assert 0 <= begin < end <= 1440
