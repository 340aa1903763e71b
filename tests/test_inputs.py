"""
Bounds of what people type, in every path: actions, websocket and flows.

Numbers are whole and bounded (a huge ``uses`` once made every later store
write fail); names hold no control or format characters (``Eve\u202egnp.exe``
shows as "Eveexe.png") and are at most 64 characters.
"""

from __future__ import annotations

import copy
from typing import Any

from homeassistant import config_entries
from homeassistant.const import CONF_NAME
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType, InvalidData
from homeassistant.exceptions import ServiceValidationError
import probatio as vol
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from custom_components.keyholder.const import DOMAIN
from custom_components.keyholder.families.virtual import VirtualLock
from custom_components.keyholder.model.serialize import site_to_dict
from custom_components.keyholder.model.values import (
    KeyKind,
    LockCapabilities,
    SlotRange,
)

from .conftest import LOCK_FRONT, PLUMBER
from .helpers import P, issue

SPOOFED = "Eve\u202egnp.exe"
LONG = "x" * 65


def model(entry: MockConfigEntry) -> dict[str, Any]:
    """Everything an action may change: the model, the subentries, the codes."""
    runtime = entry.runtime_data
    lock = runtime.locks[LOCK_FRONT].provider
    assert isinstance(lock, VirtualLock)
    return copy.deepcopy(
        {
            "site": site_to_dict(runtime.site),
            "subentries": {s: dict(sub.data) for s, sub in entry.subentries.items()},
            "codes": dict(lock.codes),
        }
    )


async def refused(
    hass: HomeAssistant, entry: MockConfigEntry, service: str, data: dict[str, Any]
) -> ServiceValidationError:
    """Call an action that must be refused; it changes nothing."""
    before = model(entry)
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN, service, data, blocking=True, return_response=True
        )
    await hass.async_block_till_done()
    assert model(entry) == before
    return err.value


# -- numbers ---------------------------------------------------------------------


@pytest.mark.parametrize("uses", [10**20, 10_001, 0, -1, 1.5, "1.5", "1e3", True])
async def test_uses_must_be_a_bounded_whole_number(
    hass: HomeAssistant, loaded_site: MockConfigEntry, uses: Any
) -> None:
    err = await refused(
        hass,
        loaded_site,
        "issue_key",
        {"keyholder": "Plumber", "locks": ["Front door"], "uses": uses},
    )
    assert err.translation_key == "number_out_of_range"
    assert err.translation_placeholders == {"field": "uses", "min": "1", "max": "10000"}
    assert "uses" in str(err)


@pytest.mark.parametrize(("uses", "stored"), [(10_000, 10_000), ("3", 3), (2.0, 2)])
async def test_whole_numbers_are_taken(
    hass: HomeAssistant,
    loaded_site: MockConfigEntry,
    hass_storage: dict[str, Any],
    uses: Any,
    stored: int,
) -> None:
    key = await issue(hass, uses=uses)
    assert loaded_site.runtime_data.site.keys[key["key_id"]].max_uses == stored
    # The site still saves (a number past 64 bits once stopped every write).
    await loaded_site.runtime_data.async_save()
    saved = hass_storage[f"{DOMAIN}.{loaded_site.entry_id}"]["data"]["site"]["keys"]
    assert [k["max_uses"] for k in saved] == [stored]


@pytest.mark.parametrize("slot", [11, 99999, 10**30])
async def test_adopt_code_names_the_locks_slot_range(
    hass: HomeAssistant, loaded_site: MockConfigEntry, slot: int
) -> None:
    err = await refused(
        hass,
        loaded_site,
        "adopt_code",
        {"keyholder": "Plumber", "lock": "Front door", "slot": slot},
    )
    assert err.translation_key == "slot_not_on_lock"
    assert err.translation_placeholders == {
        "lock": "Front door",
        "slot": str(slot),
        "slot_min": "1",
        "slot_max": "10",
    }


