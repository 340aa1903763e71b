"""Keyholder: who may open which door, when, and with what key."""

from __future__ import annotations

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant

type KeyholderConfigEntry = ConfigEntry[None]


async def async_setup_entry(hass: HomeAssistant, entry: KeyholderConfigEntry) -> bool:
    """Set up a Keyholder site from a config entry."""
    return True


async def async_unload_entry(hass: HomeAssistant, entry: KeyholderConfigEntry) -> bool:
    """Unload a Keyholder site."""
    return True
