"""Tests for the site config flow."""

from __future__ import annotations

from homeassistant import config_entries
from homeassistant.const import CONF_NAME
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.keyholder.const import (
    CONF_GRACE_MINUTES,
    CONF_PASSCODE_LENGTH,
    DOMAIN,
)

SITE = {CONF_NAME: "Home", CONF_PASSCODE_LENGTH: 6, CONF_GRACE_MINUTES: 30}


async def test_user_flow_creates_site(hass: HomeAssistant) -> None:
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": config_entries.SOURCE_USER}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "user"
    assert result["errors"] == {}

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {**SITE, CONF_NAME: "  Home  "}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Home"
    assert result["data"] == SITE
    entry = result["result"]
    assert entry.state is config_entries.ConfigEntryState.LOADED


async def test_user_flow_refuses_duplicate_name(hass: HomeAssistant) -> None:
    MockConfigEntry(domain=DOMAIN, title="Home", data=SITE).add_to_hass(hass)
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": config_entries.SOURCE_USER}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {**SITE, CONF_NAME: "home"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_NAME: "name_exists"}

    # What the user typed is kept, and a new name succeeds.
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {**SITE, CONF_NAME: "Cabin"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Cabin"


async def test_user_flow_requires_name(hass: HomeAssistant) -> None:
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": config_entries.SOURCE_USER}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {**SITE, CONF_NAME: "   "}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_NAME: "name_required"}


async def test_reconfigure_renames(hass: HomeAssistant) -> None:
    entry = MockConfigEntry(domain=DOMAIN, title="Home", data=SITE)
    entry.add_to_hass(hass)
    MockConfigEntry(domain=DOMAIN, title="Cabin", data=SITE).add_to_hass(hass)

    result = await entry.start_reconfigure_flow(hass)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reconfigure"

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_NAME: "cabin"}
    )
    assert result["errors"] == {CONF_NAME: "name_exists"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_NAME: ""}
    )
    assert result["errors"] == {CONF_NAME: "name_required"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_NAME: " Town house "}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert entry.title == "Town house"
    assert entry.data == {**SITE, CONF_NAME: "Town house"}


async def test_options_change_defaults(hass: HomeAssistant) -> None:
    entry = MockConfigEntry(domain=DOMAIN, title="Home", data=SITE)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()

    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "init"
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_PASSCODE_LENGTH: 8, CONF_GRACE_MINUTES: 15}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    # The wrong-code alert keeps its defaults: 5 codes within 10 minutes.
    assert entry.options == {
        CONF_PASSCODE_LENGTH: 8,
        CONF_GRACE_MINUTES: 15,
        "wrong_code_limit": 5,
        "wrong_code_minutes": 10,
    }
    assert entry.state is config_entries.ConfigEntryState.LOADED
