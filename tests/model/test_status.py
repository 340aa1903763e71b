from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, strategies as st

from custom_components.keyholder.model.access import (
    Term,
    grant_for_key,
    holder_terms,
    key_terms,
)
from custom_components.keyholder.model.serialize import key_grant_id
from custom_components.keyholder.model.site import Site
from custom_components.keyholder.model.status import (
    Status,
    key_expiry,
    key_start,
    key_status as _key_status,
    keyholder_next_change,
    keyholder_status as _keyholder_status,
    next_site_change,
    next_status_change as _next_status_change,
)
from custom_components.keyholder.model.transitions import TransitionIndex
from custom_components.keyholder.model.values import (
    Key,
    Keyholder,
    KeyKind,
    Schedule,
    Window,
)

from .strategies import (
    BERLIN,
    PROPERTY_SETTINGS,
    instants,
    keyholders,
    keys,
    local,
    put_own_key,
    sites,
    zones,
)

THU = 3


def own_terms(key: Key) -> tuple[Term, ...]:
    """What a key issued on its own locks and schedule opens (issue_key)."""
    return key_terms(holder_terms({}, [], [grant_for_key(key, "own")]), key)


def key_status(key: Key, holder: Keyholder, at: datetime, tz: ZoneInfo) -> Status:
    return _key_status(key, holder, at, tz, terms=own_terms(key))


def key_is_effective(key: Key, holder: Keyholder, at: datetime, tz: ZoneInfo) -> bool:
    return key_status(key, holder, at, tz) is Status.ACTIVE


def next_status_change(
    key: Key, holder: Keyholder, after: datetime, tz: ZoneInfo
) -> datetime | None:
    return _next_status_change(key, holder, after, tz, terms=own_terms(key))


def keyholder_status(
    holder: Keyholder, keys_: list[Key], at: datetime, tz: ZoneInfo
) -> Status:
    statuses = [key_status(key, holder, at, tz) for key in keys_]
    return _keyholder_status(holder, statuses, at, tz)


HOLDER = Keyholder(id="h1", given_name="Pat", family_name="Plumber")


def plumber_key(**changes: object) -> Key:
    key = Key(
        id="k1",
        keyholder_id="h1",
        kind=KeyKind.PASSCODE,
        lock_ids=frozenset({"front"}),
        schedule=Schedule(
            windows=(Window(frozenset({THU}), time(13), time(17)),),
            valid_from=local(BERLIN, 2026, 4, 1),
            valid_until=local(BERLIN, 2026, 4, 10),
        ),
        secret="482913",
    )
    return replace(key, **changes)  # type: ignore[arg-type]


def test_plumber_statuses() -> None:
    key = plumber_key()
    cases = {
        local(BERLIN, 2026, 3, 31, 23, 59): Status.UPCOMING,
        local(BERLIN, 2026, 4, 2, 12, 59): Status.OUTSIDE_SCHEDULE,
        local(BERLIN, 2026, 4, 2, 13): Status.ACTIVE,
        local(BERLIN, 2026, 4, 2, 17): Status.OUTSIDE_SCHEDULE,
        local(BERLIN, 2026, 4, 10): Status.EXPIRED,
    }
    for at, expected in cases.items():
        assert key_status(key, HOLDER, at, BERLIN) is expected, at
    assert key_is_effective(key, HOLDER, local(BERLIN, 2026, 4, 2, 14), BERLIN)
    assert not key_is_effective(key, HOLDER, local(BERLIN, 2026, 4, 2, 18), BERLIN)
    assert next_status_change(key, HOLDER, local(BERLIN, 2026, 3, 1), BERLIN) == local(
        BERLIN, 2026, 4, 1
    )
    assert next_status_change(
        key, HOLDER, local(BERLIN, 2026, 4, 2, 12), BERLIN
    ) == local(BERLIN, 2026, 4, 2, 13)
    assert next_status_change(
        key, HOLDER, local(BERLIN, 2026, 4, 9, 18), BERLIN
    ) == local(BERLIN, 2026, 4, 10)
    assert next_status_change(key, HOLDER, local(BERLIN, 2026, 4, 10), BERLIN) is None


