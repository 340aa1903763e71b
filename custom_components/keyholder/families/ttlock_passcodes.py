"""
The passcodes on one TTLock, and the TTLock provider's numbering of them.

A TTLock keeps passcodes, not numbered slots: Keyholder's passcode indices are
the provider's (:mod:`.ttlock`) own numbering of the passcodes on the lock,
kept in ``slot_map`` (ref -> code, saved with the site). A code found on the
lock that is not in the map (added with the TTLock app, say) is given a free
slot of its own, so Keyholder sees it as someone else's and never touches it.
Each passcode on the lock is known with the window it is kept with
(:class:`~.ttlock_wire.Held`), as last read. Every method here runs inside a
session the provider opened; nothing logs or raises with a code in it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ttlock_ble import KeyboardPwdType, TTLockClient, TTLockError

from ..model.values import CredentialRef, KeyKind, SlotRange
from .ttlock_wire import PASSCODE_NOT_FOUND, Held, error_byte, lock_date, same

if TYPE_CHECKING:
    from ttlock_ble import PasscodeEntry


class TTLockPasscodes:
    """What one TTLock holds, by code, and which slot each code is given."""

    def __init__(self, slot_map: dict[CredentialRef, str], slots: SlotRange) -> None:
        """Give the lock's passcodes slots of ``slots``; ``slot_map`` is persisted."""
        self.slot_map = slot_map
        self._slots = slots
        self.held: dict[str, Held] = {}
        """Code -> how the lock keeps it, as last read."""

    async def async_read(self, client: TTLockClient) -> None:
        """Read the passcodes the lock holds, with their windows."""
        entries: list[PasscodeEntry] = await client.get_passcodes()
        self.held = {
            entry.passcode: Held(entry.pwd_type, entry.start_date, entry.end_date)
            for entry in entries
        }

    def assign_slots(self) -> dict[CredentialRef, str]:
        """
        Give what the last read found its slots; return ref -> code.

        Codes gone from the lock lose their slot; codes new to it get a free one.
        """
        on_lock = set(self.held)
        for ref, code in list(self.slot_map.items()):
            if code not in on_lock:
                del self.slot_map[ref]
        known = set(self.slot_map.values())
        for code in sorted(on_lock - known):
            free = self._free_slot()
            if free is None:
                break  # more codes than slots: the rest stay unknown to Keyholder
            self.slot_map[free] = code
        return dict(self.slot_map)

    def _free_slot(self) -> CredentialRef | None:
        slots = self._slots
        refs = (
            CredentialRef(KeyKind.PASSCODE, index)
            for index in range(slots.first, slots.last + 1)
        )
        return next((ref for ref in refs if ref not in self.slot_map), None)

    def holds(self, ref: CredentialRef, code: str, want: Held) -> bool:
        """Return True when the last read found ``code`` at ``ref``, kept as ``want``."""
        held = self.held.get(code)
        return self.slot_map.get(ref) == code and held is not None and same(held, want)

    async def async_write(
        self, client: TTLockClient, ref: CredentialRef, code: str, want: Held
    ) -> None:
        """Make ``code`` the passcode of ``ref``, kept as ``want`` (after a read)."""
        old = self.slot_map.get(ref)
        if old is not None and old != code and old in self.held:
            await self._async_delete(client, old)
        held = self.held.get(code)
        if held is None or not same(held, want):
            if held is not None:
                await self._async_delete(client, code)
            await self._async_add(client, code, want)
            self.held[code] = want
        for other in [r for r, c in self.slot_map.items() if c == code]:
            del self.slot_map[other]
        self.slot_map[ref] = code

    async def async_clear(self, client: TTLockClient, ref: CredentialRef) -> None:
        """Delete the passcode of ``ref`` from the lock, and its slot."""
        code = self.slot_map.get(ref)
        if code is not None:
            await self.async_read(client)
            if code in self.held:
                await self._async_delete(client, code)
        self.slot_map.pop(ref, None)

    async def _async_add(self, client: TTLockClient, code: str, held: Held) -> None:
        if held.pwd_type is KeyboardPwdType.PERIOD:
            assert held.start is not None
            assert held.end is not None
            await client.add_passcode(
                code,
                pwd_type=KeyboardPwdType.PERIOD,
                start_date=lock_date(held.start),
                end_date=lock_date(held.end),
            )
        else:
            await client.add_passcode(code)

    async def _async_delete(self, client: TTLockClient, code: str) -> None:
        held = self.held.pop(code, None)
        pwd_type = held.pwd_type if held else KeyboardPwdType.PERMANENT
        try:
            await client.delete_passcode(code, pwd_type=pwd_type)
        except TTLockError as err:
            if error_byte(err) != PASSCODE_NOT_FOUND:
                raise
