"""
Editing an access group of 500 members on 20 locks (skipped unless KEYHOLDER_BENCH=1).

``scripts/bench`` runs this in its own process and prints the numbers, written
as JSON to ``KEYHOLDER_BENCH_OUT``. Measured in a real ``hass``: a site of 20
virtual locks, 500 keyholders in one group on all of them (one passcode each,
following the group) and 100 keyholders outside it. The group's subentry is
edited as the flow or an action edits it: from "always" to a date range that
is over (every code cleared: 10,000 clears), and back (every code written).
Each edit is timed until every lock holds what it should, and the state writes
of Keyholder's entities are counted: only the members' and the locks' may be
written.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
import os
import time
from types import MappingProxyType
from typing import Any

from homeassistant.config_entries import ConfigSubentry
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity import Entity
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.keyholder.model.serialize import schedule_to_dict
from custom_components.keyholder.model.values import (
    ALWAYS,
    Key,
    KeyKind,
    Membership,
    Schedule,
)

from .test_bench_costs import _entry, _write_out

pytestmark = pytest.mark.skipif(
    os.environ.get("KEYHOLDER_BENCH") != "1",
    reason="benchmark: run scripts/bench (KEYHOLDER_BENCH=1)",
)

DOMAIN = "keyholder"
LOCKS = 20
MEMBERS = 500
OTHERS = 100
GROUP = "group_cleaners"
# A date range that is over: the group opens nothing any more.
OVER = Schedule(
    valid_from=datetime(2000, 1, 1, tzinfo=UTC),
    valid_until=datetime(2000, 1, 2, tzinfo=UTC),
)


@pytest.fixture(autouse=True)
async def enable_event_loop_debug() -> None:
    """Measure without asyncio debug mode (the test harness turns it on)."""
    asyncio.get_running_loop().set_debug(False)


def _group_data(schedule: Schedule) -> dict[str, Any]:
    return {
        "locks": [f"lock_{index:02d}" for index in range(LOCKS)],
        "schedule": schedule_to_dict(schedule),
    }


def _held(entry: MockConfigEntry) -> int:
    """Return how many codes the virtual locks hold."""
    return sum(len(info.provider.codes) for info in entry.runtime_data.locks.values())


async def _edit(
    hass: HomeAssistant, entry: MockConfigEntry, schedule: Schedule, expected: int
) -> dict[str, Any]:
    """Edit the group's schedule; time it until the locks hold ``expected`` codes."""
    writes: list[str] = []
    write_state = Entity.async_write_ha_state

    def _state(entity: Entity) -> None:
        if entity.platform is not None and entity.platform.platform_name == DOMAIN:
            writes.append(getattr(entity, "_keyholder_id", None) or "lock")
        write_state(entity)

    started = time.perf_counter()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Entity, "async_write_ha_state", _state)
        hass.config_entries.async_update_subentry(
            entry, entry.subentries[GROUP], data=_group_data(schedule)
        )
        while _held(entry) != expected or not all(
            status.state.value == "in_sync"
            for status in entry.runtime_data.lock_status.values()
        ):
            await asyncio.sleep(0.001)
            if time.perf_counter() - started > 30:
                break
        elapsed = time.perf_counter() - started
        await hass.async_block_till_done()
    members = {f"kh_{index:04d}" for index in range(MEMBERS)}
    return {
        "seconds": elapsed,
        "held": _held(entry),
        "expected": expected,
        "writes": len(writes),
        "member_writes": sum(1 for who in writes if who in members),
        "lock_writes": writes.count("lock"),
        "other_writes": sum(1 for who in writes if who not in members | {"lock"}),
    }


async def test_group_edit_cost(
    hass: HomeAssistant, files: object, berlin: None
) -> None:
    """Edit a 500-member group on 20 locks: time to the locks, state writes."""
    entry = _entry(locks=LOCKS, slots=MEMBERS + 10, keyholders=MEMBERS + OTHERS)
    entry.add_to_hass(hass)
    hass.config_entries.async_add_subentry(
        entry,
        ConfigSubentry(
            data=MappingProxyType(_group_data(ALWAYS)),
            subentry_id=GROUP,
            subentry_type="access_group",
            title="Cleaners",
            unique_id=None,
        ),
    )
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    runtime = entry.runtime_data
    site = runtime.site
    holders = []
    for index in range(MEMBERS + OTHERS):
        holder = f"kh_{index:04d}"
        if index < MEMBERS:
            site.put_membership(Membership(GROUP, holder))
        site.put_key(
            Key(
                f"key_{index:04d}",
                holder,
                KeyKind.PASSCODE,
                None,
                secret=f"{index:06d}",
            )
        )
        holders.append(holder)
    await runtime.async_apply_changes(keyholders=holders)
    await hass.async_block_till_done()
    full = MEMBERS * LOCKS
    assert _held(entry) == full
    cleared = await _edit(hass, entry, OVER, 0)
    written = await _edit(hass, entry, ALWAYS, full)
    _write_out(
        "group_edit",
        {
            "members": MEMBERS,
            "others": OTHERS,
            "locks": LOCKS,
            "edits": [cleared, written],
        },
    )
    assert await hass.config_entries.async_unload(entry.entry_id)
