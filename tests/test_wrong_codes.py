"""Wrong codes: a validation error, a keypad lockout, and an alert on a run of them."""

from __future__ import annotations

from datetime import timedelta
from http import HTTPStatus
import logging
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import EVENT_CALL_SERVICE
from homeassistant.core import Event, HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.keyholder.const import (
    CONF_WRONG_CODE_LIMIT,
    CONF_WRONG_CODE_MINUTES,
    DOMAIN,
    EVENT_ACCESS,
    EVENT_ALERT,
)
from custom_components.keyholder.sync.alerts import alert_issue_id

from .conftest import LOCK_FRONT, LOCK_GARAGE
from .helpers import issue, move_to

FRONT = "lock.front_door"
WRONG = "97531"


async def _unlock(hass: HomeAssistant, code: str, entity_id: str = FRONT) -> None:
    await hass.services.async_call(
        "lock", "unlock", {"entity_id": entity_id, "code": code}, blocking=True
    )


async def _refused(hass: HomeAssistant, code: str, entity_id: str = FRONT) -> str:
    """Type a code that is refused; return why (the error's translation key)."""
    with pytest.raises(ServiceValidationError) as err:
        await _unlock(hass, code, entity_id)
    await hass.async_block_till_done()
    assert err.value.translation_key is not None
    return err.value.translation_key


def _results(events: list[Event]) -> list[str]:
    return [event.data["result"] for event in events]


def _alert_issue(
    hass: HomeAssistant, lock_id: str = LOCK_FRONT
) -> ir.IssueEntry | None:
    return ir.async_get(hass).async_get_issue(DOMAIN, alert_issue_id(lock_id))


def _no_code_in(code: str, *texts: Any) -> None:
    for text in texts:
        assert code not in str(text)


# -- wrong code = validation error ---------------------------------------------


