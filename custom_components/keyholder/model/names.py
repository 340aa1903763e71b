"""
Names people type (sites, locks, keyholders, keys): what Keyholder accepts.

A name is shown on devices, entities, the panel, the logbook and in voice
answers, so it may hold any letters, digits, punctuation, symbols and spaces,
but no characters that are invisible or change how the text around them is
drawn: control characters (Unicode category Cc), format characters (Cf: the
bidirectional overrides and isolates that make ``Eve\u202egnp.exe`` read as
``Eveexe.png``, zero-width spaces, soft hyphens), line and paragraph separators
(Zl, Zp), private-use, surrogate and unassigned code points (Co, Cs, Cn). The
only format characters allowed are the zero-width non-joiner and joiner
between two letters (or marks), where scripts such as Persian and the Indic
ones need them.

Every name is at most :data:`MAX_NAME_LENGTH` characters (after surrounding
spaces are removed); an e-mail address at most :data:`MAX_EMAIL_LENGTH`.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final
import unicodedata

MAX_NAME_LENGTH: Final = 64
"""Longest site, lock, keyholder (given or family) or key name."""
MAX_EMAIL_LENGTH: Final = 254
"""Longest e-mail address (the longest one mail systems deliver)."""

_REFUSED_CATEGORIES: Final = frozenset({"Cc", "Cf", "Zl", "Zp", "Co", "Cs", "Cn"})
_JOINERS: Final = frozenset({"\u200c", "\u200d"})
_LETTER_OR_MARK: Final = ("L", "M")


class NameProblem(StrEnum):
    """Why a name is refused (also the key of its translated message)."""

    INVALID_CHARACTERS = "name_invalid"
    TOO_LONG = "name_too_long"


def _joins_letters(text: str, index: int) -> bool:
    """Return True when the joiner at ``index`` stands between two letters."""
    if index == 0 or index == len(text) - 1:
        return False
    before, after = text[index - 1], text[index + 1]
    return unicodedata.category(before).startswith(
        _LETTER_OR_MARK
    ) and unicodedata.category(after).startswith(_LETTER_OR_MARK)


def has_refused_characters(text: str) -> bool:
    """Return True when ``text`` holds an invisible or drawing-changing character."""
    return any(
        unicodedata.category(char) in _REFUSED_CATEGORIES
        and not (char in _JOINERS and _joins_letters(text, index))
        for index, char in enumerate(text)
    )


def name_problem(text: str, max_length: int = MAX_NAME_LENGTH) -> NameProblem | None:
    """Return what is wrong with a name (None when it may be used)."""
    if has_refused_characters(text):
        return NameProblem.INVALID_CHARACTERS
    if len(text.strip()) > max_length:
        return NameProblem.TOO_LONG
    return None
