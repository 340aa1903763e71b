"""A booking calendar's events as stays: reading them and pairing moved ones."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from homeassistant.util import dt as dt_util

from ...const import LOGGER
from ...storage.store import BookingRecord

DEFAULT_SUMMARY = "Guest"
"""The name of a stay whose event has no title."""


@dataclass(frozen=True, slots=True)
class CalendarStay:
    """One event of a booking calendar, in UTC."""

    event_id: str
    summary: str
    start: datetime
    end: datetime


def event_id(summary: str, start: datetime, uid: str | None = None) -> str:
    """
    Return how an event is known: its uid when the calendar gives one.

    Otherwise its title and start; a moved event is then recognised by its
    title (see :func:`match_moved`).
    """
    if uid:
        return f"uid:{uid}"
    return f"{summary}@{dt_util.as_utc(start).isoformat()}"


def _instant(value: Any) -> datetime:
    """Return an event's start or end in UTC (a day starts at local midnight)."""
    text = str(value)
    if "T" not in text and " " not in text:
        return dt_util.as_utc(dt_util.start_of_local_day(date.fromisoformat(text)))
    parsed = dt_util.parse_datetime(text, raise_on_error=True)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt_util.get_default_time_zone())
    return dt_util.as_utc(parsed)


def parse_events(raw: Any) -> dict[str, CalendarStay]:
    """Return the stays in a ``calendar.get_events`` answer, by event id."""
    stays: dict[str, CalendarStay] = {}
    for event in raw:
        if str(event.get("status") or "").upper() == "CANCELLED":
            continue
        summary = str(event.get("summary") or "").strip() or DEFAULT_SUMMARY
        try:
            start, end = _instant(event["start"]), _instant(event["end"])
        except KeyError, TypeError, ValueError:
            LOGGER.debug("Skipped a calendar event without a usable start or end")
            continue
        if end <= start:
            continue
        ident = event_id(summary, start, event.get("uid"))
        stays[ident] = CalendarStay(ident, summary, start, end)
    return stays


def match_moved(
    gone: Mapping[str, BookingRecord], new: Mapping[str, CalendarStay]
) -> dict[str, str]:
    """
    Pair events that disappeared with new ones of the same title: moved events.

    Each gone event goes to the new event with its title whose start is nearest.
    Returns new event id -> gone event id.
    """
    pairs: dict[str, str] = {}
    left = dict(gone)
    for new_id, stay in sorted(new.items(), key=lambda item: item[1].start):
        candidates = [
            (abs(record.start - stay.start), old_id)
            for old_id, record in left.items()
            if record.summary == stay.summary
        ]
        if candidates:
            _, old_id = min(candidates)
            pairs[new_id] = old_id
            del left[old_id]
    return pairs