async def test_wrong_code_is_a_validation_error_over_rest(
    hass: HomeAssistant,
    loaded_site: MockConfigEntry,
    hass_client: ClientSessionGenerator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """REST answers 400 (not 500) and nothing above debug is logged, never the code."""
    assert await async_setup_component(hass, "api", {})
    client = await hass_client()
    caplog.set_level(logging.DEBUG, logger="custom_components.keyholder")
    caplog.set_level(logging.WARNING)
    response = await client.post(
        "/api/services/lock/unlock", json={"entity_id": FRONT, "code": WRONG}
    )
    assert response.status == HTTPStatus.BAD_REQUEST
    body = await response.json()
    assert body["message"].startswith("This code does not open this lock now")
    await hass.async_block_till_done()
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []
    _no_code_in(WRONG, caplog.text)
    state = hass.states.get(FRONT)
    assert state is not None
    assert state.state == "locked"


# -- the virtual keypad locks out ----------------------------------------------


async def test_virtual_keypad_locks_out_after_five_wrong_codes(
    hass: HomeAssistant, loaded_site: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    """Five wrong codes in a row: every code is refused for a minute, growing."""
    accesses = async_capture_events(hass, EVENT_ACCESS)
    passcode = (await issue(hass))["passcode"]
    for _ in range(5):
        assert await _refused(hass, WRONG) == "wrong_code"
    # Locked out: even the right code is refused, unchecked, and said so.
    assert await _refused(hass, passcode) == "keypad_locked_out"
    assert _results(accesses) == ["denied"] * 5 + ["locked_out"]
    state = hass.states.get("event.front_door_access")
    assert state is not None
    assert state.attributes["event_type"] == "locked_out"

    # Refusals while locked out do not lengthen it: a minute after it began,
    # codes are checked again.
    await move_to(hass, freezer, dt_util.utcnow() + timedelta(seconds=59))
    assert await _refused(hass, passcode) == "keypad_locked_out"
    await move_to(hass, freezer, dt_util.utcnow() + timedelta(seconds=1))
    # Five more wrong codes: locked out twice as long.
    for _ in range(5):
        assert await _refused(hass, WRONG) == "wrong_code"
    await move_to(hass, freezer, dt_util.utcnow() + timedelta(seconds=119))
    assert await _refused(hass, passcode) == "keypad_locked_out"
    await move_to(hass, freezer, dt_util.utcnow() + timedelta(seconds=1))

    # The right code opens once the lockout is over, and starts afresh.
    await _unlock(hass, passcode)
    assert _results(accesses)[-1] == "unlocked"
    for _ in range(4):
        assert await _refused(hass, WRONG) == "wrong_code"
    await _unlock(hass, passcode)
    state = hass.states.get(FRONT)
    assert state is not None
    assert state.state == "unlocked"
    # The count started afresh again: four wrong codes do not lock out.
    for _ in range(4):
        assert await _refused(hass, WRONG) == "wrong_code"
    await _unlock(hass, passcode)
    _no_code_in(passcode, *(event.data for event in accesses))


async def test_lockout_error_says_how_long(
    hass: HomeAssistant, loaded_site: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    for _ in range(5):
        await _refused(hass, WRONG)
    await move_to(hass, freezer, dt_util.utcnow() + timedelta(seconds=20))
    with pytest.raises(ServiceValidationError) as err:
        await _unlock(hass, WRONG)
    assert err.value.translation_placeholders == {
        "lock": "Front door",
        "seconds": "40",
    }
    # Another lock's keypad is not locked out.
    assert await _refused(hass, WRONG, "lock.garage") == "wrong_code"


# -- an alert after repeated wrong codes ---------------------------------------


async def test_alert_after_repeated_wrong_codes(
    hass: HomeAssistant,
    loaded_site: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The fifth refusal within 10 minutes alerts once: event + repair issue."""
    caplog.set_level(logging.DEBUG, logger="custom_components.keyholder")
    alerts = async_capture_events(hass, EVENT_ALERT)
    for _ in range(4):
        await _refused(hass, WRONG)
        await move_to(hass, freezer, dt_util.utcnow() + timedelta(minutes=2))
    assert alerts == []
    assert _alert_issue(hass) is None

    await _refused(hass, WRONG)
    assert len(alerts) == 1
    assert alerts[0].data == {
        "alert": "wrong_codes",
        "lock_id": LOCK_FRONT,
        "lock": "Front door",
        "attempts": 5,
        "minutes": 10,
        "locked_out": False,
    }
    found = _alert_issue(hass)
    assert found is not None
    assert found.translation_key == "wrong_codes"
    assert found.severity is ir.IssueSeverity.WARNING
    assert found.is_persistent
    assert found.translation_placeholders is not None
    assert found.translation_placeholders["lock"] == "Front door"
    # Refusals while locked out count too, without alerting again in this run.
    assert await _refused(hass, WRONG) == "keypad_locked_out"
    assert len(alerts) == 1
    assert _alert_issue(hass, LOCK_GARAGE) is None
    _no_code_in(WRONG, caplog.text, found.translation_placeholders, alerts[0].data)


async def test_wrong_codes_spread_out_do_not_alert(
    hass: HomeAssistant, loaded_site: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    """Five wrong codes, each 3 minutes apart, are never five within 10 minutes."""
    alerts = async_capture_events(hass, EVENT_ALERT)
    for _ in range(8):
        await _refused(hass, WRONG)
        await move_to(hass, freezer, dt_util.utcnow() + timedelta(minutes=3))
    assert alerts == []
    assert _alert_issue(hass) is None


async def test_new_run_alerts_again_and_confirming_clears(
    hass: HomeAssistant,
    loaded_site: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    hass_client: ClientSessionGenerator,
) -> None:
    """After 10 quiet minutes a new run alerts again; the repair flow clears it."""
    alerts = async_capture_events(hass, EVENT_ALERT)
    for _ in range(5):
        await _refused(hass, WRONG)
    await move_to(hass, freezer, dt_util.utcnow() + timedelta(minutes=1))
    for _ in range(4):
        await _refused(hass, WRONG)
        await move_to(hass, freezer, dt_util.utcnow() + timedelta(minutes=3))
    assert len(alerts) == 1  # still the same run

    await move_to(hass, freezer, dt_util.utcnow() + timedelta(minutes=11))
    for _ in range(5):
        await _refused(hass, WRONG)
    assert len(alerts) == 2

    # The user confirms they have seen it: the issue goes.
    assert await async_setup_component(hass, "repairs", {})
    client = await hass_client()
    response = await client.post(
        "/api/repairs/issues/fix",
        json={"handler": DOMAIN, "issue_id": alert_issue_id(LOCK_FRONT)},
    )
    assert response.status == HTTPStatus.OK
    flow = await response.json()
    assert flow["step_id"] == "confirm"
    response = await client.post(f"/api/repairs/issues/fix/{flow['flow_id']}")
    assert (await response.json())["type"] == FlowResultType.CREATE_ENTRY
    assert _alert_issue(hass) is None


async def test_alert_threshold_is_a_site_option(
    hass: HomeAssistant, loaded_site: MockConfigEntry
) -> None:
    """With 3 codes within 30 minutes set in the options, the third alerts."""
    result = await hass.config_entries.options.async_init(loaded_site.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            "passcode_length": 6,
            "booking_grace_minutes": 30,
            CONF_WRONG_CODE_LIMIT: 3,
            CONF_WRONG_CODE_MINUTES: 30,
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    alerts = async_capture_events(hass, EVENT_ALERT)
    for _ in range(2):
        await _refused(hass, WRONG)
    assert alerts == []
    await _refused(hass, WRONG)
    assert [(a.data["attempts"], a.data["minutes"]) for a in alerts] == [(3, 30)]


async def test_options_refuse_a_threshold_out_of_range(
    hass: HomeAssistant, loaded_site: MockConfigEntry
) -> None:
    result = await hass.config_entries.options.async_init(loaded_site.entry_id)
    with pytest.raises(Exception, match="wrong_code_limit"):
        await hass.config_entries.options.async_configure(
            result["flow_id"],
            {
                "passcode_length": 6,
                "booking_grace_minutes": 30,
                CONF_WRONG_CODE_LIMIT: 1,
                CONF_WRONG_CODE_MINUTES: 10,
            },
        )


async def test_removing_the_site_removes_its_alerts(
    hass: HomeAssistant, loaded_site: MockConfigEntry
) -> None:
    for _ in range(5):
        await _refused(hass, WRONG)
    assert _alert_issue(hass) is not None
    assert await hass.config_entries.async_remove(loaded_site.entry_id)
    await hass.async_block_till_done()
    assert _alert_issue(hass) is None


async def test_home_assistant_records_the_code_typed_into_lock_unlock(
    hass: HomeAssistant, loaded_site: MockConfigEntry
) -> None:
    """What the README warns about: the action call, with the code, is an event."""
    calls = async_capture_events(hass, EVENT_CALL_SERVICE)
    await _refused(hass, WRONG)
    assert [c.data["service_data"].get("code") for c in calls] == [WRONG]
