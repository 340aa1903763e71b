"""Fixtures of the TTLock tests: a simulated lock and a provider driving it."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
import pytest

from custom_components.keyholder.families.ttlock import TTLockLock, parse_ekey
from custom_components.keyholder.model.values import CredentialRef

from ..ttlock_sim import ADDRESS, FakeBluetooth, SimTTLock, ekey_dict, install


@pytest.fixture
def sim_lock() -> SimTTLock:
    """A TTLock in range."""
    return SimTTLock()


@pytest.fixture
def air(monkeypatch: pytest.MonkeyPatch, sim_lock: SimTTLock) -> FakeBluetooth:
    """Bluetooth reaching the simulated lock."""
    return install(monkeypatch, sim_lock)


@pytest.fixture
def slot_map() -> dict[CredentialRef, str]:
    """The provider's slot numbering, as the store keeps it."""
    return {}


@pytest.fixture
def provider(
    hass: HomeAssistant, air: FakeBluetooth, slot_map: dict[CredentialRef, str]
) -> TTLockLock:
    """A provider for the simulated lock with 10 slots."""
    hass.config.components.add("bluetooth")
    return TTLockLock(
        hass, address=ADDRESS, key=parse_ekey(ekey_dict()), slots=10, slot_map=slot_map
    )
