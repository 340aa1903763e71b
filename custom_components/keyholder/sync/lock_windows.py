"""
The windows written to a lock that holds schedules itself (``native_schedule``).

Such a lock is given each key's window with the key's code: from now until the
key stops working (its next status change), so the lock stops taking the code by
itself, even while Home Assistant is down. A :class:`LockWindows` remembers the
end written with each code and names the codes to write again when a window
moved (or is not known since the start).
"""

from __future__ import annotations

from datetime import datetime

from ..families import Validity
from ..model.operations import Operation, OpKind
from ..model.plan import Credential
from ..model.status import next_status_change
from ..model.values import CredentialRef
from .site_context import SiteContext


class LockWindows:
    """The end of the window written with each code of one lock."""

    def __init__(self, site: SiteContext, lock_id: str) -> None:
        """Start knowing no window (every code is written again once)."""
        self._site = site
        self._lock_id = lock_id
        # ref -> end of the window written
        self._ends: dict[CredentialRef, datetime | None] = {}

    def validity(self, key_id: str, now: datetime) -> Validity:
        """Return the window of a key effective at ``now``: until it stops working."""
        site = self._site.data.site
        key = site.keys[key_id]
        holder = site.keyholders[key.keyholder_id]
        # Only the access to this lock: a change elsewhere does not end it here.
        terms = tuple(t for t in site.terms_of(key) if self._lock_id in t.lock_ids)
        return now, next_status_change(key, holder, now, self._site.tz, terms=terms)

    def written(self, ref: CredentialRef, valid: Validity) -> None:
        """Remember the window just written with the code of ``ref``."""
        self._ends[ref] = valid[1]

    def cleared(self, ref: CredentialRef) -> None:
        """Forget the window of a code just cleared."""
        self._ends.pop(ref, None)

    def changes(
        self,
        desired: dict[CredentialRef, Credential],
        written: dict[CredentialRef, str],
        ops: list[Operation],
        now: datetime,
    ) -> list[Operation]:
        """
        Rewrite codes whose window changed (or is not known since the start).

        The provider skips a write the lock already holds with that window.
        """
        ends = self._ends
        touched = {op.ref for op in ops}
        return [
            Operation(OpKind.SET, self._lock_id, ref, credential)
            for ref, credential in sorted(desired.items())
            if ref not in touched
            and written.get(ref) == credential.secret
            and (
                ref not in ends or ends[ref] != self.validity(credential.key_id, now)[1]
            )
        ]
