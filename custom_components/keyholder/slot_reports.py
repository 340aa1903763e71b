"""
Reading a lock's report of its slots against what Keyholder wrote there.

Each pass starts by reading what the lock holds. These functions settle, from
that report, the writes Keyholder made earlier: those the lock confirmed, those
it refused, those a crash or a dropped connection may have cut short. They work
on plain dicts (slot -> code) and change ``written`` and ``unconfirmed`` in
place.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from .engine.plan import Credential
from .providers import ProviderError

type Unconfirmed = dict[int, tuple[str | None, datetime]]
"""Slot -> (value written, None if cleared; when): writes awaiting read-back."""


def check_writes_landed(
    reported: dict[int, str | None],
    written: dict[int, str],
    unconfirmed: Unconfirmed,
    settled_before: datetime,
) -> None:
    """
    Fail a lock whose report, once settled, lacks what Keyholder wrote.

    A lock can acknowledge a write and still not take it (rejected code,
    unreachable node holding the write); only reading back tells. Writes made
    before ``settled_before`` are checked and forgotten. A cleared slot stays
    Keyholder's until the lock confirms it is empty, so a lost clear is retried
    instead of the code being taken for someone else's.
    """
    missing = []
    for slot, (value, when) in list(unconfirmed.items()):
        if when > settled_before:
            continue
        del unconfirmed[slot]
        if value is None:
            if slot in reported:
                missing.append(slot)
            else:
                written.pop(slot, None)
        elif slot not in reported or reported[slot] not in (value, None):
            missing.append(slot)
    if missing:
        raise ProviderError(
            "write_not_confirmed", f"The lock did not confirm slots {sorted(missing)}"
        )


def take_refused(
    reported: dict[int, str | None],
    written: dict[int, str],
    unconfirmed: Unconfirmed,
    settled_before: datetime,
    refusal: Callable[[int], str | None],
) -> dict[int, str]:
    """
    Take the settled writes the lock did not take and said it refused.

    Returns slot -> code refused. Such a slot keeps what it held before the
    write (Keyholder's, so a code left there is cleared), and is no failure.
    """
    refused: dict[int, str] = {}
    for slot, (value, when) in list(unconfirmed.items()):
        held = reported.get(slot)
        landed = slot in reported and held in (value, None)
        if value is None or when > settled_before or landed or not refusal(slot):
            continue
        del unconfirmed[slot]
        refused[slot] = value
        if held is None:
            written.pop(slot, None)
        else:
            written[slot] = held
    return refused


def take_back_interrupted(
    reported: dict[int, str | None],
    written: dict[int, str],
    interrupted: dict[int, str | None],
) -> None:
    """
    Settle the slots of writes a pass started but may not have finished.

    Each slot holds either what Keyholder had there or what it was writing
    (a masked slot may hold either): both are Keyholder's. An emptied slot is
    no longer managed; a third code is someone else's and is left alone.
    """
    for slot, code in interrupted.items():
        if slot not in reported:
            written.pop(slot, None)
            continue
        held = reported[slot]
        if code is not None and held in (code, None):
            written[slot] = code
        elif held is not None and held != written.get(slot):
            written.pop(slot, None)


def confirmed(
    desired: dict[int, Credential], written: dict[int, str], unconfirmed: Unconfirmed
) -> int:
    """Count the desired credentials the lock holds and has confirmed."""
    return sum(
        1
        for slot, cred in desired.items()
        if written.get(slot) == cred.secret and slot not in unconfirmed
    )
