"""Diagnostics of a site, with every secret and personal detail redacted."""

from __future__ import annotations

from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.core import HomeAssistant

from . import KeyholderConfigEntry
from .access.describe import LockDescription, describe_lock
from .model.serialize import site_to_dict
from .model.values import CredentialRef

TO_REDACT = {"secret", "email", "given_name", "family_name", "title", "name"}


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: KeyholderConfigEntry
) -> dict[str, Any]:
    """Return the site's model and sync state without codes or names."""
    runtime = entry.runtime_data
    return {
        "entry": async_redact_data(entry.as_dict(), TO_REDACT | {"subentries"}),
        "subentries": [
            {"type": sub.subentry_type, "id": sub.subentry_id}
            for sub in entry.subentries.values()
        ],
        "site": async_redact_data(site_to_dict(runtime.site), TO_REDACT),
        "locks": {
            lock_id: {
                "capabilities": repr(info.provider.capabilities),
                "available": info.provider.available,
                "managed": _by_kind(runtime.data.written.get(lock_id, {})),
                "status": _sync_status(describe_lock(runtime, lock_id)),
            }
            for lock_id, info in runtime.locks.items()
        },
        "bookings": {
            booking_id: {
                "events": len(records),
                "notified": sum(record.notified for record in records.values()),
            }
            for booking_id, records in runtime.data.bookings.items()
        },
        "next_transition": (
            runtime.timer.next_transition.isoformat()
            if runtime.timer.next_transition
            else None
        ),
    }


def _by_kind(held: dict[CredentialRef, str]) -> dict[str, list[int]]:
    """Return kind -> indices of the credentials Keyholder manages (no codes)."""
    by_kind: dict[str, list[int]] = {}
    for ref in sorted(held):
        by_kind.setdefault(ref.kind.value, []).append(ref.index)
    return by_kind


def _sync_status(lock: LockDescription) -> dict[str, Any]:
    """Return a lock's sync state as diagnostics show it (counts, no codes)."""
    return {
        "state": lock.state.value,
        "desired": lock.desired,
        "confirmed": lock.confirmed,
        "failures": lock.failures,
        "last_error": lock.last_error,
    }
