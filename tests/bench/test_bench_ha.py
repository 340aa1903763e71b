"""Home Assistant-level benchmark of a large site (skipped unless KEYHOLDER_BENCH=1).

``scripts/bench`` runs this in its own process and prints the numbers; they are
written as JSON to ``KEYHOLDER_BENCH_OUT``. The site: 500 keyholders with 3 keys
each (1,500 keys, built by ``scripts/bench_engine.py``'s generator) on 20 virtual
locks, in a real ``hass`` with the site's file written beforehand (Keyholder's
files are real files, read and written as Home Assistant does). Measured, in
real time (no frozen clock) and without asyncio debug mode (Home Assistant runs
without it):

* setup time: ``async_setup(entry)`` + ``async_block_till_done()``, first with an
  empty entity registry and empty locks ("first"), then after unloading, with the
  registry and the locks' memories filled ("restart");
* entities per keyholder: entity registry entries of each keyholder subentry that
  have a state;
* timers armed while idle: the event loop's scheduled TimerHandles whose callback
  (through Home Assistant's job wrappers) is Keyholder code, and state writes of
  Keyholder's entities over an idle period;
* schedule-edge latency on the virtual locks: keys on all 20 locks with short
  windows; each provider's set/clear is wrapped to time when a code lands in (or
  leaves) the lock's memory; latency = until the last lock has it;
* memory: tracemalloc while setting the site up again (retained and peak).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Coroutine
from datetime import datetime, timedelta
import functools
import gc
import importlib.util
import json
import os
from pathlib import Path
import statistics
import sys
import time
import tracemalloc
from types import ModuleType
from typing import TYPE_CHECKING, Any

from homeassistant.config_entries import ConfigEntryState, ConfigSubentryData
from homeassistant.const import EVENT_STATE_CHANGED
from homeassistant.core import Event, HassJob, HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
from homeassistant.util.async_ import get_scheduled_timer_handles
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

if TYPE_CHECKING:
    from custom_components.keyholder.model.values import CredentialRef

pytestmark = pytest.mark.skipif(
    os.environ.get("KEYHOLDER_BENCH") != "1",
    reason="benchmark: run scripts/bench (KEYHOLDER_BENCH=1)",
)

DOMAIN = "keyholder"
ENTRY_ID = "site_bench"
KEYHOLDERS = 500
LOCKS = 20
KEYS_PER_HOLDER = 3
SLOTS = 250
PACKAGE = "custom_components.keyholder"
BENCH_ENGINE = Path(__file__).resolve().parents[2] / "scripts" / "bench_engine.py"

RESTARTS = int(os.environ.get("KEYHOLDER_BENCH_RESTARTS", "5"))
EDGE_KEYS = max(3, int(os.environ.get("KEYHOLDER_BENCH_EDGES", "10")) // 2)
IDLE_SECONDS = float(os.environ.get("KEYHOLDER_BENCH_IDLE", "10"))
# Waited before idling is measured: the store's backup copy is written then.
SETTLE_SECONDS = importlib.import_module(f"{PACKAGE}.storage.store").BACKUP_DELAY + 1
# Edges 5 s apart, so that each one is applied by a pass of its own.
WINDOW = 5.0  # s each bench key's window lasts
GAP = 5.0  # s between one window's end and the next one's start


@pytest.fixture(autouse=True)
async def enable_event_loop_debug() -> None:
    """Measure without asyncio debug mode (the test harness turns it on)."""
    asyncio.get_running_loop().set_debug(False)


def _bench_engine() -> ModuleType:
    """Load scripts/bench_engine.py (the site generator shared with it)."""
    spec = importlib.util.spec_from_file_location("bench_engine", BENCH_ENGINE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def _site_entry(site: Any, lock_ids: list[str]) -> MockConfigEntry:
    locks = [
        ConfigSubentryData(
            data={
                "name": f"Door {lock_id}",
                "provider": "virtual",
                "slots": SLOTS,
                "pin_min": 4,
                "pin_max": 8,
            },
            subentry_id=lock_id,
            subentry_type="lock",
            title=f"Door {lock_id}",
            unique_id=None,
        )
        for lock_id in lock_ids
    ]
    keyholders = [
        ConfigSubentryData(
            data={
                "given_name": holder.given_name,
                "family_name": holder.family_name,
                "role": holder.role.value,
                **(
                    {"expires_on": holder.expires_on.isoformat()}
                    if holder.expires_on
                    else {}
                ),
            },
            subentry_id=holder.id,
            subentry_type="keyholder",
            title=holder.name,
            unique_id=None,
        )
        for holder in site.keyholders.values()
    ]
    return MockConfigEntry(
        domain=DOMAIN,
        entry_id=ENTRY_ID,
        title="Bench",
        data={"name": "Bench", "passcode_length": 6, "booking_grace_minutes": 30},
        subentries_data=[*locks, *keyholders],
    )


async def _timed_setup(hass: HomeAssistant, entry: MockConfigEntry) -> float:
    started = time.perf_counter()
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    elapsed = time.perf_counter() - started
    assert entry.state is ConfigEntryState.LOADED
    return elapsed


def _owner(target: Any, depth: int = 0) -> str:
    """
    Name the code a timer will run: ``module.Class.method`` or ``module.function``.

    Looks through Home Assistant's wrappers (HassJob, partials, the objects and
    closures of ``async_track_point_in_*``), preferring Keyholder code when a
    wrapper holds some, and names a bound method by its object's class (so a
    method Home Assistant's base class runs for a Keyholder entity counts).
    """
    if isinstance(target, HassJob):
        return _owner(target.target, depth + 1)
    if isinstance(target, functools.partial):
        return _owner(target.func, depth + 1)
    if isinstance(getattr(target, "job", None), HassJob):
        return _owner(target.job, depth + 1)
    if (owner := getattr(target, "__self__", None)) is not None:
        cls = type(owner)
        return f"{cls.__module__}.{cls.__qualname__}.{target.__name__}"
    name = (
        f"{getattr(target, '__module__', '?')}.{getattr(target, '__qualname__', '?')}"
    )
    if depth < 5:
        for cell in getattr(target, "__closure__", None) or ():
            inner = cell.cell_contents
            cls = type(inner)
            if cls.__module__.startswith(PACKAGE + "."):
                # e.g. HA's CalendarEntity arms alarms with a closure over ``self``
                return f"{cls.__module__}.{cls.__qualname__} via {name}"
            if isinstance(inner, HassJob) or callable(inner):
                found = _owner(inner, depth + 1)
                if found.startswith(PACKAGE + "."):
                    return found
    return name


def _timer_owner(handle: asyncio.TimerHandle) -> str:
    """Name what a scheduled TimerHandle will run."""
    for arg in handle._args or ():
        if isinstance(arg, HassJob):  # async_call_later / async_call_at
            return _owner(arg)
    return _owner(handle._callback)


def _live_timers(hass: HomeAssistant) -> list[asyncio.TimerHandle]:
    return [h for h in get_scheduled_timer_handles(hass.loop) if not h.cancelled()]


def _keyholder_timers(hass: HomeAssistant) -> list[asyncio.TimerHandle]:
    return [
        handle
        for handle in _live_timers(hass)
        if _timer_owner(handle).startswith(PACKAGE + ".")
    ]


type SetCode = Callable[..., Coroutine[Any, Any, None]]
type ClearCode = Callable[[CredentialRef], Coroutine[Any, Any, None]]


def _watch_lock(lock: Any, landed: dict[str, float], left: dict[str, float]) -> None:
    """Record when each code lands in / leaves a virtual lock's memory (last lock)."""
    set_code: SetCode = lock.async_set_credential
    clear_code: ClearCode = lock.async_clear_credential

    async def watched_set(ref: CredentialRef, code: str, **kwargs: Any) -> None:
        await set_code(ref, code, **kwargs)
        landed[code] = time.time()

    async def watched_clear(ref: CredentialRef) -> None:
        code = lock.codes.get(ref)
        await clear_code(ref)
        if code is not None:
            left[code] = time.time()

    lock.async_set_credential = watched_set
    lock.async_clear_credential = watched_clear


