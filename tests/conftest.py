"""Shared fixtures for Keyholder tests."""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import ConfigSubentryData
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.keyholder.const import DOMAIN
from custom_components.keyholder.engine.schedule import resolve

pytest_plugins = ["pytest_homeassistant_custom_component"]


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