async def test_adopt_code_needs_a_lock_holding_passcodes(
    hass: HomeAssistant, loaded_site: MockConfigEntry
) -> None:
    """A lock of tags only has no passcode slot to adopt (none such exists yet)."""
    lock = loaded_site.runtime_data.locks[LOCK_FRONT].provider
    assert isinstance(lock, VirtualLock)
    lock._capabilities = LockCapabilities(slots={KeyKind.TAG: SlotRange(1, 10)})
    err = await refused(
        hass,
        loaded_site,
        "adopt_code",
        {"keyholder": "Plumber", "lock": "Front door", "slot": 1},
    )
    assert err.translation_key == "kind_not_supported"
    assert err.translation_placeholders == {"kind": "passcode", "lock": "Front door"}


@pytest.mark.parametrize("slot", [0, 1.5, "x"])
async def test_adopt_code_slot_must_be_whole(
    hass: HomeAssistant, loaded_site: MockConfigEntry, slot: Any
) -> None:
    err = await refused(
        hass,
        loaded_site,
        "adopt_code",
        {"keyholder": "Plumber", "lock": "Front door", "slot": slot},
    )
    assert err.translation_key == "number_too_small"
    assert err.translation_placeholders == {"field": "slot", "min": "1"}


async def test_tag_length_is_bounded(
    hass: HomeAssistant, loaded_site: MockConfigEntry
) -> None:
    before = model(loaded_site)
    with pytest.raises(vol.Invalid):
        await issue(hass, kind="tag", tag="04" * 33)
    assert model(loaded_site) == before


# -- names in actions ------------------------------------------------------------


@pytest.mark.parametrize(
    ("service", "data", "field"),
    [
        ("add_keyholder", {"given_name": SPOOFED}, "given_name"),
        ("add_keyholder", {"given_name": "Eve", "family_name": SPOOFED}, "family_name"),
        ("add_keyholder", {"given_name": "Eve\nSmith"}, "given_name"),
        ("add_keyholder", {"given_name": "Eve", "email": "e\x00@x.de"}, "email"),
        (
            "issue_key",
            {"keyholder": "Plumber", "locks": ["Front door"], "name": SPOOFED},
            "name",
        ),
        (
            "adopt_code",
            {"keyholder": "Plumber", "lock": "Front door", "slot": 9, "name": SPOOFED},
            "name",
        ),
    ],
)
async def test_actions_refuse_invisible_characters_in_names(
    hass: HomeAssistant,
    loaded_site: MockConfigEntry,
    service: str,
    data: dict[str, Any],
    field: str,
) -> None:
    loaded_site.runtime_data.locks[LOCK_FRONT].provider.codes[P(9)] = "246813"
    err = await refused(hass, loaded_site, service, data)
    assert err.translation_key == "name_invalid"
    assert err.translation_placeholders is not None
    assert err.translation_placeholders["field"] == field


@pytest.mark.parametrize(
    ("service", "data", "field", "longest"),
    [
        ("add_keyholder", {"given_name": "x" * 10_000}, "given_name", "64"),
        (
            "add_keyholder",
            {"given_name": "Eve", "family_name": LONG},
            "family_name",
            "64",
        ),
        (
            "add_keyholder",
            {"given_name": "Eve", "email": "e" * 250 + "@x.de"},
            "email",
            "254",
        ),
        (
            "issue_key",
            {"keyholder": "Plumber", "locks": ["Front door"], "name": LONG},
            "name",
            "64",
        ),
    ],
)
async def test_actions_refuse_long_names(
    hass: HomeAssistant,
    loaded_site: MockConfigEntry,
    service: str,
    data: dict[str, Any],
    field: str,
    longest: str,
) -> None:
    err = await refused(hass, loaded_site, service, data)
    assert err.translation_key == "name_too_long"
    assert err.translation_placeholders == {"field": field, "max": longest}


