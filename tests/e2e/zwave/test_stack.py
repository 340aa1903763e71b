"""Prove the Z-Wave JS end-to-end harness itself (no Keyholder code involved)."""

from __future__ import annotations

import asyncio
from typing import Any

from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import Event, callback
from homeassistant.exceptions import HomeAssistantError
import pytest

from .conftest import MockLock, ZwaveJsLock

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("socket_enabled")]


async def _set_code(zw: ZwaveJsLock, slot: int, code: str) -> None:
    await zw.hass.services.async_call(
        "zwave_js",
        "set_lock_usercode",
        {"entity_id": zw.entity_id, "code_slot": slot, "usercode": code},
        blocking=True,
    )


async def _clear_code(zw: ZwaveJsLock, slot: int) -> None:
    await zw.hass.services.async_call(
        "zwave_js",
        "clear_lock_usercode",
        {"entity_id": zw.entity_id, "code_slot": slot},
        blocking=True,
    )


async def test_lock_entity_set_and_clear_code(zwave_js_lock: ZwaveJsLock) -> None:
    zw = zwave_js_lock
    state = zw.hass.states.get(zw.entity_id)
    assert state is not None
    assert state.state != STATE_UNAVAILABLE
    assert zw.entity_id.startswith("lock.")
    assert await zw.mock.read_codes() == {}

    await _set_code(zw, 5, "135790")
    assert await zw.mock.wait_for_codes(lambda c: c.get(5) == "135790") == {5: "135790"}

    await _clear_code(zw, 5)
    assert await zw.mock.wait_for_codes(lambda c: 5 not in c) == {}


async def test_fault_injection(zwave_js_lock: ZwaveJsLock) -> None:
    zw = zwave_js_lock
    # A lock that ACKs but refuses the code: the service call still succeeds; only
    # reading back (the driver verifies with a Get ~1 s later) shows it is missing.
    await zw.mock.reject_code_sets()
    await _set_code(zw, 5, "135790")
    assert await zw.mock.read_codes() == {}
    assert zw.driver_codes() == {}
    await zw.mock.reject_code_sets(enabled=False)

    # Out of radio range: the first write fails after ~3 s (ZW0204) and the node
    # is marked dead, but the lock entity stays available.
    await zw.mock.set_reachable(False)
    with pytest.raises(HomeAssistantError, match="ZW0204"):
        await _set_code(zw, 6, "246802")
    await zw.mock.set_reachable(True)
    assert await zw.mock.read_codes() == {}


@pytest.mark.parametrize("zwave_seed_codes", [{3: "4567"}])
async def test_seeded_code_visible_through_node_values(
    zwave_js_lock: ZwaveJsLock,
) -> None:
    zw = zwave_js_lock
    assert await zw.mock.read_codes() == {3: "4567"}
    values = zw.user_code_values()
    assert len(values) == zw.mock.num_users
    assert values[3] == {"userIdStatus": 1, "userCode": "4567"}
    assert values[4] == {"userIdStatus": 0, "userCode": ""}

    response: Any = await zw.hass.services.async_call(
        "zwave_js",
        "get_lock_usercode",
        {"entity_id": zw.entity_id, "code_slot": 3},
        blocking=True,
        return_response=True,
    )
    assert response[zw.entity_id] == {"3": {"usercode": "4567", "in_use": True}}

    # A code typed in on the lock itself later is seen after a refresh.
    await zw.mock.seed_code(7, "97531")
    await zw.refresh_user_codes()
    assert zw.user_code_values()[7] == {"userIdStatus": 1, "userCode": "97531"}


async def test_keypad_unlock_fires_notification_event(
    zwave_js_lock: ZwaveJsLock,
) -> None:
    zw = zwave_js_lock
    events: list[Event] = []
    got = asyncio.Event()

    @callback
    def _on_event(event: Event) -> None:
        events.append(event)
        got.set()

    unsub = zw.hass.bus.async_listen("zwave_js_notification", _on_event)
    try:
        await zw.mock.keypad_unlock(4)
        await asyncio.wait_for(got.wait(), 10)
    finally:
        unsub()
    data = events[0].data
    assert data["command_class"] == 113
    assert data["type"] == 6
    assert data["event"] == 6
    assert data["parameters"] == {"userId": 4}
    assert data["node_id"] == zw.mock.node_id


async def test_server_restart(
    zwave_js_lock: ZwaveJsLock, mock_lock_ok: None, caplog: pytest.LogCaptureFixture
) -> None:
    zw = zwave_js_lock
    await zw.server.stop()
    await zw.wait_unavailable()

    # Pitfall: Home Assistant skips unavailable entities in entity services, so
    # set/clear_lock_usercode do NOT raise while the server is down; they only log a
    # warning and nothing reaches the lock. Callers must check availability themselves.
    await _set_code(zw, 2, "24680")
    assert "are missing or not currently available" in caplog.text
    # A call that wants a response does fail.
    with pytest.raises(HomeAssistantError, match="did not match any entities"):
        await zw.hass.services.async_call(
            "zwave_js",
            "get_lock_usercode",
            {"entity_id": zw.entity_id, "code_slot": 2},
            blocking=True,
            return_response=True,
        )
    assert 2 not in await zw.mock.read_codes()

    await zw.server.start()
    await zw.wait_loaded()
    await _set_code(zw, 2, "24680")
    assert (await zw.mock.wait_for_codes(lambda c: 2 in c))[2] == "24680"


@pytest.fixture
def mock_lock_ok(zwave_mock_lock: MockLock) -> None:
    """The mock lock must survive the server going away."""
    assert zwave_mock_lock.process.poll() is None
