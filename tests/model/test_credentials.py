"""The registry of credential kinds: each kind's rules, and one entry per kind."""

from __future__ import annotations

from datetime import UTC, datetime
import random
import string

from hypothesis import given, strategies as st
import pytest

from custom_components.keyholder.model.credentials import (
    CREDENTIAL_KINDS,
    credential_kind,
    shared_capabilities,
    taken_secrets,
)
from custom_components.keyholder.model.passcode import (
    generate_passcode,
    taken_codes,
    validate_passcode,
)
from custom_components.keyholder.model.plan import UnplacedReason, make_plan
from custom_components.keyholder.model.site import Site
from custom_components.keyholder.model.tag import (
    MAX_TAG_BYTES,
    MIN_TAG_BYTES,
    mask_tag,
)
from custom_components.keyholder.model.values import (
    Key,
    Keyholder,
    KeyKind,
    LockCapabilities,
    SlotRange,
)

from .strategies import BERLIN, PROPERTY_SETTINGS, own_site, put_own_key

PASSCODE = CREDENTIAL_KINDS[KeyKind.PASSCODE]
TAG = CREDENTIAL_KINDS[KeyKind.TAG]
APP = CREDENTIAL_KINDS[KeyKind.APP]
CAPS = LockCapabilities(pin_min=4, pin_max=8)
TAG_CAPS = LockCapabilities(slots=dict.fromkeys(KeyKind, SlotRange()))

UIDS = st.binary(min_size=MIN_TAG_BYTES, max_size=MAX_TAG_BYTES).map(
    lambda uid: uid.hex().upper()
)
"""Valid tag UIDs as Keyholder keeps them."""

PIN_CAPS = st.builds(
    lambda low, span: LockCapabilities(pin_min=low, pin_max=low + span),
    st.integers(4, 10),
    st.integers(0, 6),
)
"""Capabilities of a keypad that takes some PIN lengths from 4 to 16 digits."""


# -- the registry ----------------------------------------------------------------


@pytest.mark.parametrize("kind", list(KeyKind))
def test_every_kind_has_one_entry(kind: KeyKind) -> None:
    spec = credential_kind(kind)
    assert spec is CREDENTIAL_KINDS[kind]
    assert spec.kind is kind


def test_the_registry_holds_nothing_but_the_kinds() -> None:
    assert set(CREDENTIAL_KINDS) == set(KeyKind)
    with pytest.raises(TypeError):
        CREDENTIAL_KINDS[KeyKind.APP] = PASSCODE  # type: ignore[index]


def test_what_each_kind_is() -> None:
    assert (PASSCODE.held_by_lock, PASSCODE.entered, PASSCODE.returned) == (
        True,
        True,
        True,
    )
    assert (TAG.held_by_lock, TAG.entered, TAG.returned) == (True, True, False)
    assert (APP.held_by_lock, APP.entered, APP.returned) == (False, False, False)
    assert PASSCODE.generate is not None
    assert TAG.generate is None  # a tag must be presented or entered
    assert APP.generate is None  # its link secret: issue 16
    assert [kind for kind, spec in CREDENTIAL_KINDS.items() if spec.issuable] == [
        KeyKind.PASSCODE,
        KeyKind.TAG,
    ]
    # Nothing entered: a passcode is made, a tag is asked for, an app key has none.
    assert (PASSCODE.missing, TAG.missing, APP.missing) == (None, "tag_required", None)
    assert (PASSCODE.in_use, TAG.in_use, APP.in_use) == (
        "passcode_in_use",
        "tag_in_use",
        None,
    )


@pytest.mark.parametrize("kind", list(KeyKind))
def test_reasons_are_declared(kind: KeyKind) -> None:
    spec = credential_kind(kind)
    declared = {spec.missing, spec.in_use} - {None}
    assert declared <= spec.reasons
    assert {spec.unusable(LockCapabilities(pin_min=9, pin_max=4))} - {None} <= (
        spec.reasons
    )


