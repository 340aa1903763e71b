"""
A change writes the states of what it changes: its keyholder, its locks, the site.

Every Keyholder entity belongs to a lock, a keyholder or the site (the calendar).
An action, a schedule edge or a pass over a lock writes again only the entities
of the locks and keyholders concerned, however large the site, while each of
those shows the change at once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.entity import Entity
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.keyholder.access.keys import async_remove_key
from custom_components.keyholder.const import DOMAIN

from .conftest import LOCK_FRONT, LOCK_GARAGE, OWNER, PLUMBER
from .helpers import async_setup_plumber_site, issue, move_to

BERLIN = ZoneInfo("Europe/Berlin")
WEDNESDAY = datetime(2026, 12, 2, 9, 0, tzinfo=BERLIN)


@pytest.fixture
def written(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The entity ids whose state is written, in order."""
    entity_ids: list[str] = []
    real_write = Entity.async_write_ha_state

    def _write(entity: Entity) -> None:
        entity_ids.append(entity.entity_id)
        real_write(entity)

    monkeypatch.setattr(Entity, "async_write_ha_state", _write)
    return entity_ids  # type: ignore[return-value]


def _scopes(hass: HomeAssistant, entity_ids: list[str]) -> Counter[str | None]:
    """Count writes by the lock or keyholder the entity belongs to (None: site)."""
    registry = er.async_get(hass)
    scopes: Counter[str | None] = Counter()
    for entity_id in entity_ids:
        entry = registry.async_get(entity_id)
        assert entry is not None
        scopes[entry.config_subentry_id] += 1
    return scopes


async def test_an_action_writes_its_keyholder_and_its_locks_only(
    hass: HomeAssistant, loaded_site: MockConfigEntry, written: list[str]
) -> None:
    written.clear()
    await issue(hass)
    assert set(_scopes(hass, written)) == {PLUMBER, LOCK_FRONT, None}
    plumber = hass.states.get("sensor.plumber_status")
    assert plumber is not None
    assert plumber.state == "active"

    written.clear()
    await issue(hass, keyholder="Alice Owner", locks=["Garage"])
    # The site's calendar shows the same event: it is not written again.
    assert set(_scopes(hass, written)) == {OWNER, LOCK_GARAGE}

    written.clear()
    await hass.services.async_call(
        DOMAIN, "block_user", {"keyholder": "Plumber"}, blocking=True
    )
    assert set(_scopes(hass, written)) == {PLUMBER, LOCK_FRONT, None}
    plumber = hass.states.get("sensor.plumber_status")
    assert plumber is not None
    assert plumber.state == "blocked"
    access = hass.states.get("switch.plumber_access")
    assert access is not None
    assert access.state == "off"


async def test_a_schedule_edge_writes_the_keyholder_whose_key_it_is(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    loaded_site: MockConfigEntry,
    written: list[str],
) -> None:
    freezer.move_to(WEDNESDAY)
    await loaded_site.runtime_data.async_apply_changes()
    start = WEDNESDAY + timedelta(hours=4)
    await issue(
        hass,
        valid_from=start.isoformat(),
        valid_until=(start + timedelta(hours=2)).isoformat(),
    )
    await issue(hass, keyholder="Alice Owner", locks=["Garage"])
    plumber = hass.states.get("sensor.plumber_status")
    assert plumber is not None
    assert plumber.state == "upcoming"

    written.clear()
    await move_to(hass, freezer, start)
    scopes = _scopes(hass, written)
    assert PLUMBER in scopes
    assert OWNER not in scopes  # nothing of hers changed
    plumber = hass.states.get("sensor.plumber_status")
    assert plumber is not None
    assert plumber.state == "active"

    written.clear()
    await move_to(hass, freezer, start + timedelta(hours=2))
    assert OWNER not in _scopes(hass, written)
    plumber = hass.states.get("sensor.plumber_status")
    assert plumber is not None
    assert plumber.state == "expired"


async def test_a_freed_slot_writes_the_keyholder_whose_key_moves_in(
    hass: HomeAssistant, berlin: None, written: list[str]
) -> None:
    """Cancelling one person's key places another's waiting key: both are told."""
    await async_setup_plumber_site(
        hass,
        "site_tiny",
        LOCK_FRONT,
        {"provider": "virtual", "slots": 1, "pin_min": 4, "pin_max": 8},
    )
    added = await hass.services.async_call(
        DOMAIN,
        "add_keyholder",
        {"given_name": "Gardener"},
        blocking=True,
        return_response=True,
    )
    assert added is not None
    gardener_id = added["keyholder_id"]
    plumbers = await issue(hass)
    await issue(hass, keyholder="Gardener")
    gardener = hass.states.get("sensor.gardener_status")
    assert gardener is not None
    assert gardener.attributes["not_on_locks"] == [
        {"lock": "Front door", "reason": "no_free_slot"}
    ]

    written.clear()
    await hass.services.async_call(
        DOMAIN, "cancel_key", {"key_id": plumbers["key_id"]}, blocking=True
    )
    assert gardener_id in _scopes(hass, written)
    gardener = hass.states.get("sensor.gardener_status")
    assert gardener is not None
    assert gardener.attributes["not_on_locks"] == []


async def test_removing_a_key_writes_its_keyholder_and_its_locks_only(
    hass: HomeAssistant, loaded_site: MockConfigEntry, written: list[str]
) -> None:
    """A key a booking calendar removes is gone: its keyholder is named instead."""
    plumbers = await issue(hass)
    await issue(hass, keyholder="Alice Owner", locks=["Garage"])

    written.clear()
    await async_remove_key(loaded_site.runtime_data, plumbers["key_id"])
    assert set(_scopes(hass, written)) == {PLUMBER, LOCK_FRONT, None}
    plumber = hass.states.get("sensor.plumber_status")
    assert plumber is not None
    assert plumber.state == "no_key"
    assert loaded_site.runtime_data.data.virtual[LOCK_FRONT] == {}