async def test_names_people_use_are_kept(
    hass: HomeAssistant, loaded_site: MockConfigEntry
) -> None:
    result = await hass.services.async_call(
        DOMAIN,
        "add_keyholder",
        {"given_name": " Émile ", "family_name": "x" * 64},
        blocking=True,
        return_response=True,
    )
    await hass.async_block_till_done()
    assert result is not None
    assert loaded_site.subentries[result["keyholder_id"]].title == "Émile " + "x" * 64
    key = await issue(hass, name="  Front and back  ")
    assert loaded_site.runtime_data.site.keys[key["key_id"]].name == "Front and back"


# -- the websocket API -------------------------------------------------------------


@pytest.mark.parametrize(
    ("type_", "data", "error"),
    [
        (
            "keyholder/add_keyholder",
            {"given_name": SPOOFED},
            "name_invalid",
        ),
        (
            "keyholder/add_keyholder",
            {"given_name": "x" * 10_000},
            "name_too_long",
        ),
        (
            "keyholder/issue_key",
            {"keyholder": PLUMBER, "locks": [LOCK_FRONT], "name": SPOOFED},
            "name_invalid",
        ),
        (
            "keyholder/issue_key",
            {"keyholder": PLUMBER, "locks": [LOCK_FRONT], "uses": 10_001},
            "number_out_of_range",
        ),
    ],
)
async def test_websocket_refuses_bad_names_and_numbers(
    hass: HomeAssistant,
    loaded_site: MockConfigEntry,
    hass_ws_client: WebSocketGenerator,
    type_: str,
    data: dict[str, Any],
    error: str,
) -> None:
    client = await hass_ws_client(hass)
    before = model(loaded_site)
    await client.send_json_auto_id({"type": type_, **data})
    msg = await client.receive_json()
    assert not msg["success"]
    assert msg["error"]["code"] == "service_validation_error"
    assert msg["error"]["translation_key"] == error
    assert model(loaded_site) == before


async def test_websocket_refuses_fractional_uses(
    hass: HomeAssistant,
    loaded_site: MockConfigEntry,
    hass_ws_client: WebSocketGenerator,
) -> None:
    client = await hass_ws_client(hass)
    await client.send_json_auto_id(
        {"type": "keyholder/issue_key", "keyholder": PLUMBER, "locks": [LOCK_FRONT]}
        | {"uses": 1.5}
    )
    msg = await client.receive_json()
    assert not msg["success"]
    assert loaded_site.runtime_data.site.keys == {}


# -- flows -----------------------------------------------------------------------


async def _site_flow(hass: HomeAssistant, name: str) -> Any:
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": config_entries.SOURCE_USER}
    )
    return await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {CONF_NAME: name, "passcode_length": 6, "booking_grace_minutes": 30},
    )


@pytest.mark.parametrize(
    ("name", "error"), [(SPOOFED, "name_invalid"), (LONG, "name_too_long")]
)
async def test_site_flow_refuses_bad_names(
    hass: HomeAssistant, name: str, error: str
) -> None:
    result = await _site_flow(hass, name)
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_NAME: error}
    assert hass.config_entries.async_entries(DOMAIN) == []


async def test_site_rename_refuses_bad_names(
    hass: HomeAssistant, loaded_site: MockConfigEntry
) -> None:
    result = await loaded_site.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_NAME: SPOOFED}
    )
    assert result["errors"] == {CONF_NAME: "name_invalid"}
    assert loaded_site.title == "Home"


@pytest.mark.parametrize("length", [6.5, 11, 3])
async def test_site_flow_refuses_bad_passcode_lengths(
    hass: HomeAssistant, length: float
) -> None:
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": config_entries.SOURCE_USER}
    )
    with pytest.raises(InvalidData):
        await hass.config_entries.flow.async_configure(
            result["flow_id"],
            {CONF_NAME: "Cabin", "passcode_length": length, "booking_grace_minutes": 0},
        )
    assert hass.config_entries.async_entries(DOMAIN) == []


