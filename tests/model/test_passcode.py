from __future__ import annotations

import random

from hypothesis import given, strategies as st
import pytest

from custom_components.keyholder.model.passcode import (
    PasscodeProblem,
    generate_passcode,
    taken_codes,
    validate_passcode,
)
from custom_components.keyholder.model.site import Site
from custom_components.keyholder.model.values import Key, KeyKind

from .strategies import PROPERTY_SETTINGS, put_own_key


@pytest.mark.parametrize(
    ("code", "problem"),
    [
        ("", PasscodeProblem.NOT_DIGITS),
        ("12a456", PasscodeProblem.NOT_DIGITS),
        (
            "\uff11\uff12\uff13\uff14\uff15\uff16",
            PasscodeProblem.NOT_DIGITS,
        ),  # full-width
        (" 482913", PasscodeProblem.NOT_DIGITS),
        ("482", PasscodeProblem.TOO_SHORT),
        ("482913745", PasscodeProblem.TOO_LONG),
        ("0000", PasscodeProblem.ONE_DIGIT),
        ("777777", PasscodeProblem.ONE_DIGIT),
        ("1234", PasscodeProblem.SEQUENCE),
        ("123456", PasscodeProblem.SEQUENCE),
        ("654321", PasscodeProblem.SEQUENCE),
        ("7890123", PasscodeProblem.SEQUENCE),
        ("3210987", PasscodeProblem.SEQUENCE),
        ("121212", PasscodeProblem.TOO_FEW_DIGITS),
        ("1122", PasscodeProblem.TOO_FEW_DIGITS),
        ("135790", None),
        ("482913", None),
        ("1243", None),
    ],
)
def test_validate_passcode(code: str, problem: PasscodeProblem | None) -> None:
    assert validate_passcode(code, pin_min=4, pin_max=8) is problem


def test_in_use_is_checked_last() -> None:
    assert validate_passcode("482913", pin_min=4, pin_max=8, taken={"482913"}) is (
        PasscodeProblem.IN_USE
    )
    assert validate_passcode("1234", pin_min=4, pin_max=8, taken={"1234"}) is (
        PasscodeProblem.SEQUENCE
    )


def test_generate_rejects_short_lengths_and_exhaustion() -> None:
    with pytest.raises(ValueError, match="at least 4"):
        generate_passcode(3)
    every_code = {f"{number:04d}" for number in range(10_000)}
    with pytest.raises(ValueError, match="free passcode"):
        generate_passcode(4, taken=every_code, rng=random.Random(1))  # noqa: S311


def test_generate_uses_system_random_by_default() -> None:
    code = generate_passcode()
    assert len(code) == 6
    assert validate_passcode(code, pin_min=6, pin_max=6) is None


@PROPERTY_SETTINGS
@given(
    st.integers(4, 10),
    st.integers(0, 2**32),
    st.sets(st.from_regex(r"[0-9]{4,10}", fullmatch=True), max_size=50),
)
def test_generated_codes_are_valid_and_free(
    length: int, seed: int, taken: set[str]
) -> None:
    # Make the seeded generator's first answer taken to exercise the retry path.
    first = generate_passcode(length, rng=random.Random(seed))  # noqa: S311
    taken = taken | {first}
    seeded = random.Random(seed)  # noqa: S311
    code = generate_passcode(length, taken=taken, rng=seeded)
    assert len(code) == length
    assert code not in taken
    assert validate_passcode(code, pin_min=length, pin_max=length, taken=taken) is None


def test_taken_codes() -> None:
    site = Site()
    put_own_key(
        site, Key("a", "h", KeyKind.PASSCODE, frozenset({"front"}), secret="482913")
    )
    put_own_key(
        site, Key("b", "h", KeyKind.PASSCODE, frozenset({"back"}), secret="593024")
    )
    put_own_key(
        site,
        Key(
            "c",
            "h",
            KeyKind.PASSCODE,
            frozenset({"front"}),
            secret="111",
            cancelled=True,
        ),
    )
    put_own_key(
        site, Key("d", "h", KeyKind.TAG, frozenset({"front"}), secret="04a1b2c3")
    )
    put_own_key(site, Key("e", "h", KeyKind.PASSCODE, frozenset({"front"})))
    assert taken_codes(site, ["front"]) == {"482913"}
    assert taken_codes(site, ["front", "back"]) == {"482913", "593024"}
    assert taken_codes(site, ["front"], exclude_key_id="a") == set()
    assert taken_codes(site, ["garage"]) == set()
