"""
The operations that bring one lock from what it holds to what the plan wants.

:func:`diff` compares a lock's planned credentials (:mod:`.plan`) with what it
reports and returns the clears and sets to apply.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from enum import StrEnum

from .plan import Credential
from .values import CredentialRef


class OpKind(StrEnum):
    """What an operation does to a credential of a lock."""

    SET = "set"
    CLEAR = "clear"


@dataclass(frozen=True, slots=True)
class Operation:
    """One change to one credential of a lock (``credential`` None for CLEAR)."""

    kind: OpKind
    lock_id: str
    ref: CredentialRef
    credential: Credential | None


def diff(
    lock_id: str,
    desired: Mapping[CredentialRef, Credential],
    actual: Mapping[CredentialRef, str | None],
    *,
    managed: Collection[CredentialRef],
    can_read_back: bool,
) -> list[Operation]:
    """
    Return the operations that turn ``actual`` into ``desired`` on one lock.

    ``actual`` maps ref -> secret as the lock reports it; a missing ref is
    empty. A present ``None`` means:

    * ``can_read_back=True``: the lock reports the slot empty;
    * ``can_read_back=False``: the slot is occupied but masked. For such locks
      the caller passes its own record of what Keyholder wrote as ``actual`` (so
      a changed secret shows up as a difference); a managed slot that is still
      masked counts as holding the value we last wrote and is not rewritten.

    Only ``managed`` slots (written by Keyholder) are ever cleared, and a slot
    holding something Keyholder did not write is never overwritten. CLEARs come
    first (removed codes stop working first), then SETs, each sorted by ref.
    """
    clears: list[Operation] = []
    sets: list[Operation] = []
    for ref in sorted(managed):
        if ref in desired or ref not in actual:
            continue
        if actual[ref] is not None or not can_read_back:
            clears.append(Operation(OpKind.CLEAR, lock_id, ref, None))
    for ref in sorted(desired):
        credential = desired[ref]
        if ref not in actual:
            sets.append(Operation(OpKind.SET, lock_id, ref, credential))
            continue
        current = actual[ref]
        if current is None:
            if can_read_back:
                sets.append(Operation(OpKind.SET, lock_id, ref, credential))
            continue
        if ref not in managed:
            continue  # someone else's code: never overwrite it
        if current != credential.secret:
            sets.append(Operation(OpKind.SET, lock_id, ref, credential))
    return clears + sets
