"""The development instance's configuration: what the UI saves loads again."""

from __future__ import annotations

from pathlib import Path
import shutil

from homeassistant import config as ha_config
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component

ROOT = Path(__file__).resolve().parent.parent

AUTOMATION = """- id: '1700000000000'
  alias: Door opened
  triggers:
    - trigger: event
      event_type: keyholder_access
  actions: []
"""
SCRIPT = """say_hello:
  alias: Say hello
  sequence: []
"""


async def test_ui_automations_and_scripts_load(
    hass: HomeAssistant, tmp_path: Path
) -> None:
    """Files as the UI writes them are included by configuration.yaml."""
    shutil.copy(ROOT / "config" / "configuration.yaml", tmp_path)
    (tmp_path / "automations.yaml").write_text(AUTOMATION)
    (tmp_path / "scripts.yaml").write_text(SCRIPT)
    (tmp_path / "scenes.yaml").write_text("[]\n")
    hass.config.config_dir = str(tmp_path)
    config = await ha_config.async_hass_config_yaml(hass)
    assert {"conversation", "assist_pipeline"} <= config.keys()

    assert await async_setup_component(hass, "automation", config)
    assert await async_setup_component(hass, "script", config)
    await hass.async_block_till_done()
    assert hass.states.get("automation.door_opened") is not None
    assert hass.states.get("script.say_hello") is not None
