from __future__ import annotations

from dataclasses import replace
from datetime import time

from hypothesis import given, strategies as st
import pytest

from custom_components.keyholder.model.operations import Operation, OpKind, diff
from custom_components.keyholder.model.plan import (
    Credential,
    Unplaced,
    UnplacedReason,
    desired_state,
    make_plan,
    record_use,
)
from custom_components.keyholder.model.site import Site
from custom_components.keyholder.model.status import Status, key_status
from custom_components.keyholder.model.values import (
    CredentialRef,
    Key,
    Keyholder,
    KeyKind,
    LockCapabilities,
    Schedule,
    SlotRange,
    Window,
)

from .strategies import (
    BERLIN,
    LOCK_IDS,
    PROPERTY_SETTINGS,
    instants,
    local,
    put_own_key,
    sites,
    zones,
)

THU = 3
PASSCODE, TAG = KeyKind.PASSCODE, KeyKind.TAG
LOCKS = {"front": LockCapabilities()}
NOON = local(BERLIN, 2026, 4, 2, 12)


def P(index: int) -> CredentialRef:  # noqa: N802 - reads like the lock's own label
    """Return passcode ``index``."""
    return CredentialRef(PASSCODE, index)


def passcodes(last: int, reserved: frozenset[int] = frozenset()) -> LockCapabilities:
    """Return a passcode lock with slots 1 to ``last``."""
    return LockCapabilities(slots={PASSCODE: SlotRange(1, last, reserved)})


def make_site(*keys: Key) -> Site:
    site = Site()
    site.put_keyholder(Keyholder("h1", "Pat"))
    for key in keys:
        put_own_key(site, key)
    return site


def pin(key_id: str, secret: str, **changes: object) -> Key:
    key = Key(key_id, "h1", KeyKind.PASSCODE, frozenset({"front"}), secret=secret)
    return replace(key, **changes)  # type: ignore[arg-type]


def apply(
    ops: list[Operation],
    actual: dict[CredentialRef, str | None],
    managed: set[CredentialRef],
) -> None:
    for op in ops:
        if op.kind is OpKind.SET:
            assert op.credential is not None
            actual[op.ref] = op.credential.secret
            managed.add(op.ref)
        else:
            actual.pop(op.ref, None)


# --- desired state ---------------------------------------------------------------------


def test_plumber_code_appears_and_disappears() -> None:
    plumber = pin(
        "plumber",
        "482913",
        schedule=Schedule(
            windows=(Window(frozenset({THU}), time(13), time(17)),),
            valid_from=local(BERLIN, 2026, 4, 1),
            valid_until=local(BERLIN, 2026, 4, 10),
        ),
    )
    site = make_site(plumber)
    assert desired_state(site, LOCKS, NOON, BERLIN) == {"front": {}}
    assert site.slots == {}

    at_one = local(BERLIN, 2026, 4, 2, 13)
    desired = desired_state(site, LOCKS, at_one, BERLIN)
    credential = Credential(P(1), "482913", "plumber")
    assert desired == {"front": {P(1): credential}}
    assert credential.kind is PASSCODE
    assert site.slots == {"front": {"plumber": 1}}
    actual: dict[CredentialRef, str | None] = {}
    managed: set[CredentialRef] = set()
    ops = diff("front", desired["front"], actual, managed=managed, can_read_back=True)
    assert ops == [Operation(OpKind.SET, "front", P(1), credential)]
    apply(ops, actual, managed)

    at_five = local(BERLIN, 2026, 4, 2, 17)
    desired = desired_state(site, LOCKS, at_five, BERLIN)
    assert desired == {"front": {}}
    assert site.slots == {"front": {"plumber": 1}}  # kept for next Thursday
    ops = diff("front", desired["front"], actual, managed=managed, can_read_back=True)
    assert ops == [Operation(OpKind.CLEAR, "front", P(1), None)]

    # After the range ends the slot is released.
    desired_state(site, LOCKS, local(BERLIN, 2026, 4, 10), BERLIN)
    assert site.slots == {}


