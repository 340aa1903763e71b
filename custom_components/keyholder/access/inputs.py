"""
Checks of what people type, shared by the actions, the websocket API and the flows.

The bounds are in ``const.py`` (numbers) and ``model/names.py`` (names). The
validators for actions raise a translated ``ServiceValidationError`` naming
the field (and never quoting the value); the flows get error keys for their
forms (``name_error``) or a schema error (``flow_whole_number``).
"""

from __future__ import annotations

from collections.abc import Callable
import math
import re
from typing import Any

from homeassistant.helpers import config_validation as cv
import probatio as vol

from ..model.names import MAX_NAME_LENGTH, name_problem
from .errors import validation_error

_INTEGER = re.compile(r"[+-]?[0-9]{1,19}")


def as_whole_number(value: Any) -> int | None:
    """
    Return ``value`` as an int when it is a whole number, else None.

    Accepts ints, floats without a fraction (``2.0``: what number boxes send)
    and strings of ASCII digits (``"3"``); refuses booleans, ``1.5``, ``"1.5"``,
    ``"1e3"``, infinities and NaN rather than rounding them.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if math.isfinite(value) and value.is_integer() else None
    if isinstance(value, str) and _INTEGER.fullmatch(text := value.strip()):
        return int(text)
    return None


def whole_number(field: str, minimum: int, maximum: int | None) -> Callable[[Any], int]:
    """
    Return a schema validator: a whole number from ``minimum`` to ``maximum``.

    ``maximum`` None leaves the upper bound to the command (a lock's slots).
    """

    def validate(value: Any) -> int:
        number = as_whole_number(value)
        if maximum is None:
            if number is None or number < minimum:
                raise validation_error(
                    "number_too_small", field=field, min=str(minimum)
                )
        elif number is None or not minimum <= number <= maximum:
            raise validation_error(
                "number_out_of_range",
                field=field,
                min=str(minimum),
                max=str(maximum),
            )
        return number

    return validate


def name_text(field: str, max_length: int = MAX_NAME_LENGTH) -> Callable[[Any], str]:
    """Return a schema validator: a name (surrounding spaces removed)."""

    def validate(value: Any) -> str:
        text: str = cv.string(value)
        check_name(field, text, max_length)
        return text.strip()

    return validate


def check_name(field: str, value: str, max_length: int = MAX_NAME_LENGTH) -> None:
    """Refuse a name with invisible characters or too long (translated)."""
    if problem := name_problem(value, max_length):
        raise validation_error(problem.value, field=field, max=str(max_length))


def name_error(value: str, max_length: int = MAX_NAME_LENGTH) -> str | None:
    """Return a flow form's error key for a name (None when it may be used)."""
    problem = name_problem(value, max_length)
    return problem.value if problem else None


def flow_whole_number(value: Any) -> int:
    """Validate a flow's number box: a whole number (its selector bounds it)."""
    number = as_whole_number(value)
    if number is None:
        raise vol.Invalid("expected a whole number")
    return number


def flow_finite_number(value: Any) -> float:
    """Validate a flow's decimal number box: a finite number (NaN slips by bounds)."""
    number = float(value)
    if not math.isfinite(number):
        raise vol.Invalid("expected a number")
    return number