async def _edge_latencies(
    hass: HomeAssistant, runtime: Any, lock_ids: list[str]
) -> dict[str, Any]:
    """Issue keys on every lock with short windows; time each edge to every lock."""
    # lock id -> (code -> when it landed, code -> when it left)
    seen: dict[str, tuple[dict[str, float], dict[str, float]]] = {}
    for lock_id in lock_ids:
        seen[lock_id] = ({}, {})
        _watch_lock(runtime.locks[lock_id].provider, *seen[lock_id])
    issue_s: list[float] = []

    async def issue(start: datetime, end: datetime) -> str:
        started = time.perf_counter()
        response = await hass.services.async_call(
            DOMAIN,
            "issue_key",
            {
                "keyholder": "kh_0000",
                "locks": lock_ids,
                "valid_from": start.isoformat(),
                "valid_until": end.isoformat(),
            },
            blocking=True,
            return_response=True,
        )
        issue_s.append(time.perf_counter() - started)
        assert response is not None
        return str(response["passcode"])

    # A first key, far ahead, shows how long issuing takes on this site: every
    # bench window must start after the last key is issued.
    far = dt_util.utcnow() + timedelta(days=30)
    await issue(far, far + timedelta(hours=1))
    lead = 2.0 + EDGE_KEYS * issue_s[0] * 2
    base = dt_util.utcnow().replace(microsecond=0) + timedelta(seconds=lead + 1)
    windows: list[tuple[str, datetime, datetime]] = []
    for n in range(EDGE_KEYS):
        start = base + timedelta(seconds=n * (WINDOW + GAP))
        end = start + timedelta(seconds=WINDOW)
        windows.append((await issue(start, end), start, end))
    issued_in_time = dt_util.utcnow() < base
    await asyncio.sleep((windows[-1][2] - dt_util.utcnow()).total_seconds() + 3)
    await hass.async_block_till_done()

    samples = []
    for n, (code, start, end) in enumerate(windows):
        for edge, at, side in (("set", start, 0), ("clear", end, 1)):
            times = [seen[lock_id][side].get(code) for lock_id in lock_ids]
            got = [when - at.timestamp() for when in times if when is not None]
            samples.append(
                {
                    "key": n,
                    "edge": edge,
                    "first_lock_s": min(got, default=None),
                    "all_locks_s": max(got) if len(got) == len(lock_ids) else None,
                }
            )
    return {
        "issued_in_time": issued_in_time,
        "issue_key_s": issue_s,
        "samples": samples,
    }


