"""Restarts, offline locks and secrets: nothing is lost and no PIN leaks."""

from __future__ import annotations

from datetime import datetime, timedelta
import json
import logging
import re
from zoneinfo import ZoneInfo

from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import MATCH_ALL
from homeassistant.core import Event, HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.keyholder.const import DOMAIN
from custom_components.keyholder.model.serialize import credentials_to_dict
from custom_components.keyholder.model.values import CredentialRef

from .conftest import LOCK_FRONT, LOCK_GARAGE
from .helpers import by_slot, issue, move_to

BERLIN = ZoneInfo("Europe/Berlin")
START = datetime(2026, 12, 3, 9, 0, tzinfo=BERLIN)


def lock_codes(entry: MockConfigEntry, lock_id: str = LOCK_FRONT) -> dict[int, str]:
    return by_slot(entry.runtime_data.locks[lock_id].provider.codes)


async def test_restart_keeps_keys_and_clears_expired(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    berlin: None,
    site_entry: MockConfigEntry,
) -> None:
    freezer.move_to(START)
    site_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(site_entry.entry_id)
    await hass.async_block_till_done()
    lasting = await issue(hass, uses=5)
    short = await issue(hass, valid_until=(START + timedelta(hours=1)).isoformat())
    await hass.services.async_call(
        "lock",
        "unlock",
        {"entity_id": "lock.front_door", "code": lasting["passcode"]},
        blocking=True,
    )
    before = lock_codes(site_entry)
    assert set(before.values()) == {lasting["passcode"], short["passcode"]}
    slots = {v: k for k, v in before.items()}

    # Home Assistant stops; the short key expires while it is down.
    assert await hass.config_entries.async_unload(site_entry.entry_id)
    freezer.move_to(START + timedelta(hours=2))
    assert await hass.config_entries.async_setup(site_entry.entry_id)
    await hass.async_block_till_done()

    runtime = site_entry.runtime_data
    after = lock_codes(site_entry)
    assert after == {slots[lasting["passcode"]]: lasting["passcode"]}
    key = runtime.site.keys[lasting["key_id"]]
    assert key.uses == 1
    assert key.max_uses == 5
    assert runtime.site.keys[short["key_id"]].uses == 0
    assert hass.states.get("sensor.front_door_sync").state == "in_sync"


async def test_offline_lock_retries_and_repairs(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    berlin: None,
    site_entry: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
) -> None:
    freezer.move_to(START)
    site_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(site_entry.entry_id)
    await hass.async_block_till_done()
    await hass.services.async_call(
        DOMAIN,
        "set_lock_online",
        {"entity_id": "lock.front_door", "online": False},
        blocking=True,
    )
    assert hass.states.get("lock.front_door").state == "unavailable"
    key = await issue(hass, locks=["Front door", "Garage"])
    runtime = site_entry.runtime_data
    status = runtime.lock_status[LOCK_FRONT]
    sync = hass.states.get("sensor.front_door_sync")
    assert sync.state == "failed"
    assert sync.attributes["last_error"] == "lock_offline"
    # What the lock should hold is shown even while it cannot be read.
    assert sync.attributes["codes_wanted"] == 1
    assert sync.attributes["codes_confirmed"] == 0
    # The other lock is not held up by the offline one.
    assert set(lock_codes(site_entry, LOCK_GARAGE).values()) == {key["passcode"]}

    # Going offline failed one pass; the new key's pass tried again but does
    # not shorten the backoff: the first retry stays due after 30 s.
    assert status.failures == 1
    assert status.next_retry - START == timedelta(seconds=30)
    issue_id = f"lock_unreachable_{LOCK_FRONT}"
    for failures, delay in ((2, 60), (3, 120)):
        now = status.next_retry
        freezer.move_to(now)
        async_fire_time_changed(hass, now)
        await hass.async_block_till_done()
        assert status.failures == failures
        assert status.next_retry - now == timedelta(seconds=delay)
    issue_id = f"lock_unreachable_{LOCK_FRONT}"
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is not None
    # Backoff keeps doubling up to the cap.
    for _ in range(10):
        now = status.next_retry
        freezer.move_to(now)
        async_fire_time_changed(hass, now)
        await hass.async_block_till_done()
    assert status.next_retry - now == timedelta(minutes=30)

    await hass.services.async_call(
        DOMAIN,
        "set_lock_online",
        {"entity_id": "lock.front_door", "online": True},
        blocking=True,
    )
    assert set(lock_codes(site_entry).values()) == {key["passcode"]}
    assert hass.states.get("sensor.front_door_sync").state == "in_sync"
    assert issue_registry.async_get_issue(DOMAIN, issue_id) is None


