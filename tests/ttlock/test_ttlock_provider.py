"""The TTLock provider against a simulated lock speaking the library's protocol."""

from __future__ import annotations

from datetime import timedelta
import logging

from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
import pytest
from ttlock_ble import KeyboardPwdType, LogOperate

from custom_components.keyholder.families import ProviderError
from custom_components.keyholder.families.ttlock import TTLockLock, parse_ekey
from custom_components.keyholder.model.values import CredentialRef

from ..helpers import P, by_slot
from ..ttlock_sim import (
    ADDRESS,
    FakeBluetooth,
    LogRecord,
    SimTTLock,
    ekey_dict,
    install_backend,
)

CODE = "482611"


def _minute(delta: timedelta = timedelta()) -> dt_util.dt.datetime:
    """Return local wall-clock time (naive, to the minute) shifted by ``delta``."""
    return (dt_util.now() + delta).replace(tzinfo=None, second=0, microsecond=0)


async def test_set_read_clear(provider: TTLockLock, sim_lock: SimTTLock) -> None:
    assert by_slot(await provider.async_read_credentials()) == {}
    await provider.async_set_credential(P(1), CODE)
    assert set(sim_lock.passcodes) == {CODE}
    assert sim_lock.passcodes[CODE].pwd_type == KeyboardPwdType.PERMANENT
    assert by_slot(await provider.async_read_credentials()) == {1: CODE}
    await provider.async_clear_credential(P(1))
    assert sim_lock.passcodes == {}
    assert by_slot(await provider.async_read_credentials()) == {}
    caps = provider.capabilities
    assert caps.native_schedule
    assert caps.can_read_back
    assert caps.reports_slot


async def test_period_passcode_carries_the_window(
    provider: TTLockLock, sim_lock: SimTTLock
) -> None:
    start = dt_util.utcnow()
    end = start + timedelta(hours=2)
    await provider.async_set_credential(P(3), CODE, valid=(start, end))
    held = sim_lock.passcodes[CODE]
    assert held.pwd_type == KeyboardPwdType.PERIOD
    # A minute early, so a lock clock a little behind takes it at once.
    assert held.start == _minute(-timedelta(minutes=1))
    assert held.end == _minute(timedelta(hours=2))
    assert sim_lock.accepts(CODE)
    # The lock enforces the end by itself (Home Assistant may be down by then).
    sim_lock.clock_offset = timedelta(hours=2, minutes=1).total_seconds()
    assert not sim_lock.accepts(CODE)
    sim_lock.clock_offset = 0

    # The same window again: nothing is sent to the lock.
    assert by_slot(await provider.async_read_credentials()) == {3: CODE}
    sent = list(sim_lock.admin_commands)
    connections = sim_lock.connections
    await provider.async_set_credential(P(3), CODE, valid=(start, end))
    assert sim_lock.admin_commands == sent
    assert sim_lock.connections == connections

    # A longer window: the passcode is replaced with the new end.
    await provider.async_set_credential(
        P(3), CODE, valid=(start, end + timedelta(days=1))
    )
    assert sim_lock.admin_commands[len(sent) :] == ["delete", "add"]
    assert sim_lock.passcodes[CODE].end == _minute(timedelta(days=1, hours=2))

    # No end: a permanent passcode.
    await provider.async_set_credential(P(3), CODE, valid=(start, None))
    assert sim_lock.passcodes[CODE].pwd_type == KeyboardPwdType.PERMANENT


async def test_changing_a_slot_replaces_its_code(
    provider: TTLockLock, sim_lock: SimTTLock, slot_map: dict[CredentialRef, str]
) -> None:
    await provider.async_set_credential(P(1), CODE)
    await provider.async_set_credential(P(1), "593702")
    assert set(sim_lock.passcodes) == {"593702"}
    assert by_slot(slot_map) == {1: "593702"}


async def test_codes_of_others_get_a_slot_and_are_left_alone(
    provider: TTLockLock, sim_lock: SimTTLock, slot_map: dict[CredentialRef, str]
) -> None:
    sim_lock.seed("1357913")
    await provider.async_set_credential(P(1), CODE)
    assert by_slot(await provider.async_read_credentials()) == {1: CODE, 2: "1357913"}
    # The numbering is kept (saved with the site) and survives a new provider.
    assert by_slot(slot_map) == {1: CODE, 2: "1357913"}
    # A code removed with the TTLock app frees its slot.
    del sim_lock.passcodes["1357913"]
    assert by_slot(await provider.async_read_credentials()) == {1: CODE}


async def test_more_codes_than_slots(provider: TTLockLock, sim_lock: SimTTLock) -> None:
    for number in range(12):
        sim_lock.seed(f"70{number:02d}11")
    assert len(by_slot(await provider.async_read_credentials())) == 10