async def _idle(hass: HomeAssistant, runtime: Any, entity_ids: set[str]) -> dict:
    """Count state writes and re-armed timers of Keyholder over an idle period."""
    # Stay clear of the site's own next transition (edges fall on quarter hours).
    margin = timedelta(seconds=SETTLE_SECONDS + IDLE_SECONDS + 2)
    if (
        runtime.timer.next_transition
        and runtime.timer.next_transition < dt_util.utcnow() + margin
    ):
        wait = (runtime.timer.next_transition - dt_util.utcnow()).total_seconds() + 2
        await asyncio.sleep(max(wait, 0))
        await hass.async_block_till_done()
    writes: Counter[str] = Counter()

    @callback
    def _on_state(event: Event) -> None:
        if event.data["entity_id"] in entity_ids:
            writes[event.data["entity_id"]] += 1

    unsub = hass.bus.async_listen(EVENT_STATE_CHANGED, _on_state)
    # The store's backup copy follows the setup's last save within BACKUP_DELAY:
    # idle means after that.
    await asyncio.sleep(SETTLE_SECONDS)
    armed = _keyholder_timers(hass)
    await asyncio.sleep(IDLE_SECONDS)
    unsub()
    after = _keyholder_timers(hass)
    return {
        "seconds": SETTLE_SECONDS + IDLE_SECONDS,
        "armed": after,
        "state_writes": writes.total(),
        "state_writes_by_entity": dict(writes),
        "timer_rearmed": [id(h) for h in armed] != [id(h) for h in after],
    }


