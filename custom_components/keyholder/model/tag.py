"""
Tag (RFID fob or card) UIDs as people enter them.

A reader or the card itself shows a UID as hex bytes, in either case and often
with separators: ``04:a2:2b:9a``, ``04-A2-2B-9A``, ``04 a2 2b 9a``. Keyholder
keeps it as upper-case hex without separators (``04A22B9A``), so the same tag
entered two ways is one tag.

A UID is rejected when it is (checked in this order, after normalising):

* ``REQUIRED`` - empty (nothing but separators);
* ``NOT_HEX`` - anything but the hex digits 0-9 and A-F;
* ``LENGTH`` - not whole bytes, or outside 4 to 10 bytes (8 to 20 hex digits;
  ISO/IEC 14443 UIDs have 4, 7 or 10 bytes, SALTO prints 7-byte UIDs as 14
  digits);
* ``IN_USE`` - already held by another key on the same lock.

Keyholder never makes a tag UID up: a tag must be presented or entered.
"""

from __future__ import annotations

from collections.abc import Collection
from enum import StrEnum
from string import ascii_lowercase, ascii_uppercase, hexdigits

MIN_TAG_BYTES = 4
"""The shortest UID accepted, in bytes."""

MAX_TAG_BYTES = 10
"""The longest UID accepted, in bytes."""

SEPARATORS = frozenset(":-")
"""Characters between a UID's bytes that are dropped (as is any white space)."""

_HEX = frozenset(hexdigits.upper())
_UPPER = str.maketrans(ascii_lowercase, ascii_uppercase)
_SHOWN_DIGITS = 4


class TagProblem(StrEnum):
    """Why a tag UID was rejected."""

    REQUIRED = "required"
    NOT_HEX = "not_hex"
    LENGTH = "length"
    IN_USE = "in_use"


def normalise_tag(text: str) -> str:
    """
    Return a UID as entered without separators or white space, in upper case.

    Only ASCII letters change case (so no other character can turn into a hex
    digit); anything else is kept for :func:`validate_tag` to refuse.
    """
    kept = "".join(ch for ch in text if not (ch.isspace() or ch in SEPARATORS))
    return kept.translate(_UPPER)


def validate_tag(uid: str, *, taken: Collection[str] = ()) -> TagProblem | None:
    """Return the first problem with a normalised ``uid`` (None when acceptable)."""
    if not uid:
        return TagProblem.REQUIRED
    if not _HEX.issuperset(uid):
        return TagProblem.NOT_HEX
    if len(uid) % 2 or not MIN_TAG_BYTES * 2 <= len(uid) <= MAX_TAG_BYTES * 2:
        return TagProblem.LENGTH
    if uid in taken:
        return TagProblem.IN_USE
    return None


def mask_tag(uid: str) -> str:
    """
    Return a UID as it may be shown: only its last four digits.

    A UID shorter than the shortest valid one shows nothing of itself.
    """
    shown = uid[-_SHOWN_DIGITS:] if len(uid) >= MIN_TAG_BYTES * 2 else ""
    return "\u2022" * _SHOWN_DIGITS + shown