async def test_code_already_on_the_lock_is_taken_over(
    provider: TTLockLock, sim_lock: SimTTLock
) -> None:
    """A write that reached the lock before Home Assistant stopped is kept."""
    sim_lock.seed(CODE)
    await provider.async_set_credential(P(4), CODE)
    assert by_slot(await provider.async_read_credentials()) == {4: CODE}


async def test_out_of_range_lock_is_offline(
    provider: TTLockLock, air: FakeBluetooth, sim_lock: SimTTLock
) -> None:
    air.set_online(online=False)
    assert not provider.available
    for operation in (
        provider.async_read_credentials(),
        provider.async_set_credential(P(1), CODE),
        provider.async_clear_credential(P(1)),
    ):
        with pytest.raises(ProviderError) as err:
            await operation
        assert err.value.reason == "lock_offline"
    assert sim_lock.connections == 0


async def test_failed_connection_is_offline(
    provider: TTLockLock, sim_lock: SimTTLock, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def _refuse(*args: object, **kwargs: object) -> None:
        raise TimeoutError

    monkeypatch.setattr("ttlock_ble.ble.transport.establish_connection", _refuse)
    with pytest.raises(ProviderError) as err:
        await provider.async_read_credentials()
    assert err.value.reason == "lock_offline"


@pytest.mark.parametrize(
    ("setup", "reason"),
    [
        (lambda lock: setattr(lock, "capacity", 0), "lock_full"),
        (lambda lock: setattr(lock, "reject_lengths", True), "code_rejected"),
        (lambda lock: setattr(lock, "admin_ps", "11112222"), "ekey_rejected"),
        (lambda lock: setattr(lock, "answers", False), "lock_not_answering"),
    ],
)
async def test_lock_refusals(
    provider: TTLockLock,
    sim_lock: SimTTLock,
    slot_map: dict[CredentialRef, str],
    caplog: pytest.LogCaptureFixture,
    setup: object,
    reason: str,
) -> None:
    caplog.set_level(logging.DEBUG)
    setup(sim_lock)  # type: ignore[operator]
    with pytest.raises(ProviderError) as err:
        await provider.async_set_credential(P(1), CODE)
    assert err.value.reason == reason
    assert CODE not in str(err.value)
    assert CODE not in caplog.text
    assert by_slot(slot_map) == {}
    assert CODE not in sim_lock.passcodes


async def test_provider_refuses_what_the_lock_cannot_hold(
    provider: TTLockLock, sim_lock: SimTTLock
) -> None:
    for slot, code, reason in (
        (0, CODE, "slot_out_of_range"),
        (11, CODE, "slot_out_of_range"),
        (1, "123", "code_rejected"),
        (1, "1234567890", "code_rejected"),
        (1, "12a4", "code_rejected"),
    ):
        with pytest.raises(ProviderError) as err:
            await provider.async_set_credential(P(slot), code)
        assert err.value.reason == reason
        assert code not in str(err.value)
    assert sim_lock.connections == 0


async def test_keypad_use_is_read_from_the_log(
    hass: HomeAssistant, provider: TTLockLock, sim_lock: SimTTLock, air: FakeBluetooth
) -> None:
    start = dt_util.utcnow()
    await provider.async_set_credential(
        P(2), CODE, valid=(start, start + timedelta(hours=1))
    )
    await provider.async_set_credential(P(5), "593702")
    used: list[CredentialRef] = []
    unsub = provider.async_listen_usage(used.append)
    # An unlock with the same digits before the code's window is an older life.
    sim_lock.log.append(
        LogRecord(
            LogOperate.KEYBOARD_PASSWORD_UNLOCK, _minute(-timedelta(days=3)), CODE
        )
    )
    assert sim_lock.press_keypad(CODE)
    assert not sim_lock.press_keypad("000000")
    sim_lock.unlock_by_hand()
    # Read with the codes (a sync pass), or when the lock advertises new records.
    await provider.async_read_credentials()
    assert used == [P(2)]
    assert not sim_lock.has_new_records
    assert sim_lock.press_keypad("593702")
    air.advertise()
    await hass.async_block_till_done(wait_background_tasks=True)
    assert used == [P(2), P(5)]
    # Nothing new: an advertisement starts no connection.
    connections = sim_lock.connections
    air.advertise()
    await hass.async_block_till_done(wait_background_tasks=True)
    assert sim_lock.connections == connections
    unsub()
    assert sim_lock.press_keypad(CODE)
    air.advertise()
    await hass.async_block_till_done(wait_background_tasks=True)
    assert used == [P(2), P(5)]


async def test_back_in_range_is_announced(
    hass: HomeAssistant, provider: TTLockLock, air: FakeBluetooth
) -> None:
    backs: list[bool] = []
    unsub = provider.async_listen_available(lambda: backs.append(True))
    air.advertise()
    assert backs == []
    air.set_online(online=False)
    air.set_online(online=True)
    air.advertise()
    assert backs == [True]
    unsub()
    assert air.adv_callbacks == []
    assert air.gone_callbacks == []


def test_ekey_parsing() -> None:
    key = parse_ekey(ekey_dict())
    assert key.lockMac == ADDRESS
    for bad in (
        {},
        ekey_dict(aesKeyStr="zz"),
        ekey_dict(adminPs=""),
        ekey_dict(lockVersion="nope"),
    ):
        with pytest.raises(ValueError) as err:
            parse_ekey(bad)
        assert "zz" not in str(err.value)


async def test_without_bluetooth_nothing_is_attempted(
    hass: HomeAssistant, provider: TTLockLock, sim_lock: SimTTLock
) -> None:
    hass.config.components.remove("bluetooth")
    assert not provider.available
    with pytest.raises(ProviderError) as err:
        await provider.async_read_credentials()
    assert err.value.reason == "integration_not_loaded"
    unsubs = [
        provider.async_listen_usage(lambda ref: None),
        provider.async_listen_available(lambda: None),
    ]
    for unsub in unsubs:
        unsub()
    assert sim_lock.connections == 0


async def test_no_passcode_in_the_library_debug_log(
    provider: TTLockLock, sim_lock: SimTTLock, caplog: pytest.LogCaptureFixture
) -> None:
    """The library hex-dumps decrypted replies at debug level; they never show."""
    caplog.set_level(logging.DEBUG)
    provider.async_listen_usage(lambda ref: None)
    await provider.async_set_credential(P(1), CODE)
    assert sim_lock.press_keypad(CODE)
    assert by_slot(await provider.async_read_credentials()) == {1: CODE}
    assert "ttlock_ble" in caplog.text  # the library did log
    assert CODE not in caplog.text
    assert CODE.encode().hex() not in caplog.text


async def test_lock_clock_is_set_when_it_drifted(
    provider: TTLockLock, sim_lock: SimTTLock
) -> None:
    sim_lock.clock_offset = -600
    start = dt_util.utcnow()
    await provider.async_set_credential(
        P(1), CODE, valid=(start, start + timedelta(hours=1))
    )
    assert sim_lock.calibrations == 1
    assert abs(sim_lock.clock_offset) < 2
    assert sim_lock.accepts(CODE)
    # Checked again only hours later.
    sim_lock.clock_offset = -600
    await provider.async_set_credential(
        P(2), "593702", valid=(start, start + timedelta(hours=1))
    )
    assert sim_lock.calibrations == 1


async def test_lock_clock_is_set_again_when_the_offset_changes(
    hass: HomeAssistant, provider: TTLockLock, sim_lock: SimTTLock
) -> None:
    """A daylight saving change moves local time: the lock's clock follows at once."""
    await hass.config.async_set_time_zone("Europe/Berlin")
    sim_lock.clock_offset = -600
    start = dt_util.utcnow()
    await provider.async_set_credential(
        P(1), CODE, valid=(start, start + timedelta(hours=1))
    )
    assert sim_lock.calibrations == 1
    # Another UTC offset (as after a daylight saving change), minutes later.
    await hass.config.async_set_time_zone("Europe/London")
    sim_lock.clock_offset = -600
    await provider.async_set_credential(
        P(2), "593702", valid=(start, start + timedelta(hours=1))
    )
    assert sim_lock.calibrations == 2


async def test_failed_log_fetch_pauses_fetching(
    hass: HomeAssistant, provider: TTLockLock, sim_lock: SimTTLock, air: FakeBluetooth
) -> None:
    await provider.async_set_credential(P(2), CODE)
    used: list[CredentialRef] = []
    provider.async_listen_usage(used.append)
    assert sim_lock.press_keypad(CODE)
    sim_lock.answers = False
    air.advertise()
    await hass.async_block_till_done(wait_background_tasks=True)
    assert used == []
    connections = sim_lock.connections
    sim_lock.answers = True
    # The lock advertises every second: no new attempt for a while...
    air.advertise()
    await hass.async_block_till_done(wait_background_tasks=True)
    assert sim_lock.connections == connections
    # ...and the next sync reads the use anyway.
    await provider.async_read_credentials()
    assert used == [P(2)]


async def test_through_bleak_and_bleak_retry_connector(
    hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real BleakClient stack (Home Assistant's pinned versions) carries it too."""
    lock = SimTTLock()
    install_backend(monkeypatch, lock)
    hass.config.components.add("bluetooth")
    provider = TTLockLock(
        hass, address=ADDRESS, key=parse_ekey(ekey_dict()), slots=10, slot_map={}
    )
    start = dt_util.utcnow()
    await provider.async_set_credential(
        P(1), CODE, valid=(start, start + timedelta(hours=1))
    )
    assert lock.accepts(CODE)
    assert by_slot(await provider.async_read_credentials()) == {1: CODE}
    await provider.async_unlock()
    assert not lock.locked
    await provider.async_clear_credential(P(1))
    assert lock.passcodes == {}
