"""A lock call that is interrupted or cancelled is a failure with a retry."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
import importlib
from zoneinfo import ZoneInfo

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.keyholder.families import Validity, virtual
from custom_components.keyholder.families.virtual import VirtualLock
from custom_components.keyholder.model.values import CredentialRef

from .conftest import LOCK_FRONT
from .helpers import issue, move_to

BERLIN = ZoneInfo("Europe/Berlin")
START = datetime(2026, 12, 3, 9, 0, tzinfo=BERLIN)
EDGE = START + timedelta(hours=1)
KEYS = 5


class DroppingLock(VirtualLock):
    """
    A virtual lock whose connection can drop in the middle of a write.

    Like the zwave_js client, it then ends the call in flight with
    ``CancelledError``; like a lock entity, it reports coming back.
    """

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.drop_at_write: int | None = None
        self.writes = 0
        self.on_back: list[Callable[[], None]] = []
        self.block: asyncio.Event | None = None
        self.writing = asyncio.Event()
        self.forget_on_drop = False
        self.drop_with: type[BaseException] = asyncio.CancelledError
        self.hidden: set[CredentialRef] = set()

    async def async_set_credential(
        self, ref: CredentialRef, secret: str, *, valid: Validity | None = None
    ) -> None:
        self.writes += 1
        if self.writes == self.drop_at_write:
            self.online = False
            if self.forget_on_drop:
                # A driver killed before it saved its values: it restarts not
                # knowing what it wrote last, though the lock holds it.
                self.hidden = set(self.codes)
            raise self.drop_with
        self.hidden.discard(ref)
        if self.block is not None:
            self.writing.set()
            await self.block.wait()
        await super().async_set_credential(ref, secret, valid=valid)

    async def async_read_credentials(self) -> Mapping[CredentialRef, str | None]:
        held = await super().async_read_credentials()
        return {ref: code for ref, code in held.items() if ref not in self.hidden}

    def async_listen_available(self, on_back: Callable[[], None]) -> Callable[[], None]:
        self.on_back.append(on_back)
        return lambda: self.on_back.remove(on_back)

    def come_back(self) -> None:
        self.online = True
        for on_back in list(self.on_back):
            on_back()


@pytest.fixture
def dropping(monkeypatch: pytest.MonkeyPatch) -> None:
    """Build every virtual lock of the site as a :class:`DroppingLock`."""
    # The lock platform binds VirtualLock when first imported: import it before
    # the patch, or later tests would find no virtual lock entity.
    importlib.import_module("custom_components.keyholder.lock")
    monkeypatch.setattr(virtual, "VirtualLock", DroppingLock)


async def _five_keys_at_one_edge(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    entry: MockConfigEntry,
    *,
    forget: bool = False,
    drop_with: type[BaseException] = asyncio.CancelledError,
) -> tuple[DroppingLock, list[str]]:
    freezer.move_to(START)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    provider = entry.runtime_data.locks[LOCK_FRONT].provider
    assert isinstance(provider, DroppingLock)
    codes = [
        (
            await issue(
                hass,
                valid_from=EDGE.isoformat(),
                valid_until=(EDGE + timedelta(hours=2)).isoformat(),
            )
        )["passcode"]
        for _ in range(KEYS)
    ]
    assert provider.codes == {}
    # The connection drops during the second of the five writes at the edge.
    provider.drop_at_write = 2
    provider.forget_on_drop = forget
    provider.drop_with = drop_with
    await move_to(hass, freezer, EDGE)
    return provider, codes


@pytest.mark.usefixtures("berlin", "dropping")
@pytest.mark.parametrize("drop_with", [asyncio.CancelledError, ConnectionResetError])
async def test_cancelled_write_fails_and_is_retried(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    site_entry: MockConfigEntry,
    drop_with: type[BaseException],
) -> None:
    """The pass ends as a failure of the lock, its retry armed; the retry converges."""
    provider, codes = await _five_keys_at_one_edge(
        hass, freezer, site_entry, drop_with=drop_with
    )
    runtime = site_entry.runtime_data
    status = runtime.lock_status[LOCK_FRONT]
    assert len(provider.codes) == 1
    sync = hass.states.get("sensor.front_door_sync")
    assert sync.state == "failed"
    assert sync.attributes["last_error"] == "interrupted"
    assert sync.attributes["failures"] == 1
    assert sync.attributes["codes_wanted"] == KEYS
    assert status.next_retry == EDGE + timedelta(seconds=30)

    # Still unreachable at the first retry: the backoff goes on.
    await move_to(hass, freezer, status.next_retry)
    assert status.failures == 2
    assert status.last_error == "lock_offline"

    provider.online = True
    await move_to(hass, freezer, status.next_retry)
    assert sorted(provider.codes.values()) == sorted(codes)
    sync = hass.states.get("sensor.front_door_sync")
    assert sync.state == "in_sync"
    assert sync.attributes["failures"] == 0
    assert status.next_retry is None


@pytest.mark.usefixtures("berlin", "dropping")
async def test_lock_back_after_a_cancelled_write_converges_at_once(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, site_entry: MockConfigEntry
) -> None:
    """The lock reporting it is reachable again is retried without waiting."""
    provider, codes = await _five_keys_at_one_edge(hass, freezer, site_entry)
    status = site_entry.runtime_data.lock_status[LOCK_FRONT]
    assert status.last_error == "interrupted"

    provider.come_back()
    await hass.async_block_till_done()
    assert sorted(provider.codes.values()) == sorted(codes)
    assert hass.states.get("sensor.front_door_sync").state == "in_sync"
    assert status.next_retry is None


@pytest.mark.usefixtures("berlin", "dropping")
async def test_write_a_restarted_driver_forgot_is_written_again(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    site_entry: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """
    The write acknowledged before the drop is missing from the next read.

    Z-Wave JS killed mid-pass comes back without its last values; the
    interrupted pass's slots are settled by what the lock reports then, so the
    retry writes the code again instead of failing its read-back.
    """
    monkeypatch.setattr(DroppingLock, "settle_seconds", 3.0)
    provider, codes = await _five_keys_at_one_edge(
        hass, freezer, site_entry, forget=True
    )
    assert provider.hidden == set(provider.codes)
    status = site_entry.runtime_data.lock_status[LOCK_FRONT]
    assert status.last_error == "interrupted"
    assert len(provider.codes) == 1

    # Back after the write's settle time: its read-back would be due.
    await move_to(hass, freezer, EDGE + timedelta(seconds=5))
    provider.come_back()
    await hass.async_block_till_done()
    assert sorted(provider.codes.values()) == sorted(codes)
    assert provider.hidden == set()
    assert status.last_error == "interrupted"  # until the lock reports the writes
    await move_to(hass, freezer, EDGE + timedelta(seconds=10))
    assert status.failures == 0
    assert status.last_error is None
    assert hass.states.get("sensor.front_door_sync").state == "in_sync"


@pytest.mark.usefixtures("berlin", "dropping")
async def test_cancelling_the_pass_itself_propagates_and_retries(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, site_entry: MockConfigEntry
) -> None:
    """
    A pass cancelled from above (a caller giving up) still ends cancelled.

    What the lock did not get yet is retried on the normal backoff.
    """
    freezer.move_to(START)
    site_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(site_entry.entry_id)
    await hass.async_block_till_done()
    runtime = site_entry.runtime_data
    provider = runtime.locks[LOCK_FRONT].provider
    assert isinstance(provider, DroppingLock)
    provider.block = asyncio.Event()

    call = hass.async_create_task(issue(hass))
    await asyncio.wait_for(provider.writing.wait(), 5)
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    status = runtime.lock_status[LOCK_FRONT]
    assert status.last_error == "interrupted"
    assert status.next_retry == START + timedelta(seconds=30)
    assert provider.codes == {}

    provider.block = None
    await move_to(hass, freezer, START + timedelta(seconds=30))
    assert len(provider.codes) == 1
    assert hass.states.get("sensor.front_door_sync").state == "in_sync"


@pytest.mark.usefixtures("berlin", "dropping")
async def test_unload_during_a_pass_arms_no_retry(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, site_entry: MockConfigEntry
) -> None:
    """Once the site is closing, a cancelled pass leaves no timer behind."""
    freezer.move_to(START)
    site_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(site_entry.entry_id)
    await hass.async_block_till_done()
    runtime = site_entry.runtime_data
    provider = runtime.locks[LOCK_FRONT].provider
    assert isinstance(provider, DroppingLock)
    provider.block = asyncio.Event()

    call = hass.async_create_task(issue(hass))
    await asyncio.wait_for(provider.writing.wait(), 5)
    # The site unloads (it waits for the pass), and the pass is cancelled.
    unload = hass.async_create_task(
        hass.config_entries.async_unload(site_entry.entry_id)
    )
    await asyncio.sleep(0)
    assert not unload.done()
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    assert await unload
    assert runtime.lock_status[LOCK_FRONT].next_retry is None
    assert not any(sync.retry_armed for sync in runtime.syncs.values())
