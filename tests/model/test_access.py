"""Access: groups, memberships and personal access, and what keys open from them."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, time, timedelta

from hypothesis import given, strategies as st

from custom_components.keyholder.model.access import (
    Moment,
    term_intervals,
)
from custom_components.keyholder.model.plan import UnplacedReason, make_plan
from custom_components.keyholder.model.site import Site
from custom_components.keyholder.model.status import (
    _MAX_EDGES as MAX_EDGES,
    Status,
    key_status,
    next_possible_change,
    next_status_change,
)
from custom_components.keyholder.model.transitions import TransitionIndex
from custom_components.keyholder.model.values import (
    ALWAYS,
    AccessGroup,
    Grant,
    Key,
    Keyholder,
    KeyKind,
    LockCapabilities,
    Membership,
    Schedule,
    Window,
)

from .strategies import BERLIN, PROPERTY_SETTINGS, local, schedules

MON, TUE, FRI = 0, 1, 4
FRONT, BACK = "front", "back"
LOCKS = {FRONT: LockCapabilities(), BACK: LockCapabilities()}
# Monday 2026-03-02 is the week of these tests.
MONDAY = local(BERLIN, 2026, 3, 2)


def weekly(days: set[int], start: int, end: int) -> Schedule:
    return Schedule(windows=(Window(frozenset(days), time(start), time(end)),))


CLEANERS = AccessGroup(
    "cleaners", "Cleaners", frozenset({FRONT}), weekly({MON, FRI}, 9, 12)
)


def cleaner_site(*members: str, schedule: Schedule = ALWAYS) -> Site:
    """A site with the Cleaners group and each member holding one passcode."""
    site = Site()
    site.put_group(CLEANERS)
    for index, name in enumerate(members, start=1):
        site.put_keyholder(Keyholder(name, name.title()))
        site.put_membership(Membership(CLEANERS.id, name, schedule))
        site.put_key(
            Key(f"k{index}", name, KeyKind.PASSCODE, None, secret=f"{index}" * 6)
        )
    return site


def status(site: Site, key_id: str, at: datetime) -> Status:
    key = site.keys[key_id]
    holder = site.keyholders[key.keyholder_id]
    return key_status(key, holder, at, BERLIN, terms=site.terms_of(key))


def codes(site: Site, at: datetime) -> dict[str, set[str]]:
    plan = make_plan(site, LOCKS, at, BERLIN)
    return {
        lock: {credential.secret for credential in held.values()}
        for lock, held in plan.desired.items()
    }


def test_a_key_follows_its_keyholders_group() -> None:
    site = cleaner_site("anna", "ben")
    monday_10 = MONDAY + timedelta(hours=10)
    assert codes(site, monday_10) == {FRONT: {"111111", "222222"}, BACK: set()}
    assert codes(site, MONDAY + timedelta(hours=13)) == {FRONT: set(), BACK: set()}
    assert status(site, "k1", MONDAY + timedelta(hours=13)) is Status.OUTSIDE_SCHEDULE
    # Moving the group to 10:00-13:00 moves both codes at once.
    assert site.put_group(replace(CLEANERS, schedule=weekly({MON, FRI}, 10, 13))) == {
        "anna",
        "ben",
    }
    assert codes(site, MONDAY + timedelta(hours=9, minutes=30))[FRONT] == set()
    assert codes(site, MONDAY + timedelta(hours=12, minutes=30))[FRONT] == {
        "111111",
        "222222",
    }
    # Deleting the group takes its access (and its memberships) away.
    assert site.remove_group(CLEANERS.id) == {"anna", "ben"}
    assert site.memberships == {}
    assert status(site, "k1", monday_10) is Status.NO_ACCESS
    assert codes(site, monday_10)[FRONT] == set()


def test_a_reduced_membership_is_within_the_group() -> None:
    # Anna's membership says Monday to Friday 8-18: she still only has the
    # group's Monday and Friday 9-12.
    site = cleaner_site("anna", schedule=weekly({0, 1, 2, 3, 4}, 8, 18))
    assert status(site, "k1", MONDAY + timedelta(hours=8, minutes=30)) is (
        Status.OUTSIDE_SCHEDULE
    )
    assert status(site, "k1", MONDAY + timedelta(days=1, hours=10)) is (
        Status.OUTSIDE_SCHEDULE
    )
    assert status(site, "k1", MONDAY + timedelta(hours=10)) is Status.ACTIVE
    # Reduced to Fridays: Mondays are gone.
    site.put_membership(Membership(CLEANERS.id, "anna", weekly({FRI}, 0, 0)))
    assert status(site, "k1", MONDAY + timedelta(hours=10)) is Status.OUTSIDE_SCHEDULE
    assert status(site, "k1", MONDAY + timedelta(days=4, hours=10)) is Status.ACTIVE


@PROPERTY_SETTINGS
@given(st.data())
def test_a_membership_never_widens_its_group(data: st.DataObject) -> None:
    group = replace(CLEANERS, schedule=data.draw(schedules(BERLIN)))
    reduced = data.draw(schedules(BERLIN))
    site = Site()
    site.put_group(group)
    site.put_keyholder(Keyholder("anna", "Anna"))
    site.put_membership(Membership(group.id, "anna", reduced))
    site.put_key(Key("k", "anna", KeyKind.PASSCODE, None, secret="123456"))
    start = local(BERLIN, 2026, 3, 1)
    end = start + timedelta(days=60)
    (term,) = site.terms_of(site.keys["k"])
    group_term = replace(term, schedules=(group.schedule,))
    allowed = term_intervals(group_term, start, end, BERLIN)
    for low, high in term_intervals(term, start, end, BERLIN):
        assert any(a <= low and high <= b for a, b in allowed), (low, high)


def test_membership_dates_bound_the_access() -> None:
    # A subscription: member from Monday 00:00 to the end of Friday.
    month = Schedule(valid_from=MONDAY, valid_until=MONDAY + timedelta(days=5))
    site = cleaner_site("anna", schedule=month)
    before = MONDAY - timedelta(days=3) + timedelta(hours=10)  # the Friday before
    assert status(site, "k1", before) is Status.UPCOMING
    assert status(site, "k1", MONDAY + timedelta(hours=10)) is Status.ACTIVE
    after = MONDAY + timedelta(days=7, hours=10)
    assert status(site, "k1", after) is Status.NO_ACCESS
    # Upcoming until the membership starts (then outside the group's hours);
    # the site's timer wakes no later (where a schedule changes).
    key, holder = site.keys["k1"], site.keyholders["anna"]
    terms = site.terms_of(key)
    assert next_status_change(key, holder, before, BERLIN, terms=terms) == MONDAY
    wake = TransitionIndex(site, BERLIN, before).next_change(before)
    assert wake is not None
    assert before < wake <= MONDAY


def test_tiered_groups_on_the_same_lock() -> None:
    day = AccessGroup("day", "Day", frozenset({FRONT}), weekly(set(range(7)), 9, 18))
    always = AccessGroup("always", "24/7", frozenset({FRONT}))
    site = Site()
    for group in (day, always):
        site.put_group(group)
    for holder, group, code in (("dora", day, "444444"), ("alex", always, "111111")):
        site.put_keyholder(Keyholder(holder, holder))
        site.put_membership(Membership(group.id, holder))
        site.put_key(Key(holder, holder, KeyKind.PASSCODE, None, secret=code))
    night = MONDAY + timedelta(hours=22)
    assert codes(site, night)[FRONT] == {"111111"}
    assert codes(site, MONDAY + timedelta(hours=10))[FRONT] == {"111111", "444444"}


def test_personal_access_adds_to_group_access() -> None:
    site = cleaner_site("anna")
    site.put_grant(Grant("p", "anna", frozenset({BACK}), weekly({TUE}, 14, 16)))
    tuesday_15 = MONDAY + timedelta(days=1, hours=15)
    assert codes(site, tuesday_15) == {FRONT: set(), BACK: {"111111"}}
    assert codes(site, MONDAY + timedelta(hours=10)) == {FRONT: {"111111"}, BACK: set()}
    assert site.locks_of(site.keys["k1"]) == {FRONT, BACK}
    assert {key.id for key in site.keys_on(BACK)} == {"k1"}
    # A key limited to the front door does not go to the back door.
    site.put_key(replace(site.keys["k1"], lock_ids=frozenset({FRONT})))
    assert codes(site, tuesday_15)[BACK] == set()
    assert site.keys_on(BACK) == []
    site.remove_grant("p")
    assert site.grants == {}


def test_a_blocked_member_opens_nothing() -> None:
    site = cleaner_site("anna")
    site.put_keyholder(replace(site.keyholders["anna"], blocked=True))
    monday_10 = MONDAY + timedelta(hours=10)
    assert status(site, "k1", monday_10) is Status.BLOCKED
    assert codes(site, monday_10)[FRONT] == set()


def test_two_accesses_meeting_on_a_lock_with_one_code() -> None:
    # Two people whose codes are the same meet on the front door: the one
    # issued first keeps it, the other is reported, never written twice.
    site = cleaner_site("anna", "ben")
    site.put_key(replace(site.keys["k2"], secret="111111"))
    plan = make_plan(site, LOCKS, MONDAY + timedelta(hours=10), BERLIN)
    assert [c.key_id for c in plan.desired[FRONT].values()] == ["k1"]
    assert [(u.key_id, u.reason) for u in plan.unplaced] == [
        ("k2", UnplacedReason.CODE_DUPLICATE)
    ]


def test_removing_a_keyholder_removes_their_access() -> None:
    site = cleaner_site("anna")
    site.put_grant(Grant("p", "anna", frozenset({BACK})))
    site.take_changed()
    site.remove_keyholder("anna")
    assert site.memberships == {}
    assert site.grants == {}
    assert {"cleaners:anna", "p", "anna", "k1"} <= (site.take_changed() or set())


def test_a_moment_looks_at_a_shared_schedule_once() -> None:
    site = cleaner_site(*(f"m{i}" for i in range(50)))
    moment = Moment(MONDAY + timedelta(hours=10), BERLIN)
    opened = [moment.open_locks(site.terms_of(key)) for key in site.keys.values()]
    assert opened == [frozenset({FRONT})] * 50
    assert len(moment._active) == 1


def test_the_next_change_is_one_that_changes_what_the_key_opens() -> None:
    # Group Monday 10-13, the key's own hours Monday 11-12: 10:00 and 13:00
    # change nothing for the key; 11:00 and 12:00 do.
    site = cleaner_site("anna")
    site.put_group(replace(CLEANERS, schedule=weekly({MON}, 10, 13)))
    site.put_key(replace(site.keys["k1"], schedule=weekly({MON}, 11, 12)))
    key, holder = site.keys["k1"], site.keyholders["anna"]
    terms = site.terms_of(key)
    nine = MONDAY + timedelta(hours=9)
    assert next_status_change(key, holder, nine, BERLIN, terms=terms) == (
        MONDAY + timedelta(hours=11)
    )
    eleven = MONDAY + timedelta(hours=11)
    assert next_status_change(key, holder, eleven, BERLIN, terms=terms) == (
        MONDAY + timedelta(hours=12)
    )
    # The site's timer wakes no later (at 10:00, where the group's hours begin).
    wake = TransitionIndex(site, BERLIN, nine).next_change(nine)
    assert wake == MONDAY + timedelta(hours=10)


@PROPERTY_SETTINGS
@given(st.data())
def test_a_members_next_change_is_the_first_change(data: st.DataObject) -> None:
    """With a group, a reduced membership and a key's own hours: the first change."""
    site = Site()
    site.put_group(replace(CLEANERS, schedule=data.draw(schedules(BERLIN))))
    site.put_keyholder(Keyholder("anna", "Anna"))
    site.put_membership(Membership(CLEANERS.id, "anna", data.draw(schedules(BERLIN))))
    site.put_grant(
        Grant("own", "anna", frozenset({BACK}), data.draw(schedules(BERLIN)))
    )
    own = data.draw(schedules(BERLIN))
    site.put_key(Key("k", "anna", KeyKind.PASSCODE, None, own, secret="123456"))
    key, holder = site.keys["k"], site.keyholders["anna"]
    terms = site.terms_of(key)
    after = local(BERLIN, 2026, 3, 1) + timedelta(
        minutes=data.draw(st.integers(0, 60 * 24 * 90))
    )

    def seen(at: datetime) -> tuple[Status, frozenset[str]]:
        moment = Moment(at, BERLIN)
        status = key_status(key, holder, at, BERLIN, terms=terms, moment=moment)
        return status, moment.open_locks(terms)

    before = seen(after)
    change = next_status_change(key, holder, after, BERLIN, terms=terms)
    if change is None:
        for day in range(1, 30):
            assert seen(after + timedelta(days=day, minutes=7 * day)) == before
        return
    assert change > after
    step = (change - after) / 10
    for index in range(1, 10):
        at = min(after + step * index, change - timedelta(microseconds=1))
        assert seen(at) == before
    if seen(change) == before:
        # Only where the search gave up: that many edges changed nothing
        # (the timer looks again there, which costs a wake-up, not a change).
        edges, at = 0, after
        while (
            edge := next_possible_change(key, holder, at, BERLIN, terms=terms)
        ) is not None and edge <= change:
            edges, at = edges + 1, edge
        assert edges >= MAX_EDGES
    # The timer's cheap bound is never later.
    possible = next_possible_change(key, holder, after, BERLIN, terms=terms)
    assert possible is not None
    assert possible <= change


