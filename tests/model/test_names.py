"""Tests for the rules names follow (model/names.py)."""

from __future__ import annotations

import pytest

from custom_components.keyholder.model.names import (
    MAX_NAME_LENGTH,
    NameProblem,
    name_problem,
)


@pytest.mark.parametrize(
    "name",
    [
        "Eve",
        "Émile Zola",
        "李小龍",
        "O'Brien-Smith",
        "Anna (cleaner) ✨",
        "\u0645\u062d\u0645\u062f\u200c\u0631\u0636\u0627",  # Persian, with a non-joiner
        "नमस्\u200dते",  # Devanagari: a zero-width joiner after a mark
        "Front door\u00a0B",  # a no-break space is a space
        "x" * MAX_NAME_LENGTH,
        "  " + "x" * MAX_NAME_LENGTH + "  ",  # surrounding spaces do not count
    ],
)
def test_names_people_use_are_accepted(name: str) -> None:
    assert name_problem(name) is None


@pytest.mark.parametrize(
    "name",
    [
        "Eve\u202egnp.exe",  # right-to-left override: shows as "Eveexe.png"
        "Eve\u2066x\u2069",  # isolates
        "Eve\u200f",  # right-to-left mark
        "E\u200bve",  # zero-width space
        "Eve\u00ad",  # soft hyphen
        "\u200dEve",  # a joiner that joins nothing
        "Eve\nSmith",
        "Eve\tSmith",
        "Eve\x00",
        "Eve\x1b[31m",
        "Eve\u2028Smith",  # line separator
        "Eve\u2029",  # paragraph separator
        "Eve\ue000",  # private use
        "Eve\U000e0041",  # a tag character (Cf)
        "Eve\U0010ffff",  # not a character
    ],
)
def test_invisible_and_drawing_characters_are_refused(name: str) -> None:
    assert name_problem(name) is NameProblem.INVALID_CHARACTERS


def test_long_names_are_refused() -> None:
    assert name_problem("x" * (MAX_NAME_LENGTH + 1)) is NameProblem.TOO_LONG
    assert name_problem("x" * 10_000) is NameProblem.TOO_LONG
    assert name_problem("x" * 200, max_length=254) is None