def test_precedence_of_statuses() -> None:
    at = local(BERLIN, 2026, 4, 2, 14)
    key = plumber_key()
    blocked = replace(HOLDER, blocked=True)
    assert key_status(key, blocked, at, BERLIN) is Status.BLOCKED
    used = replace(key, max_uses=1, uses=1)
    assert key_status(used, blocked, at, BERLIN) is Status.USED_UP
    cancelled = replace(used, cancelled=True)
    assert key_status(cancelled, blocked, at, BERLIN) is Status.CANCELLED
    after_expiry = local(BERLIN, 2026, 4, 12)
    assert key_status(key, blocked, after_expiry, BERLIN) is Status.EXPIRED
    assert key_status(replace(key, max_uses=2, uses=1), HOLDER, at, BERLIN) is (
        Status.ACTIVE
    )


def test_expiration_date_means_valid_until_midnight() -> None:
    holder = replace(HOLDER, expires_on=date(2026, 4, 10))
    key = Key("k", "h1", KeyKind.PASSCODE, lock_ids=frozenset({"front"}))
    last_moment = local(BERLIN, 2026, 4, 10, 23, 59, 59)
    assert key_status(key, holder, last_moment, BERLIN) is Status.ACTIVE
    midnight = local(BERLIN, 2026, 4, 11)
    assert key_status(key, holder, midnight, BERLIN) is Status.EXPIRED
    assert next_status_change(key, holder, last_moment, BERLIN) == midnight
    assert keyholder_status(holder, [key], last_moment, BERLIN) is Status.ACTIVE
    assert keyholder_status(holder, [key], midnight, BERLIN) is Status.EXPIRED
    # The earlier of key range end and keyholder expiry wins.
    ranged = replace(key, schedule=Schedule(valid_until=local(BERLIN, 2026, 4, 5)))
    assert key_expiry(ranged, holder, BERLIN) == local(BERLIN, 2026, 4, 5)
    later = replace(key, schedule=Schedule(valid_until=local(BERLIN, 2026, 5, 1)))
    assert key_expiry(later, holder, BERLIN) == midnight


def test_key_start_is_later_of_key_and_keyholder() -> None:
    key = plumber_key()
    assert key_start(key, HOLDER) == local(BERLIN, 2026, 4, 1)
    holder = replace(HOLDER, active_from=local(BERLIN, 2026, 4, 3))
    assert key_start(key, holder) == local(BERLIN, 2026, 4, 3)
    bare = replace(key, schedule=Schedule())
    assert key_start(bare, holder) == local(BERLIN, 2026, 4, 3)
    assert key_start(bare, HOLDER) is None


def test_blocked_keyholder() -> None:
    holder = replace(HOLDER, blocked=True, expires_on=date(2026, 4, 30))
    key = plumber_key()
    at = local(BERLIN, 2026, 4, 2, 14)
    assert key_status(key, holder, at, BERLIN) is Status.BLOCKED
    assert not key_is_effective(key, holder, at, BERLIN)
    assert next_status_change(key, holder, at, BERLIN) == local(BERLIN, 2026, 4, 10)
    assert keyholder_status(holder, [key], at, BERLIN) is Status.BLOCKED
    unblocked = replace(holder, blocked=False)
    assert key_status(key, unblocked, at, BERLIN) is Status.ACTIVE


def test_terminal_keys_never_change() -> None:
    at = local(BERLIN, 2026, 4, 2, 14)
    assert next_status_change(plumber_key(cancelled=True), HOLDER, at, BERLIN) is None
    used = plumber_key(max_uses=1, uses=1)
    assert next_status_change(used, HOLDER, at, BERLIN) is None


def test_upcoming_key_expiring_before_it_starts() -> None:
    key = plumber_key(
        schedule=Schedule(
            valid_from=local(BERLIN, 2026, 5, 1), valid_until=local(BERLIN, 2026, 4, 1)
        )
    )
    at = local(BERLIN, 2026, 3, 1)
    assert key_status(key, HOLDER, at, BERLIN) is Status.UPCOMING
    assert next_status_change(key, HOLDER, at, BERLIN) == local(BERLIN, 2026, 4, 1)
    open_ended = plumber_key(schedule=Schedule(valid_from=local(BERLIN, 2026, 5, 1)))
    assert next_status_change(open_ended, HOLDER, at, BERLIN) == local(
        BERLIN, 2026, 5, 1
    )


def test_weekly_key_without_end_date() -> None:
    key = plumber_key(
        schedule=Schedule(windows=(Window(frozenset({THU}), time(13), time(17)),))
    )
    at = local(BERLIN, 2026, 4, 2, 14)
    assert next_status_change(key, HOLDER, at, BERLIN) == local(BERLIN, 2026, 4, 2, 17)
    always = plumber_key(schedule=Schedule())
    assert next_status_change(always, HOLDER, at, BERLIN) is None


