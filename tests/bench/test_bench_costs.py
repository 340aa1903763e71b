"""
What one action costs as a site grows (skipped unless KEYHOLDER_BENCH=1).

``scripts/bench`` runs these in their own process and prints the numbers; they
are written as JSON to ``KEYHOLDER_BENCH_OUT`` (one object, a member per test). Measured in a real ``hass`` whose Keyholder files are real
files:

* ``block_user`` on a site of N keyholders (one key each) and 2 virtual locks:
  how many states of Keyholder's entities are written (``async_write_ha_state``
  calls, changed or not), and how many times the site's store is written (its
  main file, or the changes file a large site writes instead);
* creating keyholders one by one through the actions (``add_keyholder``, then
  ``issue_key`` on one of 20 virtual locks) until there are 1,000, each call
  blocking until the lock holds the code: the total time, and the time per
  keyholder of the last tenth against the first tenth. The keyholders are timed
  in batches of ``BATCH``; each tenth's cost is the median of its batches (wall
  clock, and this process's CPU time), and the whole is run ``CREATE_RUNS``
  times on new sites, of which the median total and the median ratio count:
  another program busy on the machine for a moment or for a whole run then
  does not decide the figures.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
import statistics
import time
from typing import Any

from homeassistant.config_entries import ConfigSubentryData
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity import Entity
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.keyholder.storage.files import KeyholderFile

pytestmark = pytest.mark.skipif(
    os.environ.get("KEYHOLDER_BENCH") != "1",
    reason="benchmark: run scripts/bench (KEYHOLDER_BENCH=1)",
)

DOMAIN = "keyholder"
ENTRY_ID = "site_costs"
MAIN_FILE = f"{DOMAIN}.{ENTRY_ID}"
STORE_FILES = (MAIN_FILE, f"{MAIN_FILE}.changes")
CREATED = int(os.environ.get("KEYHOLDER_BENCH_CREATE", "1000"))
CREATE_LOCKS = 20
BATCH = 10
CREATE_RUNS = int(os.environ.get("KEYHOLDER_BENCH_CREATE_RUNS", "3"))


@pytest.fixture(autouse=True)
async def enable_event_loop_debug() -> None:
    """Measure without asyncio debug mode (the test harness turns it on)."""
    asyncio.get_running_loop().set_debug(False)


def _lock(index: int, slots: int) -> ConfigSubentryData:
    return ConfigSubentryData(
        data={
            "name": f"Door {index}",
            "provider": "virtual",
            "slots": slots,
            "pin_min": 4,
            "pin_max": 8,
        },
        subentry_id=f"lock_{index:02d}",
        subentry_type="lock",
        title=f"Door {index}",
        unique_id=None,
    )


def _keyholder(index: int) -> ConfigSubentryData:
    return ConfigSubentryData(
        data={"given_name": f"Person {index}", "family_name": "", "role": "keyholder"},
        subentry_id=f"kh_{index:04d}",
        subentry_type="keyholder",
        title=f"Person {index}",
        unique_id=None,
    )


def _entry(
    locks: int, slots: int, keyholders: int, entry_id: str = ENTRY_ID
) -> MockConfigEntry:
    return MockConfigEntry(
        domain=DOMAIN,
        entry_id=entry_id,
        title="Costs",
        data={"name": "Costs", "passcode_length": 6, "booking_grace_minutes": 30},
        subentries_data=[
            *(_lock(index, slots) for index in range(locks)),
            *(_keyholder(index) for index in range(keyholders)),
        ],
    )


class _Counts:
    """Keyholder entities' state writes, writes of the site's store and main file."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.states = 0
        self.store = 0
        self.main_file = 0
        write_state = Entity.async_write_ha_state
        write_file = KeyholderFile._write_prepared_data

        def _state(entity: Entity) -> None:
            if entity.platform is not None and entity.platform.platform_name == DOMAIN:
                self.states += 1
            write_state(entity)

        def _file(store: KeyholderFile, mode: str, data: str | bytes) -> None:
            self.store += store.key in STORE_FILES
            self.main_file += store.key == MAIN_FILE
            write_file(store, mode, data)

        monkeypatch.setattr(Entity, "async_write_ha_state", _state)
        monkeypatch.setattr(KeyholderFile, "_write_prepared_data", _file)

    def reset(self) -> None:
        self.states = 0
        self.store = 0
        self.main_file = 0


def _write_out(name: str, summary: dict[str, Any]) -> None:
    """Add one test's results to the JSON file all of them share."""
    if out := os.environ.get("KEYHOLDER_BENCH_OUT"):
        path = Path(out)
        results = json.loads(path.read_text()) if path.is_file() else {}
        results[name] = summary
        path.write_text(json.dumps(results, indent=2))


async def _call(hass: HomeAssistant, service: str, data: dict[str, Any]) -> Any:
    return await hass.services.async_call(
        DOMAIN, service, data, blocking=True, return_response=True
    )


@pytest.mark.parametrize("keyholders", [100, 1000])
async def test_block_user_cost(
    hass: HomeAssistant,
    files: Path,
    berlin: None,
    monkeypatch: pytest.MonkeyPatch,
    keyholders: int,
) -> None:
    """Block and unblock one keyholder of a large site: what is written."""
    entry = _entry(locks=2, slots=keyholders + 10, keyholders=keyholders)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    for index in range(keyholders):
        await _call(
            hass,
            "issue_key",
            {"keyholder": f"kh_{index:04d}", "locks": ["lock_00", "lock_01"]},
        )
    await hass.async_block_till_done()
    counts = _Counts(monkeypatch)
    results = []
    for service in ("block_user", "unblock_user", "block_user"):
        counts.reset()
        await hass.services.async_call(
            DOMAIN, service, {"keyholder": "kh_0007"}, blocking=True
        )
        await hass.async_block_till_done()
        results.append(
            {
                "service": service,
                "states": counts.states,
                "saves": counts.store,
                "main_file": counts.main_file,
            }
        )
    _write_out(
        f"block_{keyholders}",
        {
            "keyholders": keyholders,
            "locks": 2,
            "calls": results,
            "states_max": max(result["states"] for result in results),
            "saves_max": max(result["saves"] for result in results),
            "main_file_max": max(result["main_file"] for result in results),
        },
    )
    assert await hass.config_entries.async_unload(entry.entry_id)