async def test_offline_hour_costs_a_bounded_number_of_attempts(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    berlin: None,
    site_entry: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
) -> None:
    """
    One hour offline: 1 + 6 backoff attempts (30 s doubling) plus one per change.

    Retries fall at 0.5, 1.5, 3.5, 7.5, 15.5 and 31.5 minutes (the next, at
    61.5, is past the hour); the plumber's key issued during the outage and its
    window edge each try once more without resetting the backoff.
    """
    freezer.move_to(START)
    site_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(site_entry.entry_id)
    await hass.async_block_till_done()
    provider = site_entry.runtime_data.locks[LOCK_FRONT].provider
    attempts: list[datetime] = []
    read = provider.async_read_credentials

    async def counted_read() -> dict[CredentialRef, str | None]:
        attempts.append(dt_util.now())
        return dict(await read())

    provider.async_read_credentials = counted_read  # type: ignore[method-assign]
    await hass.services.async_call(
        DOMAIN,
        "set_lock_online",
        {"entity_id": "lock.front_door", "online": False},
        blocking=True,
    )
    now = START
    while now < START + timedelta(hours=1):
        now += timedelta(seconds=15)
        await move_to(hass, freezer, now)
        if now == START + timedelta(minutes=5):
            key = await issue(
                hass,
                valid_from=(START + timedelta(minutes=20)).isoformat(),
                valid_until=(START + timedelta(hours=3)).isoformat(),
            )

    offsets = [round((when - START).total_seconds()) for when in attempts]
    assert offsets == [0, 30, 90, 210, 300, 450, 930, 1200, 1890]
    status = site_entry.runtime_data.lock_status[LOCK_FRONT]
    assert status.failures == 7
    ours = [i for (domain, _), i in issue_registry.issues.items() if domain == DOMAIN]
    assert len(ours) == 1
    assert ours[0].translation_placeholders == {
        "lock": "Front door",
        "error": "lock_offline",
    }

    await hass.services.async_call(
        DOMAIN,
        "set_lock_online",
        {"entity_id": "lock.front_door", "online": True},
        blocking=True,
    )
    await hass.async_block_till_done()
    assert set(lock_codes(site_entry).values()) == {key["passcode"]}
    assert status.failures == 0
    assert hass.states.get("sensor.front_door_sync").state == "in_sync"
    assert not [key for key in issue_registry.issues if key[0] == DOMAIN]


async def test_no_pin_leaks(
    hass: HomeAssistant,
    loaded_site: MockConfigEntry,
    hass_client: ClientSessionGenerator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    events: list[Event] = []
    hass.bus.async_listen(MATCH_ALL, events.append)
    first = await issue(hass, locks=["Front door", "Garage"])
    second = await issue(hass, passcode="4826")
    await hass.services.async_call(
        "lock",
        "unlock",
        {"entity_id": "lock.front_door", "code": second["passcode"]},
        blocking=True,
    )
    new = await hass.services.async_call(
        DOMAIN,
        "generate_passcode",
        {"key_id": first["key_id"]},
        blocking=True,
        return_response=True,
    )
    await hass.services.async_call(
        DOMAIN, "block_user", {"keyholder": "Plumber"}, blocking=True
    )
    await hass.async_block_till_done()
    pins = {first["passcode"], second["passcode"], new["passcode"]}

    states = json.dumps([s.as_dict() for s in hass.states.async_all()], default=str)
    bus = json.dumps(
        [e.data for e in events if e.event_type != "call_service"], default=str
    )
    diagnostics = json.dumps(
        await get_diagnostics_for_config_entry(hass, hass_client, loaded_site)
    )
    # pytest-homeassistant-custom-component's in-memory Store logs what it
    # writes; Home Assistant's real Store does not, so that logger is skipped.
    logs = "\n".join(
        record.getMessage()
        for record in caplog.records
        if record.name != "pytest_homeassistant_custom_component.common"
    )
    assert "Setting passcode" in logs
    for pin in pins:
        # A PIN is a whole number: "4826" inside a timestamp's microseconds is not it.
        whole = re.compile(rf"(?<!\d){pin}(?!\d)")
        assert not whole.search(states)
        assert not whole.search(bus)
        assert not whole.search(logs)
        assert not whole.search(diagnostics)
    # The checks can fail: the store (a private file) does hold the codes.
    store = json.dumps(credentials_to_dict(loaded_site.runtime_data.data.written))
    assert new["passcode"] not in store  # blocked: no longer written anywhere
    assert "Plumber" in bus
