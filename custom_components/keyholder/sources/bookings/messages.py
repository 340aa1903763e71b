"""Telling a booking's guests their codes: once each, through the notify entity."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util

from ...access.notify_targets import notify_entity
from ...const import LOGGER
from ...model.values import Key
from ...storage.store import BookingRecord
from ...sync.runtime import KeyholderRuntime
from .config import BookingConfig


async def async_send_codes(
    hass: HomeAssistant,
    runtime: KeyholderRuntime,
    config: BookingConfig,
    records: dict[str, BookingRecord],
) -> None:
    """Send each live key's passcode once, to the booking's notify entity."""
    if config.notify is None:
        return
    site = runtime.site
    for ident, record in list(records.items()):
        key = site.keys[record.key_id]
        if record.notified or key.cancelled or key.secret is None:
            continue
        if await _async_send(hass, runtime, config, key):
            records[ident] = replace(record, notified=True)


def guest_message(runtime: KeyholderRuntime, key: Key) -> str:
    """Return what a guest is told: the code, its doors and its window."""
    locks = ", ".join(
        sorted(
            runtime.locks[i].name
            for i in runtime.site.locks_of(key)
            if i in runtime.locks
        )
    )
    schedule = key.schedule
    assert schedule.valid_from is not None
    assert schedule.valid_until is not None
    return (
        f"{key.name}: your door code is {key.secret}. It opens {locks} "
        f"from {_local(schedule.valid_from)} until {_local(schedule.valid_until)}."
    )


async def _async_send(
    hass: HomeAssistant, runtime: KeyholderRuntime, config: BookingConfig, key: Key
) -> bool:
    """Send one guest's passcode; return whether it went out."""
    assert config.notify is not None
    message = guest_message(runtime, key)
    entity = notify_entity(hass, config.notify)
    if entity is None:
        LOGGER.warning(
            "Could not send the code of %s: %s is not loaded (or would pass "
            "codes on to others); will try again",
            key.name,
            config.notify,
        )
        return False
    try:
        # The entity's own handler of notify.send_message: an action call
        # would put the code in the call_service event the recorder keeps.
        await entity._async_send_message(  # noqa: SLF001
            message=message, title=config.title
        )
    except Exception as err:  # noqa: BLE001
        # Any notify integration's error; its text may quote the message.
        LOGGER.warning(
            "Could not send the code of %s to %s (%s); will try again",
            key.name,
            config.notify,
            type(err).__name__,
        )
        return False
    return True


def _local(when: datetime) -> str:
    return dt_util.as_local(when).strftime("%Y-%m-%d %H:%M")