def test_which_locks_can_hold_which_kind() -> None:
    keypad = LockCapabilities()
    reader = LockCapabilities(slots={KeyKind.TAG: SlotRange()})
    assert PASSCODE.can_hold(keypad)
    assert not PASSCODE.can_hold(reader)
    assert not TAG.can_hold(keypad)
    assert TAG.can_hold(reader)
    # No lock holds an app key, even one that claims to.
    assert not APP.can_hold(TAG_CAPS)


def test_shared_capabilities() -> None:
    both = shared_capabilities(
        [
            LockCapabilities(
                slots=dict.fromkeys(KeyKind, SlotRange()), pin_min=4, pin_max=8
            ),
            LockCapabilities(pin_min=6, pin_max=10),
        ]
    )
    assert both.credential_kinds == {KeyKind.PASSCODE}
    assert (both.pin_min, both.pin_max) == (6, 8)
    apart = shared_capabilities(
        [LockCapabilities(pin_min=4, pin_max=5), LockCapabilities(pin_min=6)]
    )
    assert PASSCODE.unusable(apart) == "no_common_pin_length"
    assert PASSCODE.unusable(both) is None
    assert TAG.unusable(apart) is None
    with pytest.raises(ValueError, match="no lock"):
        shared_capabilities([])


def test_taken_secrets_are_per_kind() -> None:
    site = Site()
    put_own_key(
        site, Key("a", "h", KeyKind.PASSCODE, frozenset({"front"}), secret="4829")
    )
    put_own_key(
        site, Key("b", "h", KeyKind.TAG, frozenset({"front"}), secret="04A1B2C3")
    )
    put_own_key(
        site, Key("c", "h", KeyKind.TAG, frozenset({"back"}), secret="04A1B2C4")
    )
    put_own_key(
        site,
        Key("d", "h", KeyKind.TAG, frozenset({"front"}), secret="0A0B", cancelled=True),
    )
    assert taken_secrets(site, KeyKind.PASSCODE, ["front"]) == {"4829"}
    assert taken_secrets(site, KeyKind.PASSCODE, ["front"]) == taken_codes(
        site, ["front"]
    )
    assert taken_secrets(site, KeyKind.TAG, ["front"]) == {"04A1B2C3"}
    assert taken_secrets(site, KeyKind.TAG, ["front", "back"], exclude_key_id="b") == {
        "04A1B2C4"
    }
    assert taken_secrets(site, KeyKind.APP, ["front", "back"]) == set()


@PROPERTY_SETTINGS
@given(st.sampled_from(KeyKind), st.text(max_size=40))
def test_normalise_is_idempotent(kind: KeyKind, text: str) -> None:
    normalise = credential_kind(kind).normalise
    assert normalise(normalise(text)) == normalise(text)


@PROPERTY_SETTINGS
@given(st.sampled_from(KeyKind), st.text(max_size=40), PIN_CAPS)
def test_answers_never_hold_the_secret(
    kind: KeyKind, text: str, caps: LockCapabilities
) -> None:
    # A reason is one of the kind's fixed keys; its placeholders are lengths.
    spec = credential_kind(kind)
    _, reason = spec.check(text, caps)
    assert reason is None or reason in spec.reasons
    assert set(spec.limits(caps).values()) <= {
        str(n) for n in (caps.pin_min, caps.pin_max, 8, 20)
    }


# -- passcode ------------------------------------------------------------------


@PROPERTY_SETTINGS
@given(st.text(max_size=12), PIN_CAPS, st.sets(st.text("0123456789", max_size=8)))
def test_passcode_rules_are_todays(
    text: str, caps: LockCapabilities, taken: set[str]
) -> None:
    secret, reason = PASSCODE.check(text, caps, taken)
    assert secret == text  # never trimmed nor changed
    problem = validate_passcode(
        text, pin_min=caps.pin_min, pin_max=caps.pin_max, taken=taken
    )
    assert reason == (None if problem is None else f"passcode_{problem.value}")
    assert PASSCODE.limits(caps) == {
        "pin_min": str(caps.pin_min),
        "pin_max": str(caps.pin_max),
    }