async def _subentry(hass: HomeAssistant, entry: MockConfigEntry, kind: str) -> Any:
    return await hass.config_entries.subentries.async_init(
        (entry.entry_id, kind), context={"source": config_entries.SOURCE_USER}
    )


@pytest.mark.parametrize(
    ("name", "error"), [(SPOOFED, "name_invalid"), (LONG, "name_too_long")]
)
async def test_lock_flow_refuses_bad_names(
    hass: HomeAssistant, loaded_site: MockConfigEntry, name: str, error: str
) -> None:
    before = set(loaded_site.subentries)
    result = await _subentry(hass, loaded_site, "lock")
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"provider": "virtual"}
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"name": name, "slots": 10, "pin_min": 4, "pin_max": 6}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"name": error}
    assert set(loaded_site.subentries) == before


@pytest.mark.parametrize(
    "numbers",
    [{"slots": 1.5}, {"slots": 251}, {"pin_min": 4.5}, {"write_delay": float("nan")}],
)
async def test_lock_flow_refuses_bad_numbers(
    hass: HomeAssistant, loaded_site: MockConfigEntry, numbers: dict[str, Any]
) -> None:
    before = set(loaded_site.subentries)
    result = await _subentry(hass, loaded_site, "lock")
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"provider": "virtual"}
    )
    with pytest.raises(InvalidData):
        await hass.config_entries.subentries.async_configure(
            result["flow_id"],
            {"name": "Back door", "slots": 10, "pin_min": 4, "pin_max": 6} | numbers,
        )
    assert set(loaded_site.subentries) == before


@pytest.mark.parametrize(
    ("data", "errors"),
    [
        ({"given_name": SPOOFED}, {"given_name": "name_invalid"}),
        (
            {"given_name": "Eve", "family_name": SPOOFED},
            {"family_name": "name_invalid"},
        ),
        ({"given_name": "x" * 10_000}, {"given_name": "name_too_long"}),
        ({"given_name": "Eve", "family_name": LONG}, {"family_name": "name_too_long"}),
        ({"given_name": "Eve", "email": "e\u202e@x.de"}, {"email": "invalid_email"}),
    ],
)
async def test_keyholder_flow_refuses_bad_names(
    hass: HomeAssistant,
    loaded_site: MockConfigEntry,
    data: dict[str, Any],
    errors: dict[str, str],
) -> None:
    before = set(loaded_site.subentries)
    result = await _subentry(hass, loaded_site, "keyholder")
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"role": "keyholder", **data}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == errors
    assert set(loaded_site.subentries) == before


@pytest.mark.parametrize(
    ("name", "error"), [(SPOOFED, "name_invalid"), (LONG, "name_too_long")]
)
async def test_booking_flow_refuses_calendars_with_bad_names(
    hass: HomeAssistant, loaded_site: MockConfigEntry, name: str, error: str
) -> None:
    hass.states.async_set("calendar.spoof", "off", {"friendly_name": name})
    before = set(loaded_site.subentries)
    result = await _subentry(hass, loaded_site, "booking")
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {"calendar_entity": "calendar.spoof", "locks": [LOCK_FRONT]},
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"calendar_entity": error}
    assert set(loaded_site.subentries) == before


async def test_booking_flow_refuses_fractional_grace(
    hass: HomeAssistant, loaded_site: MockConfigEntry
) -> None:
    hass.states.async_set("calendar.stays", "off", {"friendly_name": "Stays"})
    result = await _subentry(hass, loaded_site, "booking")
    with pytest.raises(InvalidData):
        await hass.config_entries.subentries.async_configure(
            result["flow_id"],
            {
                "calendar_entity": "calendar.stays",
                "locks": [LOCK_FRONT],
                "grace_minutes": 29.5,
            },
        )
