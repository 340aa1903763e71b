"""The ``family`` fixture: one lock family per parameter (see families.py)."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
import pytest

from ..matter.sim import matter_lock, matter_server  # noqa: F401 (fixtures)
from ..zha_sim import zha_lock  # noqa: F401 (fixture)
from ..zigbee2mqtt_sim import (  # noqa: F401 (fixtures)
    mosquitto,
    mosquitto_binary,
    mqtt_entry,
    z2m_lock,
)
from .families import FAMILIES, Family


@pytest.fixture
def family(hass: HomeAssistant, request: pytest.FixtureRequest) -> Family:
    """Return the lock family named by the test's parameter."""
    _, build = FAMILIES[request.param]
    return build(hass, request)