async def test_site_bench(hass: HomeAssistant, files: Path, berlin: None) -> None:
    """Set up a 500-keyholder, 20-lock site and measure it."""
    bench_engine = _bench_engine()
    lock_ids = [bench_engine.lock_id(index) for index in range(LOCKS)]
    now = dt_util.utcnow().replace(minute=0, second=0, microsecond=0)
    site = bench_engine.build_site(
        keyholders=KEYHOLDERS,
        keys_per_holder=KEYS_PER_HOLDER,
        locks=LOCKS,
        now=now,
        tag_share=0.0,  # virtual locks take passcodes only
    )
    serialize = importlib.import_module(f"{PACKAGE}.model.serialize")
    document = {
        "version": serialize.STORAGE_VERSION,
        "minor_version": 1,
        "key": f"{DOMAIN}.{ENTRY_ID}",
        "data": {
            "site": serialize.site_to_dict(site),
            "written": {},
            "virtual": {},
            "targets": {},
        },
    }

    def _write_site() -> None:
        files.mkdir(parents=True, exist_ok=True)
        (files / f"{DOMAIN}.{ENTRY_ID}").write_text(json.dumps(document))

    await hass.async_add_executor_job(_write_site)
    entry = _site_entry(site, lock_ids)
    entry.add_to_hass(hass)
    await hass.async_block_till_done()

    timers_before = {id(handle) for handle in _live_timers(hass)}
    first_s = await _timed_setup(hass, entry)
    runtime = entry.runtime_data
    placed = sum(len(codes) for codes in runtime.data.virtual.values())

    # Entities per keyholder: the registry's entries of each keyholder subentry.
    entities = er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
    keyholder_ids = set(site.keyholders)
    per_keyholder = Counter(
        e.config_subentry_id
        for e in entities
        if e.config_subentry_id in keyholder_ids
        and hass.states.get(e.entity_id) is not None
    )
    counts = [per_keyholder.get(holder_id, 0) for holder_id in keyholder_ids]

    # Timers while idle.
    idle = await _idle(hass, runtime, {e.entity_id for e in entities})
    new_timers = [h for h in _live_timers(hass) if id(h) not in timers_before]
    ours = idle.pop("armed")
    loop_now, wall_now = hass.loop.time(), time.time()
    timers = {
        "keyholder": len(ours),
        "keyholder_targets": [_timer_owner(h) for h in ours],
        "keyholder_fire_in_s": [h.when() - loop_now for h in ours],
        "next_transition_in_s": (
            runtime.timer.next_transition.timestamp() - wall_now
            if runtime.timer.next_transition
            else None
        ),
        "new_since_setup": len(new_timers),
        "new_since_setup_targets": sorted(_timer_owner(h) for h in new_timers),
    }

    edges = await _edge_latencies(hass, runtime, lock_ids)

    restart_s = []
    for _ in range(RESTARTS):
        assert await hass.config_entries.async_unload(entry.entry_id)
        await hass.async_block_till_done()
        restart_s.append(await _timed_setup(hass, entry))

    # Memory of the loaded site: what setting it up allocates and keeps.
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    gc.collect()
    tracemalloc.start()
    await _timed_setup(hass, entry)
    gc.collect()
    retained, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    summary = {
        "keyholders": len(runtime.site.keyholders),
        "keys": len(site.keys),
        "locks": len(runtime.locks),
        "codes_on_locks": placed,
        "entities": len(entities),
        "setup_first_s": first_s,
        "setup_restart_s": restart_s,
        "setup_restart_median_s": statistics.median(restart_s) if restart_s else None,
        "entities_per_keyholder_max": max(counts),
        "entities_per_keyholder_min": min(counts),
        "timers": timers,
        "idle": idle,
        "edges": edges,
        "memory_retained_mib": retained / 1024 / 1024,
        "memory_peak_mib": peak / 1024 / 1024,
    }
    if out := os.environ.get("KEYHOLDER_BENCH_OUT"):
        await asyncio.to_thread(Path(out).write_text, json.dumps(summary, indent=2))
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