def test_blocked_keyholder_leaves_and_returns_to_same_slot() -> None:
    site = make_site(pin("a", "482913"), pin("b", "593024"))
    assert desired_state(site, LOCKS, NOON, BERLIN)["front"].keys() == {P(1), P(2)}
    site.put_keyholder(replace(site.keyholders["h1"], blocked=True))
    assert desired_state(site, LOCKS, NOON, BERLIN) == {"front": {}}
    assert site.slots == {"front": {"a": 1, "b": 2}}
    put_own_key(site, pin("c", "604135"))  # would take slot 1 if it were free
    site.put_keyholder(Keyholder("h2", "Other"))
    put_own_key(site, replace(pin("c", "604135"), keyholder_id="h2"))
    assert set(desired_state(site, LOCKS, NOON, BERLIN)["front"]) == {P(3)}
    site.put_keyholder(replace(site.keyholders["h1"], blocked=False))
    desired = desired_state(site, LOCKS, NOON, BERLIN)["front"]
    assert _holders(desired) == {1: "a", 2: "b", 3: "c"}


def test_one_time_key_becomes_used_up_and_leaves_plan() -> None:
    site = make_site(pin("once", "482913", max_uses=1))
    assert set(desired_state(site, LOCKS, NOON, BERLIN)["front"]) == {P(1)}
    used = record_use(site, "once")
    assert used.uses == 1
    assert site.keys["once"] is used
    holder = site.keyholders["h1"]
    terms = site.terms_of(used)
    assert key_status(used, holder, NOON, BERLIN, terms=terms) is Status.USED_UP
    assert desired_state(site, LOCKS, NOON, BERLIN) == {"front": {}}
    assert site.slots == {}
    with pytest.raises(KeyError):
        record_use(site, "missing")


def test_slot_reuse_after_cancel() -> None:
    site = make_site(pin("a", "482913"), pin("b", "593024"))
    desired_state(site, LOCKS, NOON, BERLIN)
    assert site.slots["front"] == {"a": 1, "b": 2}
    put_own_key(site, replace(site.keys["a"], cancelled=True))
    put_own_key(site, pin("c", "604135"))
    desired = desired_state(site, LOCKS, NOON, BERLIN)["front"]
    assert _holders(desired) == {1: "c", 2: "b"}


def _holders(desired: dict[CredentialRef, Credential]) -> dict[int, str]:
    """Return passcode index -> key id (every credential planned is a passcode)."""
    assert all(ref.kind is PASSCODE for ref in desired)
    return {ref.index: cred.key_id for ref, cred in desired.items()}


def test_waiting_keys_get_freed_slots_in_issue_order() -> None:
    """Keys waiting for a slot get it in issue order, not in key id order."""
    caps = {"front": passcodes(3)}
    # Issued first to last: e, d, c, b, a (ids sort the other way round).
    site = make_site()
    for key_id, secret in zip(
        "edcba", ("482913", "593024", "604135", "715246", "826357"), strict=True
    ):
        put_own_key(site, pin(key_id, secret, serial=site.next_serial()))
    plan = make_plan(site, caps, NOON, BERLIN)
    assert _holders(plan.desired["front"]) == {1: "e", 2: "d", 3: "c"}
    assert plan.unplaced == (
        Unplaced("a", "front", UnplacedReason.NO_FREE_SLOT),
        Unplaced("b", "front", UnplacedReason.NO_FREE_SLOT),
    )
    put_own_key(site, replace(site.keys["e"], cancelled=True))
    plan = make_plan(site, caps, NOON, BERLIN)
    # "b" was issued before "a": it gets the freed slot.
    assert _holders(plan.desired["front"]) == {1: "b", 2: "d", 3: "c"}
    assert plan.unplaced == (Unplaced("a", "front", UnplacedReason.NO_FREE_SLOT),)
    put_own_key(site, replace(site.keys["d"], cancelled=True))
    plan = make_plan(site, caps, NOON, BERLIN)
    assert _holders(plan.desired["front"]) == {1: "b", 2: "a", 3: "c"}
    assert plan.unplaced == ()


