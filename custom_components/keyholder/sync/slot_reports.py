"""
Reading a lock's report of its slots against what Keyholder wrote there.

Each pass starts by reading what the lock holds. These functions settle, from
that report, the writes Keyholder made earlier: those the lock confirmed, those
it refused, those a crash or a dropped connection may have cut short. They work
on plain dicts (credential ref -> code) and change ``written`` and
``unconfirmed`` in place.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from ..families import ProviderError
from ..model.plan import Credential
from ..model.values import CredentialRef

type Unconfirmed = dict[CredentialRef, tuple[str | None, datetime]]
"""Ref -> (value written, None if cleared; when): writes awaiting read-back."""
type Held = dict[CredentialRef, str]
"""What Keyholder wrote to a lock: ref -> code."""
type Reported = dict[CredentialRef, str | None]
"""What a lock reports holding: ref -> code (None where masked)."""


def check_writes_landed(
    reported: Reported,
    written: Held,
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
    for ref, (value, when) in list(unconfirmed.items()):
        if when > settled_before:
            continue
        del unconfirmed[ref]
        if value is None:
            if ref in reported:
                missing.append(ref)
            else:
                written.pop(ref, None)
        elif ref not in reported or reported[ref] not in (value, None):
            missing.append(ref)
    if missing:
        slots = ", ".join(str(ref) for ref in sorted(missing))
        raise ProviderError("write_not_confirmed", f"The lock did not confirm {slots}")


def take_refused(
    reported: Reported,
    written: Held,
    unconfirmed: Unconfirmed,
    settled_before: datetime,
    refusal: Callable[[CredentialRef], str | None],
) -> Held:
    """
    Take the settled writes the lock did not take and said it refused.

    Returns ref -> code refused. Such a slot keeps what it held before the
    write (Keyholder's, so a code left there is cleared), and is no failure.
    """
    refused: Held = {}
    for ref, (value, when) in list(unconfirmed.items()):
        held = reported.get(ref)
        landed = ref in reported and held in (value, None)
        if value is None or when > settled_before or landed or not refusal(ref):
            continue
        del unconfirmed[ref]
        refused[ref] = value
        if held is None:
            written.pop(ref, None)
        else:
            written[ref] = held
    return refused


def take_back_interrupted(
    reported: Reported,
    written: Held,
    interrupted: Reported,
) -> None:
    """
    Settle the slots of writes a pass started but may not have finished.

    Each slot holds either what Keyholder had there or what it was writing
    (a masked slot may hold either): both are Keyholder's. An emptied slot is
    no longer managed; a third code is someone else's and is left alone.
    """
    for ref, code in interrupted.items():
        if ref not in reported:
            written.pop(ref, None)
            continue
        held = reported[ref]
        if code is not None and held in (code, None):
            written[ref] = code
        elif held is not None and held != written.get(ref):
            written.pop(ref, None)


def confirmed(
    desired: dict[CredentialRef, Credential],
    written: Held,
    unconfirmed: Unconfirmed,
) -> int:
    """Count the desired credentials the lock holds and has confirmed."""
    return sum(
        1
        for ref, cred in desired.items()
        if written.get(ref) == cred.secret and ref not in unconfirmed
    )
