"""Broker, Home Assistant's mqtt and the simulated lock (see zigbee2mqtt_sim)."""

from __future__ import annotations

from ..zigbee2mqtt_sim import (  # noqa: F401 (fixtures)
    mosquitto,
    mosquitto_binary,
    mqtt_entry,
    z2m_lock,
)
