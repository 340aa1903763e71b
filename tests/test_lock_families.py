"""The lock family registry: a family is added everywhere, or a test fails here."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from homeassistant import config_entries
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.keyholder.families.virtual import VirtualLock
from custom_components.keyholder.flows.locks import LockSubentryFlow
from custom_components.keyholder.lock_families import (
    DEFAULT_FAMILY,
    FAMILIES,
    create_provider,
    family_of,
)

from .contract.families import FAMILIES as CONTRACT_FAMILIES

PACKAGE = Path(__file__).parents[1] / "custom_components" / "keyholder"


def _menu(result: dict[str, Any]) -> list[str]:
    """Return the lock family options of the lock flow's first form."""
    for key, selector in result["data_schema"].schema.items():
        if key == "provider":
            return list(selector.config["options"])
    raise AssertionError("the lock flow shows no family menu")


async def test_the_lock_menu_lists_every_family(
    hass: HomeAssistant, loaded_site: MockConfigEntry
) -> None:
    result = await hass.config_entries.subentries.async_init(
        (loaded_site.entry_id, "lock"), context={"source": config_entries.SOURCE_USER}
    )
    assert result["step_id"] == "user"
    assert _menu(result) == list(FAMILIES)
    assert DEFAULT_FAMILY in FAMILIES


@pytest.mark.parametrize("family_id", list(FAMILIES))
async def test_each_menu_entry_opens_its_family_step(
    hass: HomeAssistant, loaded_site: MockConfigEntry, family_id: str
) -> None:
    assert callable(getattr(LockSubentryFlow, f"async_step_{family_id}", None))
    result = await hass.config_entries.subentries.async_init(
        (loaded_site.entry_id, "lock"), context={"source": config_entries.SOURCE_USER}
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"provider": family_id}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == family_id


def test_every_family_has_a_contract_suite_entry() -> None:
    assert {cls.id for cls, _ in CONTRACT_FAMILIES.values()} == set(FAMILIES)


@pytest.mark.parametrize(
    "language", sorted(p.name for p in (PACKAGE / "translations").iterdir())
)
def test_every_family_is_translated(language: str) -> None:
    strings = json.loads((PACKAGE / "translations" / language).read_text())
    options = strings["selector"]["provider"]["options"]
    steps = strings["config_subentries"]["lock"]["step"]
    for family_id in FAMILIES:
        assert options.get(family_id), f"{language}: no menu label for {family_id}"
        assert family_id in steps, f"{language}: no step for {family_id}"


def test_the_manifest_discovers_what_the_families_declare() -> None:
    manifest = json.loads((PACKAGE / "manifest.json").read_text())
    declared = [dict(m) for family in FAMILIES.values() for m in family.bluetooth]
    assert manifest.get("bluetooth", []) == declared


def test_a_subentry_without_a_family_is_a_virtual_lock(hass: HomeAssistant) -> None:
    memories: dict[str, dict[int, str]] = {}
    data = {"slots": 5, "pin_min": 4, "pin_max": 6}
    assert family_of(data).id == DEFAULT_FAMILY == "virtual"
    assert isinstance(create_provider(hass, "front", data, memories), VirtualLock)
    # Only locks that keep something with the site get a memory.
    assert memories == {"front": {}}


def test_an_unknown_family_is_refused() -> None:
    with pytest.raises(KeyError):
        family_of({"provider": "carrier_pigeon"})


def test_only_a_family_with_an_entity_gets_one_and_only_for_its_provider() -> None:
    with_entity = [f.id for f in FAMILIES.values() if f.entity is not None]
    assert with_entity == ["virtual", "ttlock"]
    # Not the family's provider (e.g. wrapped by a test): no entity, as before.
    assert FAMILIES["virtual"].lock_entity(None, "front", object()) is None  # type: ignore[arg-type]
    assert FAMILIES["zha"].lock_entity(None, "front", object()) is None  # type: ignore[arg-type]