def test_keys_issued_on_their_own_locks_open_just_that() -> None:
    """A calendar's stays: each key with its own access; the others add nothing."""
    site = Site()
    site.put_keyholder(Keyholder("guests", "Guests"))
    for day in range(40):
        start = MONDAY + timedelta(days=day)
        stay = Schedule(valid_from=start, valid_until=start + timedelta(hours=20))
        key = Key(f"stay{day}", "guests", KeyKind.PASSCODE, frozenset({FRONT}), stay)
        site.put_grant(Grant(f"stay{day}.access", "guests", key.lock_ids, stay))
        site.put_key(replace(key, secret=f"{100000 + day}"))
    for key in site.keys.values():
        (term,) = site.terms_of(key)
        assert term.source == f"{key.id}.access"
    assert status(site, "stay3", MONDAY + timedelta(days=3, hours=1)) is Status.ACTIVE
    assert status(site, "stay3", MONDAY + timedelta(days=4, hours=1)) is Status.EXPIRED
    # A key of theirs that follows their access opens every stay.
    site.put_key(Key("all", "guests", KeyKind.PASSCODE, None, secret="271828"))
    assert len(site.terms_of(site.keys["all"])) == 40
    # Changing one stay's access looks again at that key (and the one above).
    later = Schedule(valid_from=MONDAY + timedelta(days=50))
    site.put_grant(Grant("stay3.access", "guests", frozenset({FRONT}), later))
    assert (
        status(site, "stay3", MONDAY + timedelta(days=3, hours=1)) is Status.NO_ACCESS
    )