TRIVIAL = st.one_of(
    st.builds(lambda d, n: d * n, st.sampled_from("0123456789"), st.integers(4, 8)),
    st.builds(
        lambda start, n, step: "".join(str((start + i * step) % 10) for i in range(n)),
        st.integers(0, 9),
        st.integers(4, 8),
        st.sampled_from([1, -1]),
    ),
    st.builds(
        lambda a, b, n: ((a + b) * n)[: 2 * n],
        st.sampled_from("0123456789"),
        st.sampled_from("0123456789"),
        st.integers(2, 4),
    ),
)
"""One repeated digit, a run up or down (wrapping 9-0), or two digits."""


@PROPERTY_SETTINGS
@given(TRIVIAL)
def test_trivial_passcodes_are_refused(code: str) -> None:
    _, reason = PASSCODE.check(code, CAPS)
    assert reason in {
        "passcode_one_digit",
        "passcode_sequence",
        "passcode_too_few_digits",
    }


@PROPERTY_SETTINGS
@given(
    PIN_CAPS,
    st.integers(1, 20),
    st.integers(0, 2**32),
    st.sets(st.from_regex(r"[0-9]{4,10}", fullmatch=True), max_size=30),
)
def test_generated_passcodes_validate_for_the_lock(
    caps: LockCapabilities, length: int, seed: int, taken: set[str]
) -> None:
    assert PASSCODE.generate is not None
    code = PASSCODE.generate(caps, length, taken, random.Random(seed))  # noqa: S311
    assert PASSCODE.validate(code, caps, taken) is None
    assert PASSCODE.check(code, caps, taken) == (code, None)
    # The site's length where the locks take it, else the nearest they take.
    assert len(code) == min(max(length, caps.pin_min), caps.pin_max)


def test_generated_passcodes_come_from_secrets_by_default() -> None:
    assert PASSCODE.generate is not None
    code = PASSCODE.generate(CAPS, 6, ())
    assert PASSCODE.validate(code, CAPS, ()) is None


@PROPERTY_SETTINGS
@given(st.integers(0, 2**32))
def test_a_passcode_is_masked_entirely(seed: int) -> None:
    code = generate_passcode(6, rng=random.Random(seed))  # noqa: S311
    assert PASSCODE.mask(code) == PASSCODE.mask("4829")
    assert not set(PASSCODE.mask(code)) & set(string.digits)


# -- tag -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("entered", "kept", "reason"),
    [
        ("04:a2:2b:9a", "04A22B9A", None),
        ("04-A2-2B-9A", "04A22B9A", None),
        (" 04 a2 2b 9a\n", "04A22B9A", None),
        ("04a22b9a1c2d3e", "04A22B9A1C2D3E", None),  # SALTO: 7 bytes, 14 digits
        ("04" * 10, "04" * 10, None),
        ("", "", "tag_required"),
        (" : - ", "", "tag_required"),
        ("04A22B9G", "04A22B9G", "tag_not_hex"),
        ("04.A2.2B.9A", "04.A2.2B.9A", "tag_not_hex"),
        ("\uff10\uff14A22B9A", "\uff10\uff14A22B9A", "tag_not_hex"),  # full-width
        ("\ufb00\ufb00A22B9A", "\ufb00\ufb00A22B9A", "tag_not_hex"),  # "ff" ligature
        ("04A22B", "04A22B", "tag_length"),  # 3 bytes
        ("04A22B9A1", "04A22B9A1", "tag_length"),  # half a byte
        ("04" * 11, "04" * 11, "tag_length"),
    ],
)
def test_tag_uids(entered: str, kept: str, reason: str | None) -> None:
    assert TAG.check(entered, CAPS) == (kept, reason)


def test_tag_in_use_is_checked_last() -> None:
    assert TAG.check("04:a2:2b:9a", CAPS, {"04A22B9A"}) == ("04A22B9A", "tag_in_use")
    assert TAG.check("04:a2:2b", CAPS, {"04A22B"}) == ("04A22B", "tag_length")
    assert TAG.limits(CAPS) == {"min_digits": "8", "max_digits": "20"}