def test_keyholder_status_rules() -> None:
    at = local(BERLIN, 2026, 4, 2, 14)
    assert keyholder_status(HOLDER, [], at, BERLIN) is Status.NO_KEY
    later = replace(HOLDER, active_from=local(BERLIN, 2026, 5, 1))
    assert keyholder_status(later, [], at, BERLIN) is Status.UPCOMING
    active = plumber_key()
    outside = plumber_key(
        id="k2", schedule=Schedule(windows=(Window(frozenset({0}), time(8), time(9)),))
    )
    upcoming = plumber_key(
        id="k3", schedule=Schedule(valid_from=local(BERLIN, 2026, 6, 1))
    )
    cancelled = plumber_key(id="k4", cancelled=True)
    assert keyholder_status(HOLDER, [active, outside, upcoming], at, BERLIN) is (
        Status.ACTIVE
    )
    assert keyholder_status(HOLDER, [outside, upcoming], at, BERLIN) is Status.UPCOMING
    assert keyholder_status(HOLDER, [outside, cancelled], at, BERLIN) is (
        Status.OUTSIDE_SCHEDULE
    )
    assert keyholder_status(HOLDER, [cancelled], at, BERLIN) is Status.NO_KEY


def test_keyholder_without_a_working_key() -> None:
    """Nobody without a key that works now or later looks active or expired."""
    at = local(BERLIN, 2026, 4, 2, 14)
    cancelled = plumber_key(id="c", cancelled=True)
    used = plumber_key(id="u", max_uses=1, uses=1)
    expired = plumber_key(id="e", schedule=Schedule(valid_until=at))
    cases: list[tuple[list[Key], Status]] = [
        ([], Status.NO_KEY),
        ([cancelled], Status.NO_KEY),
        ([cancelled, replace(cancelled, id="c2")], Status.NO_KEY),
        ([used], Status.USED_UP),
        ([used, cancelled], Status.USED_UP),
        ([expired], Status.EXPIRED),
        ([expired, cancelled], Status.EXPIRED),
        ([expired, used], Status.NO_KEY),
        ([expired, used, plumber_key(id="a")], Status.ACTIVE),
    ]
    for keys_, expected in cases:
        assert keyholder_status(HOLDER, keys_, at, BERLIN) is expected, keys_
    # The keyholder's own limits still come first.
    later = replace(HOLDER, active_from=local(BERLIN, 2026, 5, 1))
    assert keyholder_status(later, [cancelled], at, BERLIN) is Status.UPCOMING
    blocked = replace(HOLDER, blocked=True)
    assert keyholder_status(blocked, [], at, BERLIN) is Status.BLOCKED


def test_keyholder_next_change() -> None:
    holder = replace(
        HOLDER, active_from=local(BERLIN, 2026, 4, 1), expires_on=date(2026, 4, 30)
    )
    assert keyholder_next_change(holder, local(BERLIN, 2026, 3, 1), BERLIN) == local(
        BERLIN, 2026, 4, 1
    )
    assert keyholder_next_change(holder, local(BERLIN, 2026, 4, 2), BERLIN) == local(
        BERLIN, 2026, 5, 1
    )
    assert keyholder_next_change(holder, local(BERLIN, 2026, 5, 2), BERLIN) is None
    assert keyholder_next_change(HOLDER, local(BERLIN, 2026, 5, 2), BERLIN) is None


def test_next_site_change_includes_keyholders_and_skips_orphans() -> None:
    site = Site()
    site.put_keyholder(replace(HOLDER, active_from=local(BERLIN, 2026, 3, 15)))
    put_own_key(site, plumber_key())
    put_own_key(site, plumber_key(id="orphan", keyholder_id="missing"))
    assert next_site_change(site, local(BERLIN, 2026, 3, 1), BERLIN) == local(
        BERLIN, 2026, 3, 15
    )
    assert next_site_change(site, local(BERLIN, 2026, 3, 20), BERLIN) == local(
        BERLIN, 2026, 4, 1
    )
    assert next_site_change(site, local(BERLIN, 2026, 4, 11), BERLIN) is None
    assert next_site_change(Site(), local(BERLIN, 2026, 4, 11), BERLIN) is None


# --- transition index ----------------------------------------------------------------