def test_keys_stored_without_serial_come_first() -> None:
    site = make_site(pin("b", "482913"), pin("a", "593024"))
    assert site.next_serial() == 1
    put_own_key(site, pin("0", "604135", serial=site.next_serial()))
    assert site.keys["0"].serial == 1
    assert site.next_serial() == 2
    caps = {"front": passcodes(2)}
    plan = make_plan(site, caps, NOON, BERLIN)
    assert _holders(plan.desired["front"]) == {1: "a", 2: "b"}
    assert plan.unplaced == (Unplaced("0", "front", UnplacedReason.NO_FREE_SLOT),)


def test_refused_key_leaves_its_slot_to_the_next_one() -> None:
    caps = {"front": passcodes(1)}
    site = make_site(pin("a", "482913", serial=1), pin("b", "593024", serial=2))
    assert _holders(make_plan(site, caps, NOON, BERLIN).desired["front"]) == {1: "a"}
    plan = make_plan(site, caps, NOON, BERLIN, refused={"front": {"a"}})
    assert _holders(plan.desired["front"]) == {1: "b"}
    assert plan.unplaced == (Unplaced("a", "front", UnplacedReason.CODE_DUPLICATE),)
    assert site.slots == {"front": {"b": 1}}
    # Refusals on another lock change nothing here.
    plan = make_plan(site, caps, NOON, BERLIN, refused={"back": {"b"}})
    assert _holders(plan.desired["front"]) == {1: "b"}


def test_key_leaving_lock_frees_slot() -> None:
    site = make_site(pin("a", "482913"))
    desired_state(site, LOCKS, NOON, BERLIN)
    put_own_key(site, replace(site.keys["a"], lock_ids=frozenset({"back"})))
    assert desired_state(site, LOCKS, NOON, BERLIN) == {"front": {}}
    assert site.slots == {}


def test_reserved_and_occupied_slots_are_skipped() -> None:
    caps = {"front": passcodes(30, frozenset({1, 2}))}
    site = make_site(pin("a", "482913"), pin("b", "593024"))
    desired = desired_state(site, caps, NOON, BERLIN, occupied={"front": [P(3)]})
    assert _holders(desired["front"]) == {4: "a", 5: "b"}
    # Someone wrote a code into slot 4 behind our back: "a" moves.
    occupied = {"front": [P(3), P(4)]}
    desired = desired_state(site, caps, NOON, BERLIN, occupied=occupied)
    assert _holders(desired["front"]) == {5: "b", 6: "a"}
    # A slot that became reserved is given up too.
    caps = {"front": passcodes(30, frozenset({1, 2, 5}))}
    desired = desired_state(site, caps, NOON, BERLIN, occupied=occupied)
    assert _holders(desired["front"]) == {6: "a", 7: "b"}
    # A tag held at index 6 does not make passcode slot 6 occupied.
    occupied = {"front": [P(3), P(4), CredentialRef(TAG, 6)]}
    desired = desired_state(site, caps, NOON, BERLIN, occupied=occupied)
    assert _holders(desired["front"]) == {6: "a", 7: "b"}


def tag(key_id: str, uid: str, **changes: object) -> Key:
    return replace(pin(key_id, uid, **changes), kind=TAG)


