"""Shared fixtures for Keyholder tests."""

from __future__ import annotations

from collections.abc import Iterator
import os
from pathlib import Path
from typing import Any
from unittest.mock import patch

from homeassistant.config_entries import ConfigSubentryData
from homeassistant.core import HomeAssistant
from homeassistant.helpers.storage import Store
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.keyholder.const import DOMAIN
from custom_components.keyholder.model.schedule import resolve

pytest_plugins = ["pytest_homeassistant_custom_component"]

if "FAKETIME" in os.environ:
    # scripts/test_shifted moves this process's clock with libfaketime; the
    # programs tests start (the MQTT broker...) keep the real clock and the
    # system's C library, which that build of libfaketime does not load into.
    os.environ.pop("LD_PRELOAD", None)

# Home Assistant's own code, taken before any test mocks storage.
_REAL_LOAD = Store._async_load
_REAL_WRITE = Store._async_write_data
_REAL_REMOVE = Store.async_remove


@pytest.fixture
def files(hass: HomeAssistant, tmp_path: Path) -> Iterator[Path]:
    """Keep Keyholder's stores in real files; return the .storage directory."""
    hass.config.config_dir = str(tmp_path)
    mocked_load = Store._async_load
    mocked_write = Store._async_write_data
    mocked_remove = Store.async_remove

    def real(store: Store[Any]) -> bool:
        return store.key.startswith(f"{DOMAIN}.")

    async def load(store: Store[Any]) -> Any:
        return await (_REAL_LOAD if real(store) else mocked_load)(store)

    async def write(store: Store[Any], data: dict[str, Any]) -> None:
        await (_REAL_WRITE if real(store) else mocked_write)(store, data)

    async def remove(store: Store[Any]) -> None:
        await (_REAL_REMOVE if real(store) else mocked_remove)(store)

    with (
        patch.object(Store, "_async_load", load),
        patch.object(Store, "_async_write_data", write),
        patch.object(Store, "async_remove", remove),
    ):
        yield tmp_path / ".storage"


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(
    enable_custom_integrations: None,
) -> None:
    """Let Home Assistant load custom_components/keyholder in every test."""


@pytest.fixture(autouse=True)
def fresh_schedule_cache() -> None:
    """
    Forget the instants the engine cached in earlier tests.

    Under freezegun they are built by its datetime class, outside it by the
    real one; mixed in one calendar event Home Assistant refuses them.
    """
    resolve.cache_clear()


LOCK_FRONT = "lock_front"
LOCK_GARAGE = "lock_garage"
PLUMBER = "kh_plumber"
OWNER = "kh_owner"


def _lock(subentry_id: str, name: str) -> Any:
    return ConfigSubentryData(
        data={
            "name": name,
            "provider": "virtual",
            "slots": 10,
            "pin_min": 4,
            "pin_max": 8,
        },
        subentry_id=subentry_id,
        subentry_type="lock",
        title=name,
        unique_id=None,
    )


def _keyholder(subentry_id: str, given: str, family: str = "", **extra: Any) -> Any:
    return ConfigSubentryData(
        data={"given_name": given, "family_name": family, "role": "keyholder", **extra},
        subentry_id=subentry_id,
        subentry_type="keyholder",
        title=f"{given} {family}".strip(),
        unique_id=None,
    )


@pytest.fixture
def site_entry() -> MockConfigEntry:
    """A site with two virtual locks, a manager and a plumber."""
    return MockConfigEntry(
        domain=DOMAIN,
        entry_id="site_home",
        title="Home",
        data={"name": "Home", "passcode_length": 6, "booking_grace_minutes": 30},
        subentries_data=[
            _lock(LOCK_FRONT, "Front door"),
            _lock(LOCK_GARAGE, "Garage"),
            _keyholder(OWNER, "Alice", "Owner", role="manager"),
            _keyholder(PLUMBER, "Plumber"),
        ],
    )


@pytest.fixture
async def berlin(hass: HomeAssistant) -> None:
    """Evaluate schedules in Europe/Berlin."""
    await hass.config.async_set_time_zone("Europe/Berlin")


@pytest.fixture
async def loaded_site(
    hass: HomeAssistant,
    enable_custom_integrations: None,
    berlin: None,
    site_entry: MockConfigEntry,
) -> MockConfigEntry:
    """The site, set up."""
    site_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(site_entry.entry_id)
    await hass.async_block_till_done()
    return site_entry