@st.composite
def printed_uids(draw: st.DrawFn, uid: str) -> str:
    """Return ``uid`` as it may be printed: any case, separators between digits."""
    out = []
    for digit in uid:
        out.append(digit.lower() if draw(st.booleans()) else digit)
        out.append(draw(st.sampled_from(["", "", ":", "-", " ", "\t"])))
    return "".join(out)


@PROPERTY_SETTINGS
@given(st.data(), UIDS)
def test_separators_and_case_do_not_matter(data: st.DataObject, uid: str) -> None:
    printed = data.draw(printed_uids(uid))
    assert TAG.check(printed, CAPS) == (uid, None)
    assert TAG.check(printed, CAPS, {uid}) == (uid, "tag_in_use")


@PROPERTY_SETTINGS
@given(st.text(string.hexdigits + ":- xyz\u00a0", max_size=30) | st.text(max_size=30))
def test_an_accepted_uid_is_upper_case_hex_of_whole_bytes(text: str) -> None:
    uid, reason = TAG.check(text, CAPS)
    accepted = (
        set(uid) <= set("0123456789ABCDEF")
        and len(uid) % 2 == 0
        and MIN_TAG_BYTES * 2 <= len(uid) <= MAX_TAG_BYTES * 2
    )
    assert (reason is None) == accepted


@PROPERTY_SETTINGS
@given(UIDS)
def test_a_tag_is_never_shown_in_full(uid: str) -> None:
    masked = TAG.mask(uid)
    assert uid not in masked
    assert masked.endswith(uid[-4:])
    assert mask_tag("04A2") == "\u2022" * 4  # too short to show any of it


# -- app key -------------------------------------------------------------------


def test_an_app_key_has_no_secret_to_enter() -> None:
    assert APP.check("", TAG_CAPS) == ("", None)
    assert APP.check("anything", TAG_CAPS) == ("anything", "app_no_secret")
    assert APP.limits(TAG_CAPS) == {}
    assert "secret" not in APP.mask("secret")


# -- the planner agrees --------------------------------------------------------


@st.composite
def held_secrets(draw: st.DrawFn, kind: KeyKind, caps: LockCapabilities) -> str:
    """Return a secret of ``kind`` that its rules accept for ``caps``."""
    if kind is KeyKind.TAG:
        return draw(UIDS)
    seeded = random.Random(draw(st.integers(0, 2**32)))  # noqa: S311
    assert PASSCODE.generate is not None
    return PASSCODE.generate(caps, draw(st.integers(4, 10)), (), seeded)


@PROPERTY_SETTINGS
@given(
    st.data(),
    st.sampled_from([KeyKind.PASSCODE, KeyKind.TAG]),
    PIN_CAPS,
    st.frozensets(st.sampled_from(KeyKind)),
)
def test_the_planner_places_what_a_lock_can_hold(
    data: st.DataObject,
    kind: KeyKind,
    pin_caps: LockCapabilities,
    kinds: frozenset[KeyKind],
) -> None:
    spec = credential_kind(kind)
    secret = data.draw(held_secrets(kind, pin_caps))
    assert spec.check(secret, pin_caps) == (secret, None)
    caps = LockCapabilities(
        slots=dict.fromkeys(kinds, SlotRange()),
        pin_min=pin_caps.pin_min,
        pin_max=pin_caps.pin_max,
    )
    site = own_site(
        keyholders={"h": Keyholder("h", "Anna")},
        keys={"k": Key("k", "h", kind, frozenset({"front"}), secret=secret)},
    )
    plan = make_plan(site, {"front": caps}, datetime(2026, 1, 1, tzinfo=UTC), BERLIN)
    if spec.can_hold(caps):
        assert plan.unplaced == ()
        assert [c.secret for c in plan.desired["front"].values()] == [secret]
    else:
        assert [u.reason for u in plan.unplaced] == [UnplacedReason.UNSUPPORTED_KIND]