def test_transition_index_follows_edits() -> None:
    site = Site()
    site.put_keyholder(HOLDER)
    put_own_key(site, plumber_key())
    site.put_keyholder(Keyholder(id="h2", given_name="Other"))
    put_own_key(site, plumber_key(id="other", keyholder_id="h2", cancelled=True))
    start = local(BERLIN, 2026, 3, 1)
    index = TransitionIndex(site, BERLIN, start)
    assert index.next_change(start) == local(BERLIN, 2026, 4, 1)
    assert len(index) >= 1

    # A key that starts earlier.
    put_own_key(
        site,
        plumber_key(id="k2", schedule=Schedule(valid_from=local(BERLIN, 2026, 3, 10))),
    )
    index.refresh_key("k2")
    assert index.next_change(start) == local(BERLIN, 2026, 3, 10)

    # Removing it again (with the access issued with it) makes its entry stale.
    site.remove_key("k2")
    site.remove_grant(key_grant_id("k2"))
    index.refresh_key("k2")
    index.refresh_keyholder("h1")
    assert index.next_change(start) == local(BERLIN, 2026, 4, 1)

    # Keyholder edits refresh the keyholder and its keys.
    site.put_keyholder(replace(HOLDER, active_from=local(BERLIN, 2026, 3, 5)))
    index.refresh_keyholder("h1")
    assert index.next_change(start) == local(BERLIN, 2026, 3, 5)
    site.put_keyholder(replace(HOLDER, blocked=True))
    index.refresh_keyholder("h1")
    assert index.next_change(start) == local(BERLIN, 2026, 4, 10)

    # Walking forward, then asking about the past, rebuilds.
    assert index.next_change(local(BERLIN, 2026, 4, 20)) is None
    site.put_keyholder(HOLDER)
    index.refresh_keyholder("h1")
    assert index.next_change(start) == local(BERLIN, 2026, 4, 1)

    # Items that vanished from the site produce nothing.
    site.remove_keyholder("h1")
    index.refresh_keyholder("h1")
    index.refresh_key("k1")
    assert index.next_change(start) is None
    put_own_key(site, plumber_key(id="orphan", keyholder_id="missing"))
    index.refresh_key("orphan")
    assert index.next_change(start) is None


# --- properties ----------------------------------------------------------------------


@st.composite
def key_cases(draw: st.DrawFn) -> tuple[ZoneInfo, Key, Keyholder, datetime]:
    tz = draw(zones)
    holder = draw(keyholders("h", tz))
    return tz, draw(keys("k", "h", tz)), holder, draw(instants(tz))


@PROPERTY_SETTINGS
@given(key_cases())
def test_next_status_change_is_the_first_change(
    case: tuple[ZoneInfo, Key, Keyholder, datetime],
) -> None:
    tz, key, holder, after = case
    status = key_status(key, holder, after, tz)
    change = next_status_change(key, holder, after, tz)
    if change is None:
        for day in range(1, 40):
            at = after + timedelta(days=day, minutes=7 * day)
            assert key_status(key, holder, at, tz) is status
        return
    assert change > after
    step = (change - after) / 10
    for index in range(1, 10):
        # A change microseconds away rounds steps up to the change itself.
        at = min(after + step * index, change - timedelta(microseconds=1))
        assert key_status(key, holder, at, tz) is status
    assert key_status(key, holder, change - timedelta(microseconds=1), tz) is status
    assert key_status(key, holder, change, tz) is not status
    assert key_is_effective(key, holder, after, tz) == (status is Status.ACTIVE)


@PROPERTY_SETTINGS
@given(st.data())
def test_transition_index_matches_reference(data: st.DataObject) -> None:
    tz = data.draw(zones)
    site = data.draw(sites(tz))
    start = data.draw(instants(tz))
    index = TransitionIndex(site, tz, start)
    when: datetime | None = start
    for _ in range(6):
        assert when is not None
        expected = next_site_change(site, when, tz)
        assert index.next_change(when) == expected
        if expected is None:
            break
        when = expected


def test_index_handles_utc_and_local_inputs() -> None:
    site = Site()
    site.put_keyholder(HOLDER)
    put_own_key(site, plumber_key())
    at = datetime(2026, 3, 1, tzinfo=UTC)
    assert TransitionIndex(site, BERLIN, at).next_change(at.astimezone(BERLIN)) == (
        local(BERLIN, 2026, 4, 1)
    )
