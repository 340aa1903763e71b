"""Hypothesis strategies and helpers shared by the engine tests."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import cache
import os
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, settings, strategies as st

from custom_components.keyholder.model.access import grant_for_key
from custom_components.keyholder.model.serialize import key_grant_id
from custom_components.keyholder.model.site import Site
from custom_components.keyholder.model.values import (
    Key,
    Keyholder,
    KeyKind,
    Role,
    Schedule,
    Window,
)

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
LORD_HOWE = ZoneInfo("Australia/Lord_Howe")
ZONES = (BERLIN, NEW_YORK, LORD_HOWE)

# KEYHOLDER_EXAMPLES=5000 runs a deeper search (default keeps the suite fast).
PROPERTY_SETTINGS = settings(
    max_examples=int(os.environ.get("KEYHOLDER_EXAMPLES", "250")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def local(
    tz: ZoneInfo,
    year: int,
    month: int,
    day: int,
    hour: int = 0,
    minute: int = 0,
    second: int = 0,
    *,
    fold: int = 0,
) -> datetime:
    """Return an aware local datetime."""
    return datetime(year, month, day, hour, minute, second, tzinfo=tz, fold=fold)


@cache
def transitions(tz: ZoneInfo) -> tuple[datetime, ...]:
    """Return the UTC instants where ``tz`` changes its offset in 2024-2027."""
    found = []
    instant = datetime(2024, 1, 1, tzinfo=UTC)
    end = datetime(2028, 1, 1, tzinfo=UTC)
    offset = instant.astimezone(tz).utcoffset()
    while instant < end:
        nxt = instant + timedelta(minutes=30)
        nxt_offset = nxt.astimezone(tz).utcoffset()
        if nxt_offset != offset:
            found.append(nxt)
            offset = nxt_offset
        instant = nxt
    return tuple(found)


zones = st.sampled_from(ZONES)

quarter_times = st.builds(time, st.integers(0, 23), st.sampled_from((0, 15, 30, 45)))
wall_times = st.one_of(quarter_times, quarter_times, st.times())

windows = st.builds(
    Window,
    days=st.frozensets(st.integers(0, 6), min_size=0, max_size=7),
    start=wall_times,
    end=wall_times,
)

plain_instants = st.datetimes(
    min_value=datetime(2024, 1, 1),
    max_value=datetime(2027, 12, 1),
    timezones=st.just(UTC),
)


@st.composite
def instants_near_dst(draw: st.DrawFn, tz: ZoneInfo) -> datetime:
    """Return an instant within a few days of one of the zone's DST changes."""
    base = draw(st.sampled_from(transitions(tz)))
    offset = draw(st.integers(-3 * 24 * 3600, 3 * 24 * 3600))
    micro = draw(st.sampled_from((0, 0, 0, 1, 999_999)))
    return base + timedelta(seconds=offset, microseconds=micro)


def instants(tz: ZoneInfo) -> st.SearchStrategy[datetime]:
    """Return instants: anywhere, or near a DST change of ``tz``."""
    return st.one_of(plain_instants, instants_near_dst(tz))


@st.composite
def schedules(draw: st.DrawFn, tz: ZoneInfo) -> Schedule:
    """Return a schedule with 0-3 windows and an optional range."""
    chosen = tuple(draw(st.lists(windows, max_size=3)))
    valid_from = draw(st.none() | instants(tz))
    valid_until = draw(st.none() | instants(tz))
    return Schedule(windows=chosen, valid_from=valid_from, valid_until=valid_until)


@st.composite
def keyholders(draw: st.DrawFn, holder_id: str, tz: ZoneInfo) -> Keyholder:
    """Return a keyholder with optional activation/expiration and block."""
    expires = draw(st.none() | st.dates(date(2024, 1, 1), date(2027, 12, 1)))
    return Keyholder(
        id=holder_id,
        given_name=draw(st.text(min_size=1, max_size=8)),
        family_name=draw(st.text(max_size=8)),
        email=draw(st.none() | st.emails()),
        role=draw(st.sampled_from(Role)),
        active_from=draw(st.none() | instants(tz)),
        expires_on=expires,
        blocked=draw(st.booleans()),
    )


LOCK_IDS = ("front", "back", "garage")


@st.composite
def keys(draw: st.DrawFn, key_id: str, holder_id: str, tz: ZoneInfo) -> Key:
    """Return a key of any kind with a random schedule."""
    kind = draw(st.sampled_from(KeyKind))
    if kind is KeyKind.PASSCODE:
        secret: str | None = draw(st.from_regex(r"[0-9]{4,8}", fullmatch=True))
    elif kind is KeyKind.TAG:
        secret = draw(st.from_regex(r"[0-9a-f]{8}", fullmatch=True))
    else:
        secret = None
    max_uses = draw(st.none() | st.integers(1, 3))
    return Key(
        id=key_id,
        keyholder_id=holder_id,
        kind=kind,
        lock_ids=draw(st.frozensets(st.sampled_from(LOCK_IDS), max_size=3)),
        schedule=draw(schedules(tz)),
        secret=secret,
        max_uses=max_uses,
        uses=draw(st.integers(0, 3)),
        cancelled=draw(st.booleans()),
        name=draw(st.text(max_size=6)),
        serial=draw(st.integers(0, 5)),
    )


@st.composite
def sites(draw: st.DrawFn, tz: ZoneInfo, max_holders: int = 4) -> Site:
    """Return a random site (no slots assigned yet)."""
    site = Site()
    for holder_index in range(draw(st.integers(0, max_holders))):
        holder = draw(keyholders(f"h{holder_index}", tz))
        site.put_keyholder(holder)
        for key_index in range(draw(st.integers(0, 3))):
            put_own_key(site, draw(keys(f"k{holder_index}_{key_index}", holder.id, tz)))
    return site


def put_own_key(site: Site, key: Key) -> None:
    """Put a key with personal access to its own locks and schedule (issue_key)."""
    site.put_grant(grant_for_key(key, key_grant_id(key.id)))
    site.put_key(key)


def own_site(keyholders: dict[str, Keyholder], keys: dict[str, Key]) -> Site:
    """Return a site whose keys each come with access to their own locks."""
    site = Site(keyholders=keyholders)
    for key in keys.values():
        put_own_key(site, key)
    return site