def test_each_kind_has_its_own_slots() -> None:
    """PINs and tags are numbered apart: both start at 1, each fills on its own."""
    caps = {
        "front": LockCapabilities(
            slots={PASSCODE: SlotRange(1, 2), TAG: SlotRange(1, 2)}
        )
    }
    weekly = Schedule(windows=(Window(frozenset({THU}), time(13), time(17)),))
    site = make_site(
        pin("a", "482913", serial=1),
        tag("t1", "04A1B2C3", serial=2, schedule=weekly),
        pin("b", "593024", serial=3),
        tag("t2", "04D4E5F6", serial=4),
    )
    thursday = local(BERLIN, 2026, 4, 2, 14)
    desired = desired_state(site, caps, thursday, BERLIN)["front"]
    assert {ref: c.key_id for ref, c in desired.items()} == {
        P(1): "a",
        P(2): "b",
        CredentialRef(TAG, 1): "t1",
        CredentialRef(TAG, 2): "t2",
    }
    assert site.slots["front"] == {"a": 1, "t1": 1, "b": 2, "t2": 2}
    # Outside Thursday "t1" is idle: a new tag takes its slot over, a new PIN
    # finds no free passcode slot (and takes no tag slot).
    put_own_key(site, tag("t3", "04AAAAAA", serial=5))
    put_own_key(site, pin("c", "604135", serial=6))
    plan = make_plan(site, caps, NOON, BERLIN)
    assert {ref: c.key_id for ref, c in plan.desired["front"].items()} == {
        P(1): "a",
        P(2): "b",
        CredentialRef(TAG, 1): "t3",
        CredentialRef(TAG, 2): "t2",
    }
    assert plan.unplaced == (Unplaced("c", "front", UnplacedReason.NO_FREE_SLOT),)
    # A tag reported at index 2 by someone else moves only the tag.
    plan = make_plan(
        site, caps, NOON, BERLIN, occupied={"front": [CredentialRef(TAG, 2)]}
    )
    assert plan.desired["front"][P(2)].key_id == "b"
    assert CredentialRef(TAG, 2) not in plan.desired["front"]


def test_unplaced_reasons_and_app_keys() -> None:
    caps = {"front": LockCapabilities(pin_min=4, pin_max=6)}
    site = make_site(
        pin("long", "48291375"),
        pin("letters", "48a913"),
        pin("nosecret", ""),
        replace(pin("tag", "04a1b2c3"), kind=KeyKind.TAG),
        replace(pin("app", "x"), kind=KeyKind.APP, secret=None),
        pin("cancelled", "482913", cancelled=True),
    )
    plan = make_plan(site, caps, NOON, BERLIN)
    assert plan.desired == {"front": {}}
    assert plan.unplaced == (
        Unplaced("letters", "front", UnplacedReason.PASSCODE_REJECTED),
        Unplaced("long", "front", UnplacedReason.PASSCODE_REJECTED),
        Unplaced("nosecret", "front", UnplacedReason.NO_SECRET),
        Unplaced("tag", "front", UnplacedReason.UNSUPPORTED_KIND),
    )
    assert plan.statuses["app"] is Status.ACTIVE
    assert plan.statuses["cancelled"] is Status.CANCELLED


def test_planning_one_lock_looks_at_its_keys_only() -> None:
    site = make_site(
        pin("front", "482913"),
        replace(pin("back", "582913"), lock_ids=frozenset({"back"})),
    )
    caps = {"front": LockCapabilities(pin_min=4, pin_max=6)}
    plan = make_plan(site, caps, NOON, BERLIN)
    assert set(plan.statuses) == {"front"}
    assert [c.key_id for c in plan.desired["front"].values()] == ["front"]


def test_full_lock_takes_over_idle_slots_then_reports() -> None:
    caps = {"front": passcodes(2)}
    weekly = Schedule(windows=(Window(frozenset({THU}), time(13), time(17)),))
    site = make_site(pin("a", "482913", schedule=weekly), pin("b", "593024"))
    desired_state(site, caps, local(BERLIN, 2026, 4, 2, 14), BERLIN)
    assert site.slots["front"] == {"a": 1, "b": 2}
    # Outside Thursday "a" is idle; a new key takes its slot over.
    put_own_key(site, pin("c", "604135"))
    put_own_key(site, pin("d", "715246"))
    plan = make_plan(site, caps, NOON, BERLIN)
    assert _holders(plan.desired["front"]) == {1: "c", 2: "b"}
    assert plan.unplaced == (Unplaced("d", "front", UnplacedReason.NO_FREE_SLOT),)


