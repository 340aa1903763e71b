"""A booking's guest keys, brought in line with its calendar's stays."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from homeassistant.exceptions import HomeAssistantError, ServiceValidationError

from ...access.keys import (
    async_cancel_key,
    async_issue_key,
    async_new_passcode,
    async_remove_key,
    async_reschedule_key,
)
from ...const import CONF_PASSCODE_LENGTH, DEFAULT_PASSCODE_LENGTH, LOGGER, site_setting
from ...model.values import KeyKind, Schedule
from ...storage.store import BookingRecord
from ...sync.runtime import KeyholderConfigEntry, KeyholderRuntime
from .config import BookingConfig
from .events import CalendarStay, match_moved


class GuestKeys:
    """Issues, moves, cancels and removes the keys of one booking's guests."""

    def __init__(
        self,
        entry: KeyholderConfigEntry,
        runtime: KeyholderRuntime,
        booking_id: str,
        config: BookingConfig,
    ) -> None:
        """Create the keys of one booking subentry's guests."""
        self._entry = entry
        self._runtime = runtime
        self._booking_id = booking_id
        self._config = config

    async def async_follow(
        self,
        records: dict[str, BookingRecord],
        stays: dict[str, CalendarStay],
        now: datetime,
    ) -> None:
        """Bring the keys (and ``records``, event id -> key) in line with ``stays``."""
        site = self._runtime.site
        # Stays that are over (grace included) leave with their keys.
        await self._async_remove_ended(records, now)
        # Keys removed behind the booking's back: their events get new ones.
        for ident in [i for i, r in records.items() if r.key_id not in site.keys]:
            del records[ident]
        stays = {i: s for i, s in stays.items() if s.end + self._config.grace > now}
        gone = {i: r for i, r in records.items() if i not in stays}
        new = {i: s for i, s in stays.items() if i not in records}
        await self._async_move(records, gone, new)
        for ident, record in gone.items():
            # Deleted from the calendar: the key stops working at once.
            del records[ident]
            if not site.keys[record.key_id].cancelled:
                await async_cancel_key(self._runtime, record.key_id)
        await self._async_keep(records, stays)

    async def _async_move(
        self,
        records: dict[str, BookingRecord],
        gone: dict[str, BookingRecord],
        new: dict[str, CalendarStay],
    ) -> None:
        """Give moved events their old keys; they leave ``gone`` and ``new``."""
        site = self._runtime.site
        for new_id, old_id in match_moved(gone, new).items():
            # Events carry no id: a stay of the same title starting elsewhere may
            # be a cancelled booking and a new one (feeds title every stay
            # "Reserved"). The key moves, but with a new code, sent again.
            record = records.pop(old_id)
            if not site.keys[record.key_id].cancelled:
                await async_new_passcode(
                    self._runtime, record.key_id, None, self._passcode_length()
                )
            records[new_id] = replace(record, notified=False)
            del gone[old_id]
            del new[new_id]

    async def _async_keep(
        self, records: dict[str, BookingRecord], stays: dict[str, CalendarStay]
    ) -> None:
        """Give each stay its key, on the booking's locks and for its window."""
        lock_ids = self._lock_ids()
        for ident, stay in stays.items():
            try:
                if ident in records:
                    records[ident] = await self._async_reschedule(
                        records[ident], stay, lock_ids
                    )
                elif lock_ids:
                    records[ident] = await self._async_issue(stay, lock_ids)
            except HomeAssistantError as err:
                # One stay that cannot be given its key does not hold up the
                # others; it is tried again at the next read.
                LOGGER.warning(
                    "Could not give the guest of a stay in %s a key (%s)",
                    self._config.title,
                    type(err).__name__,
                )

    def _schedule(self, stay: CalendarStay) -> Schedule:
        grace = self._config.grace
        return Schedule(valid_from=stay.start - grace, valid_until=stay.end + grace)

    def _lock_ids(self) -> frozenset[str]:
        return frozenset(
            lock for lock in self._config.locks if lock in self._runtime.locks
        )

    def _passcode_length(self) -> int:
        return site_setting(self._entry, CONF_PASSCODE_LENGTH, DEFAULT_PASSCODE_LENGTH)

    async def _async_remove_ended(
        self, records: dict[str, BookingRecord], now: datetime
    ) -> None:
        """Remove the booking's keys whose validity is over, and their records."""
        runtime = self._runtime
        for ident in [
            i for i, r in records.items() if r.end + self._config.grace <= now
        ]:
            del records[ident]
        for key in runtime.site.keys_of(self._booking_id):
            until = key.schedule.valid_until
            if until is not None and until <= now:
                await async_remove_key(runtime, key.id)

    async def _async_reschedule(
        self, record: BookingRecord, stay: CalendarStay, lock_ids: frozenset[str]
    ) -> BookingRecord:
        """Move a guest's key with its event (and with the booking's settings)."""
        key = self._runtime.site.keys[record.key_id]
        schedule = self._schedule(stay)
        record = replace(record, summary=stay.summary, start=stay.start, end=stay.end)
        if not lock_ids or (key.schedule == schedule and key.lock_ids == lock_ids):
            return record
        try:
            await async_reschedule_key(self._runtime, key.id, schedule, lock_ids)
        except ServiceValidationError:
            # The code is taken on a lock the booking now includes: a new one.
            await async_reschedule_key(self._runtime, key.id, schedule)
            await async_new_passcode(
                self._runtime, key.id, None, self._passcode_length()
            )
            await async_reschedule_key(self._runtime, key.id, schedule, lock_ids)
            record = replace(record, notified=False)
        return record

    async def _async_issue(
        self, stay: CalendarStay, lock_ids: frozenset[str]
    ) -> BookingRecord:
        """Give a new stay's guest a key (or take back one issued before a crash)."""
        schedule = self._schedule(stay)
        runtime = self._runtime
        recorded = {
            r.key_id for r in runtime.data.bookings.get(self._booking_id, {}).values()
        }
        for key in runtime.site.keys_of(self._booking_id):
            if (
                key.id not in recorded
                and not key.cancelled
                and key.name == stay.summary
                and key.schedule == schedule
            ):
                return BookingRecord(key.id, stay.summary, stay.start, stay.end)
        issued = await async_issue_key(
            runtime,
            keyholder_id=self._booking_id,
            lock_ids=lock_ids,
            kind=KeyKind.PASSCODE,
            schedule=schedule,
            max_uses=None,
            passcode=None,
            tag=None,
            passcode_length=self._passcode_length(),
            name=stay.summary,
        )
        return BookingRecord(issued.key.id, stay.summary, stay.start, stay.end)
