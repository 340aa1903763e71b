"""Keyholder's sidebar panel: a static web component, for administrators only."""

from __future__ import annotations

import hashlib
from pathlib import Path

from homeassistant.components import panel_custom
from homeassistant.components.http.server import StaticPathConfig
from homeassistant.core import HomeAssistant

PANEL_URL_PATH = "keyholder"
PANEL_COMPONENT = "keyholder-panel"
PANEL_FILE = Path(__file__).parent / "frontend" / "keyholder-panel.js"
STATIC_URL = "/keyholder_static/keyholder-panel.js"


def _version() -> str:
    """Return a short hash of the panel's code (browsers fetch it again on change)."""
    return hashlib.sha256(PANEL_FILE.read_bytes()).hexdigest()[:12]


async def async_register_panel(hass: HomeAssistant) -> None:
    """Serve the panel's module and add "Keyholder" to administrators' sidebars."""
    version = await hass.async_add_executor_job(_version)
    await hass.http.async_register_static_paths(
        [StaticPathConfig(STATIC_URL, str(PANEL_FILE), cache_headers=True)]
    )
    await panel_custom.async_register_panel(
        hass,
        frontend_url_path=PANEL_URL_PATH,
        webcomponent_name=PANEL_COMPONENT,
        sidebar_title="Keyholder",
        sidebar_icon="mdi:key-chain",
        module_url=f"{STATIC_URL}?v={version}",
        require_admin=True,
    )