def test_unknown_locks_and_orphan_keys() -> None:
    site = make_site(pin("a", "482913", lock_ids=frozenset({"front", "ghost"})))
    put_own_key(site, replace(pin("orphan", "593024"), keyholder_id="nobody"))
    site.slots = {"ghost": {"a": 7}, "front": {"orphan": 1}}
    desired = desired_state(site, LOCKS, NOON, BERLIN)
    # The orphan's slot is freed and reused; the unknown lock is left alone.
    assert desired == {"front": {P(1): Credential(P(1), "482913", "a")}}
    assert site.slots == {"ghost": {"a": 7}, "front": {"a": 1}}


def test_duplicate_slot_records_are_repaired() -> None:
    site = make_site(pin("a", "482913"), pin("b", "593024"))
    site.slots = {"front": {"a": 1, "b": 1}}
    desired = desired_state(site, LOCKS, NOON, BERLIN)
    assert _holders(desired["front"]) == {1: "a", 2: "b"}


# --- diff ------------------------------------------------------------------------------


def cred(ref: CredentialRef | int, secret: str) -> Credential:
    ref = P(ref) if isinstance(ref, int) else ref
    return Credential(ref, secret, f"k{ref.kind}{ref.index}")


def test_unmanaged_slots_are_never_cleared_or_overwritten() -> None:
    actual: dict[CredentialRef, str | None] = {P(5): "999999", P(6): None}
    assert diff("front", {}, actual, managed=(), can_read_back=True) == []
    desired = {P(5): cred(5, "482913")}
    assert diff("front", desired, actual, managed=(), can_read_back=True) == []
    desired = {P(6): cred(6, "482913")}
    assert diff("front", desired, actual, managed=(), can_read_back=False) == []
    # A read-back lock reporting None means empty: it may be written.
    assert diff("front", desired, actual, managed=(), can_read_back=True) == [
        Operation(OpKind.SET, "front", P(6), cred(6, "482913"))
    ]


def test_diff_orders_clears_before_sets_by_kind_and_index() -> None:
    tag = CredentialRef(TAG, 1)
    desired = {
        P(1): cred(1, "482913"),
        P(3): cred(3, "593024"),
        P(4): cred(4, "604135"),
        tag: cred(tag, "04A1B2C3"),
    }
    actual: dict[CredentialRef, str | None] = {
        P(1): "111111",
        P(2): "222",
        P(5): "555",
        P(4): "604135",
        CredentialRef(TAG, 2): "04FFFFFF",
    }
    managed = {P(1), P(2), P(4), P(5), P(9), CredentialRef(TAG, 2)}
    ops = diff("front", desired, actual, managed=managed, can_read_back=True)
    assert [(op.kind, op.ref) for op in ops] == [
        (OpKind.CLEAR, P(2)),
        (OpKind.CLEAR, P(5)),
        (OpKind.CLEAR, CredentialRef(TAG, 2)),
        (OpKind.SET, P(1)),
        (OpKind.SET, P(3)),
        (OpKind.SET, tag),
    ]


def test_masked_slots_on_locks_without_read_back() -> None:
    desired = {P(1): cred(1, "482913")}
    # Still masked: counts as holding what we wrote.
    assert (
        diff("front", desired, {P(1): None}, managed={P(1)}, can_read_back=False) == []
    )
    # Masked but no longer wanted: cleared.
    assert diff("front", {}, {P(1): None}, managed={P(1)}, can_read_back=False) == [
        Operation(OpKind.CLEAR, "front", P(1), None)
    ]
    # The caller's record shows an older secret: rewritten.
    actual: dict[CredentialRef, str | None] = {P(1): "593024"}
    assert diff("front", desired, actual, managed={P(1)}, can_read_back=False) == [
        Operation(OpKind.SET, "front", P(1), desired[P(1)])
    ]
    # A read-back lock reporting a managed slot empty needs no clear.
    assert diff("front", {}, {P(1): None}, managed={P(1)}, can_read_back=True) == []


