"""
Passcode (PIN) strength rules and generation.

A passcode is rejected when it is (checked in this order):

* ``NOT_DIGITS`` - empty or anything but the ASCII digits 0-9;
* ``TOO_SHORT`` / ``TOO_LONG`` - outside the lock's ``[pin_min, pin_max]``;
* ``ONE_DIGIT`` - a single repeated digit (``1111``);
* ``SEQUENCE`` - a straight run where every digit is one more (or every digit
  one less) than the previous, *wrapping around* 9-0: ``123456``, ``654321``,
  ``7890123`` and ``3210987`` are all sequences (keypads and people treat 0 as
  following 9);
* ``TOO_FEW_DIGITS`` - fewer than three distinct digits (``121212``);
* ``IN_USE`` - already held by another key on the same lock.

Generated passcodes come from :mod:`secrets` and always pass these rules.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from enum import StrEnum
from itertools import pairwise
import random
import secrets

from .site import Site
from .values import KeyKind

MIN_GENERATED_LENGTH = 4
"""The shortest passcode :func:`generate_passcode` will make."""

MIN_DISTINCT_DIGITS = 3
"""A passcode needs at least this many different digits."""

_MAX_ATTEMPTS = 1000
_DIGITS = "0123456789"


class PasscodeProblem(StrEnum):
    """Why a passcode was rejected."""

    NOT_DIGITS = "not_digits"
    TOO_SHORT = "too_short"
    TOO_LONG = "too_long"
    ONE_DIGIT = "one_digit"
    SEQUENCE = "sequence"
    TOO_FEW_DIGITS = "too_few_digits"
    IN_USE = "in_use"


def _is_sequence(code: str) -> bool:
    """Return True for a straight ascending or descending run (wrapping 9-0)."""
    steps = {(int(b) - int(a)) % 10 for a, b in pairwise(code)}
    return steps in ({1}, {9})


def validate_passcode(
    code: str, *, pin_min: int, pin_max: int, taken: Collection[str] = ()
) -> PasscodeProblem | None:
    """Return the first problem with ``code`` (None when it is acceptable)."""
    if not code or not (code.isascii() and code.isdigit()):
        return PasscodeProblem.NOT_DIGITS
    if len(code) < pin_min:
        return PasscodeProblem.TOO_SHORT
    if len(code) > pin_max:
        return PasscodeProblem.TOO_LONG
    distinct = len(set(code))
    if distinct == 1:
        return PasscodeProblem.ONE_DIGIT
    if _is_sequence(code):
        return PasscodeProblem.SEQUENCE
    if distinct < MIN_DISTINCT_DIGITS:
        return PasscodeProblem.TOO_FEW_DIGITS
    if code in taken:
        return PasscodeProblem.IN_USE
    return None


def generate_passcode(
    length: int = 6,
    *,
    taken: Collection[str] = (),
    rng: random.Random | None = None,
) -> str:
    """
    Return a random passcode of ``length`` digits that passes validation.

    ``rng`` defaults to :class:`secrets.SystemRandom`; tests may pass a seeded
    generator. Raises ValueError when ``length`` is below 4 or when no free code
    was found (``taken`` holds nearly every code of that length).
    """
    if length < MIN_GENERATED_LENGTH:
        raise ValueError(f"passcodes need at least {MIN_GENERATED_LENGTH} digits")
    source = rng if rng is not None else secrets.SystemRandom()
    for _ in range(_MAX_ATTEMPTS):
        code = "".join(source.choice(_DIGITS) for _ in range(length))
        if validate_passcode(code, pin_min=length, pin_max=length, taken=taken) is None:
            return code
    raise ValueError("could not find a free passcode of that length")


def taken_codes(
    site: Site, lock_ids: Iterable[str], exclude_key_id: str | None = None
) -> set[str]:
    """
    Return the passcodes held by non-cancelled keys on any of ``lock_ids``.

    Expired and used-up keys still count until they are deleted, so a code is
    never handed out again while its old key exists. ``exclude_key_id`` skips one
    key (the one being edited).
    """
    locks = frozenset(lock_ids)
    return {
        key.secret
        for key in site.keys_for(locks)
        if key.kind is KeyKind.PASSCODE
        and key.secret is not None
        and not key.cancelled
        and key.id != exclude_key_id
    }