async def _site(hass: HomeAssistant, entry_id: str) -> MockConfigEntry:
    """Set up a site of ``CREATE_LOCKS`` virtual locks and no keyholders."""
    entry = _entry(
        locks=CREATE_LOCKS,
        slots=CREATED // CREATE_LOCKS + 10,
        keyholders=0,
        entry_id=entry_id,
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


async def _batch(
    hass: HomeAssistant, entry: MockConfigEntry, first: int, name: str
) -> tuple[float, float]:
    """Create ``BATCH`` keyholders with a key each; return (wall, CPU) s each."""
    wall, cpu = time.perf_counter(), time.process_time()
    for index in range(first, first + BATCH):
        site = {"config_entry_id": entry.entry_id}
        added = await _call(
            hass, "add_keyholder", {**site, "given_name": f"{name} {index}"}
        )
        await _call(
            hass,
            "issue_key",
            {
                **site,
                "keyholder": added["keyholder_id"],
                "locks": [f"lock_{index % CREATE_LOCKS:02d}"],
            },
        )
    return (
        (time.perf_counter() - wall) / BATCH,
        (time.process_time() - cpu) / BATCH,
    )


def _in_sync(entry: MockConfigEntry) -> bool:
    return all(
        status.state.value == "in_sync"
        for status in entry.runtime_data.lock_status.values()
    )


async def _create(hass: HomeAssistant, run: int) -> dict[str, Any]:
    """
    Create the keyholders on a new site; return its figures (then remove it).

    Its last tenth is created in turns with the first tenth of a second new
    site, batch for batch: both meet the same load of the machine, so their
    ratio is the site's size speaking. The first tenth of the large site itself
    (created at the start) gives the ratio in the order of creation.
    """
    large = await _site(hass, f"{ENTRY_ID}_large_{run}")
    small = await _site(hass, f"{ENTRY_ID}_small_{run}")
    tenth = CREATED // 10
    large_batches = [
        await _batch(hass, large, first, f"Guest {run}")
        for first in range(0, CREATED - tenth, BATCH)
    ]
    small_batches: list[tuple[float, float]] = []
    for turn, first in enumerate(range(CREATED - tenth, CREATED, BATCH)):
        pair = [
            (large, first, f"Guest {run}"),
            (small, first - CREATED + tenth, f"First {run}"),
        ]
        for entry, start, name in pair if turn % 2 else reversed(pair):
            measured = await _batch(hass, entry, start, name)
            (large_batches if entry is large else small_batches).append(measured)
    settle = time.perf_counter()
    await hass.async_block_till_done()
    total = sum(wall for wall, _ in large_batches) * BATCH
    total += time.perf_counter() - settle
    batches = tenth // BATCH
    figures = {
        "total_s": total,
        "in_sync": _in_sync(large) and _in_sync(small),
        "codes_on_locks": sum(
            len(codes) for codes in large.runtime_data.data.virtual.values()
        ),
        **_ratio("", small_batches, large_batches[-batches:]),
        **_ratio("created_", large_batches[:batches], large_batches[-batches:]),
    }
    for entry in (large, small):
        assert await hass.config_entries.async_remove(entry.entry_id)
    await hass.async_block_till_done()
    return figures


def _ratio(
    prefix: str, first: list[tuple[float, float]], last: list[tuple[float, float]]
) -> dict[str, float]:
    """Return a tenth's cost per keyholder (median of its batches) against another's."""
    first_wall = statistics.median(wall for wall, _ in first)
    last_wall = statistics.median(wall for wall, _ in last)
    first_cpu = statistics.median(cpu for _, cpu in first)
    last_cpu = statistics.median(cpu for _, cpu in last)
    return {
        f"{prefix}first_tenth_ms": first_wall * 1000,
        f"{prefix}last_tenth_ms": last_wall * 1000,
        f"{prefix}ratio": last_wall / first_wall,
        f"{prefix}first_tenth_cpu_ms": first_cpu * 1000,
        f"{prefix}last_tenth_cpu_ms": last_cpu * 1000,
        f"{prefix}cpu_ratio": last_cpu / first_cpu,
    }


async def test_create_keyholders_cost(
    hass: HomeAssistant, files: Path, berlin: None
) -> None:
    """Create keyholders one by one, each with a key, through the actions."""
    runs = [await _create(hass, run) for run in range(CREATE_RUNS)]
    # The run of the median ratio (an odd number of runs: one of them).
    shown = sorted(runs, key=lambda run: run["ratio"])[len(runs) // 2]
    _write_out(
        "create",
        {
            **shown,
            "keyholders": CREATED,
            "locks": CREATE_LOCKS,
            "batch": BATCH,
            "total_s": statistics.median(run["total_s"] for run in runs),
            "cpu_ratio": statistics.median(run["cpu_ratio"] for run in runs),
            "created_ratio": statistics.median(run["created_ratio"] for run in runs),
            "in_sync": all(run["in_sync"] for run in runs),
            "runs": runs,
        },
    )