secrets_or_none = st.none() | st.sampled_from(["111111", "482913", "593024"])


@PROPERTY_SETTINGS
@given(
    st.dictionaries(
        st.integers(1, 8), st.sampled_from(["482913", "593024"]), max_size=6
    ),
    st.dictionaries(st.integers(1, 8), secrets_or_none, max_size=8),
    st.sets(st.integers(1, 8)),
    st.booleans(),
)
def test_diff_is_idempotent_and_safe(
    wanted: dict[int, str],
    actual_slots: dict[int, str | None],
    managed_slots: set[int],
    can_read_back: bool,
) -> None:
    desired = {P(slot): cred(slot, secret) for slot, secret in wanted.items()}
    actual = {P(slot): secret for slot, secret in actual_slots.items()}
    managed = {P(slot) for slot in managed_slots}
    before = dict(actual)
    ops = diff("front", desired, actual, managed=managed, can_read_back=can_read_back)
    kinds = [op.kind for op in ops]
    assert kinds == sorted(kinds, key=lambda kind: kind is OpKind.SET)
    for op in ops:
        assert op.lock_id == "front"
        if op.kind is OpKind.CLEAR:
            assert op.ref in managed
            assert op.ref not in desired
            assert op.credential is None
        else:
            assert op.credential == desired[op.ref]
            occupied_by_others = (
                op.ref in before
                and op.ref not in managed
                and (before[op.ref] is not None or not can_read_back)
            )
            assert not occupied_by_others
    managed_after = set(managed)
    apply(ops, actual, managed_after)
    assert (
        diff(
            "front", desired, actual, managed=managed_after, can_read_back=can_read_back
        )
        == []
    )


@PROPERTY_SETTINGS
@given(st.data())
def test_plan_then_diff_is_idempotent(data: st.DataObject) -> None:
    tz = data.draw(zones)
    site = data.draw(sites(tz))
    at = data.draw(instants(tz))
    kinds = st.sets(st.sampled_from(KeyKind), min_size=1)
    slot_ranges = st.builds(
        SlotRange,
        first=st.integers(0, 1),
        last=st.integers(1, 6),
        reserved=st.frozensets(st.integers(1, 6), max_size=2),
    )
    locks = {
        lock_id: LockCapabilities(
            slots={kind: data.draw(slot_ranges) for kind in data.draw(kinds)},
            pin_min=4,
            pin_max=data.draw(st.integers(4, 8)),
        )
        for lock_id in LOCK_IDS[:2]
    }
    refs = st.builds(CredentialRef, st.sampled_from(KeyKind), st.integers(0, 6))
    foreign = {lock_id: data.draw(st.sets(refs, max_size=3)) for lock_id in locks}
    plan = make_plan(site, locks, at, tz, occupied=foreign)
    for lock_id, desired in plan.desired.items():
        caps = locks[lock_id]
        for ref, credential in desired.items():
            assert ref == credential.ref
            assert caps.usable(ref)
            assert ref not in foreign[lock_id]
            assert credential.kind is site.keys[credential.key_id].kind
            assert plan.statuses[credential.key_id] is Status.ACTIVE
            assert site.slots[lock_id][credential.key_id] == ref.index
        actual: dict[CredentialRef, str | None] = dict.fromkeys(
            foreign[lock_id], "0000"
        )
        managed: set[CredentialRef] = set()
        ops = diff(
            lock_id, desired, actual, managed=managed, can_read_back=caps.can_read_back
        )
        apply(ops, actual, managed)
        assert diff(lock_id, desired, actual, managed=managed, can_read_back=True) == []
    # Planning again at the same instant changes nothing.
    slots_before = {lock: dict(held) for lock, held in site.slots.items()}
    again = make_plan(site, locks, at, tz, occupied=foreign)
    assert again.desired == plan.desired
    assert site.slots == slots_before
