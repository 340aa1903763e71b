"""Run every Keyholder benchmark and print one table (``scripts/bench`` runs this).

Rows: the engine on a 1,000 x 3 x 50 site (``bench_engine.py``); a 500-keyholder,
20-virtual-lock site in a real Home Assistant (``tests/bench/test_bench_ha.py``:
setup time, entities per keyholder, timers and state writes while idle, schedule
edge latency on the virtual locks, memory); what one action writes as the site
grows and creating 1,000 keyholders through the actions
(``tests/bench/test_bench_costs.py``); schedule edge latency on the Z-Wave JS
stack (``bench_zwave_latency.py``). Exits non-zero when a target is missed.

Usage: ``scripts/bench [--short]`` (``--short``: fewer repetitions, same sizes).
"""

from __future__ import annotations

import argparse
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
import statistics
import sys
import tempfile
from typing import Any

from bench_engine import NEXT_TARGET_MS, PLAN_TARGET_MS, measure_engine
from bench_groups import (
    GROUPS,
    GROUPS_PLAN_TARGET_MS,
    KEYHOLDERS,
    LOCKS as GROUP_LOCKS,
    measure_groups,
)
from bench_zwave_latency import BenchError, measure_zwave, run_bench_test

HA_TEST = "tests/bench/test_bench_ha.py::test_site_bench"
COSTS_TEST = "tests/bench/test_bench_costs.py"
GROUPS_TEST = "tests/bench/test_bench_groups.py"
GROUP_EDIT_TARGET_S = 1.0
SETUP_TARGET_S = 1.0
ENTITIES_TARGET = 3
EDGE_TARGET_S = 1.0
BLOCK_WRITES_TARGET = 10
SAVES_PER_PASS_TARGET = 1
CREATE_TOTAL_TARGET_S = 10.0
CREATE_RATIO_TARGET = 1.5


@dataclass
class Row:
    """One line of the table; ``ok`` is None for a number without a target."""

    measurement: str
    result: str
    target: str = "-"
    ok: bool | None = None


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def engine_rows(short: bool) -> list[Row]:
    """Plan time and next-transition query of the engine at 1,000 x 3 x 50."""
    result = measure_engine(repeats=5 if short else 15, cold_repeats=3 if short else 5)
    size = f"{result.keyholders:,} keyholders x 3 keys x {result.locks} locks"
    return [
        Row(
            f"engine: full plan, {size}",
            f"median {result.plan_median:.1f} ms (empty slots "
            f"{result.cold_median:.1f} ms), n={len(result.plan_ms)}",
            f"< {PLAN_TARGET_MS:.0f} ms",
            result.plan_median < PLAN_TARGET_MS and result.cold_median < PLAN_TARGET_MS,
        ),
        Row(
            "engine: next-transition query (timer re-arm)",
            f"median {result.next_median * 1000:.0f} us, p99 "
            f"{result.next_p99 * 1000:.0f} us, n={len(result.next_ms)}",
            f"< {NEXT_TARGET_MS:.0f} ms",
            result.next_median < NEXT_TARGET_MS and result.index_agrees,
        ),
        Row("engine: memory, site + first plan", f"{result.peak_mib:.1f} MiB peak"),
        group_row(short),
    ]


def group_row(short: bool) -> Row:
    """Plan time of a site whose keys follow access groups."""
    groups = measure_groups(repeats=5 if short else 15)
    return Row(
        f"engine: full plan, {KEYHOLDERS:,} keyholders in {GROUPS} groups + "
        f"personal access, {GROUP_LOCKS} locks",
        f"median {groups.median:.1f} ms, n={len(groups.plan_ms)}, "
        f"{groups.placed:,} codes placed",
        f"< {GROUPS_PLAN_TARGET_MS:.0f} ms",
        groups.median < GROUPS_PLAN_TARGET_MS and groups.unplaced == 0,
    )


def _latency(samples: list[float | None]) -> tuple[str, float | None, int]:
    seen = [value for value in samples if value is not None]
    missed = len(samples) - len(seen)
    if not seen:
        return "no edge observed", None, missed
    text = (
        f"median {_ms(statistics.median(seen))}, max {_ms(max(seen))}, "
        f"n={len(seen)}" + (f", {missed} missed" if missed else "")
    )
    return text, max(seen), missed


def _timer_names(owners: list[str]) -> str:
    """Shorten timer owners: "runtime.KeyholderRuntime._async_on_transition"."""
    names = Counter(
        owner.split(" via ")[0].removeprefix("custom_components.keyholder.")
        + (
            " (HA calendar alarm)"
            if " via homeassistant.components.calendar" in owner
            else ""
        )
        for owner in owners
    )
    return ", ".join(
        name if count == 1 else f"{count}x {name}" for name, count in names.items()
    )


def ha_rows(summary: dict[str, Any]) -> list[Row]:
    """The rows of the Home Assistant benchmark's results."""
    size = (
        f"{summary['keyholders']} keyholders, {summary['keys']:,} keys, "
        f"{summary['locks']} virtual locks"
    )
    restart = summary["setup_restart_median_s"]
    timers = summary["timers"]
    idle = summary["idle"]
    edges = summary["edges"]
    edge_text, edge_max, edge_missed = _latency(
        [sample["all_locks_s"] for sample in edges["samples"]]
    )
    first_text, _, _ = _latency([sample["first_lock_s"] for sample in edges["samples"]])
    return [
        Row(
            f"HA setup, {size}",
            f"median {restart:.2f} s over {len(summary['setup_restart_s'])} restarts",
            f"< {SETUP_TARGET_S:.0f} s",
            restart < SETUP_TARGET_S,
        ),
        Row(
            "HA first setup (empty entity registry and locks)",
            f"{summary['setup_first_s']:.2f} s, {summary['codes_on_locks']:,} codes "
            f"written",
        ),
        Row(
            "entities per keyholder",
            f"max {summary['entities_per_keyholder_max']}, min "
            f"{summary['entities_per_keyholder_min']} "
            f"({summary['entities']:,} entities in the site)",
            f"<= {ENTITIES_TARGET}",
            summary["entities_per_keyholder_max"] <= ENTITIES_TARGET,
        ),
        Row(
            "timers armed while idle",
            f"{timers['keyholder']}: {_timer_names(timers['keyholder_targets'])}",
            "exactly 1",
            timers["keyholder"] == 1,
        ),
        Row(
            f"state writes while idle ({idle['seconds']:.0f} s)",
            f"{idle['state_writes']}"
            + (", timer re-armed" if idle["timer_rearmed"] else ""),
            "0",
            idle["state_writes"] == 0 and not idle["timer_rearmed"],
        ),
        Row(
            "schedule edge -> code in/out of all 20 virtual locks",
            edge_text,
            f"<= {EDGE_TARGET_S:.0f} s",
            edge_max is not None
            and edge_max <= EDGE_TARGET_S
            and not edge_missed
            and edges["issued_in_time"],
        ),
        Row("  ... to the first virtual lock", first_text),
        Row(
            "  ... keyholder.issue_key on 20 locks (for comparison)",
            f"median {statistics.median(edges['issue_key_s']):.2f} s",
        ),
        Row(
            "memory of the loaded site (tracemalloc, during setup)",
            f"{summary['memory_retained_mib']:.1f} MiB retained, "
            f"{summary['memory_peak_mib']:.1f} MiB peak",
        ),
    ]


def cost_rows() -> list[Row]:
    """What one action writes as the site grows, and creating many keyholders."""
    with tempfile.TemporaryDirectory() as tmp:
        results, code = run_bench_test(COSTS_TEST, Path(tmp) / "costs.json")
    if code != 0 or len(results) != 3:
        raise BenchError(f"cost benchmarks failed (exit {code})")
    rows = []
    for size in (100, 1000):
        block = results[f"block_{size}"]
        rows.append(
            Row(
                f"state writes per block_user, {size:,} keyholders / 2 locks",
                f"max {block['states_max']} over "
                f"{len(block['calls'])} calls (block, unblock, block)",
                f"<= {BLOCK_WRITES_TARGET}",
                block["states_max"] <= BLOCK_WRITES_TARGET,
            )
        )
    saves = max(results[f"block_{size}"]["saves_max"] for size in (100, 1000))
    main_file = max(results[f"block_{size}"]["main_file_max"] for size in (100, 1000))
    rows.append(
        Row(
            "  ... writes of the site's store per block_user (a pass)",
            f"max {saves} (the main file {main_file}x; a large site writes its "
            "changes file instead)",
            f"<= {SAVES_PER_PASS_TARGET}",
            saves <= SAVES_PER_PASS_TARGET,
        )
    )
    create = results["create"]
    runs = create["runs"]
    rows.append(
        Row(
            f"create {create['keyholders']:,} keyholders, a key each, "
            f"{create['locks']} virtual locks (total)",
            f"median {create['total_s']:.1f} s of {len(runs)} runs ("
            + ", ".join(f"{run['total_s']:.1f}" for run in runs)
            + ")"
            + ("" if create["in_sync"] else ", locks NOT in sync"),
            f"<= {CREATE_TOTAL_TARGET_S:.0f} s",
            create["total_s"] <= CREATE_TOTAL_TARGET_S and create["in_sync"],
        )
    )
    rows.append(
        Row(
            "  ... last tenth / first tenth, per keyholder (in turns)",
            f"median {create['ratio']:.2f}x ("
            + ", ".join(f"{run['ratio']:.2f}" for run in runs)
            + f"; {create['first_tenth_ms']:.1f} -> {create['last_tenth_ms']:.1f} ms"
            f" wall; CPU {create['cpu_ratio']:.2f}x)",
            f"<= {CREATE_RATIO_TARGET}x",
            create["ratio"] <= CREATE_RATIO_TARGET,
        )
    )
    rows.append(
        Row(
            "  ... the same in the order of creation (for comparison)",
            f"median {create['created_ratio']:.2f}x ("
            + ", ".join(f"{run['created_ratio']:.2f}" for run in runs)
            + ")",
        )
    )
    return rows


def group_edit_rows() -> list[Row]:
    """Editing a 500-member group on 20 virtual locks: time and state writes."""
    with tempfile.TemporaryDirectory() as tmp:
        results, code = run_bench_test(GROUPS_TEST, Path(tmp) / "groups.json")
    if code != 0 or "group_edit" not in results:
        raise BenchError(f"group benchmark failed (exit {code})")
    edit = results["group_edit"]
    cleared, written = edit["edits"]
    done = all(e["held"] == e["expected"] for e in edit["edits"])
    slowest = max(e["seconds"] for e in edit["edits"])
    members, locks = edit["members"], edit["locks"]
    writes = max(e["writes"] for e in edit["edits"])
    others = max(e["other_writes"] for e in edit["edits"])
    return [
        Row(
            f"edit a group of {members} members on {locks} virtual locks, until "
            "every code is cleared / written",
            f"{cleared['seconds']:.2f} s / {written['seconds']:.2f} s "
            f"({members * locks:,} codes each)" + ("" if done else ", NOT done"),
            f"<= {GROUP_EDIT_TARGET_S:.0f} s",
            done and slowest <= GROUP_EDIT_TARGET_S,
        ),
        Row(
            "  ... state writes of that edit",
            f"max {writes}: members {cleared['member_writes']}, locks "
            f"{cleared['lock_writes']}, the {edit['others']} others {others}",
            f"<= {members} members + {2 * locks} lock writes, others 0",
            writes <= members + 2 * locks and others == 0,
        ),
    ]


def zwave_rows(short: bool) -> list[Row]:
    """Schedule edge latency on the Z-Wave JS stack (simulated lock)."""
    runs = 1 if short else 3
    result = measure_zwave(runs)
    text, _, _ = _latency([s["latency_s"] for samples in result.runs for s in samples])
    return [
        Row(
            f"schedule edge -> code in/out of a Z-Wave JS lock ({runs} run(s))",
            text + (f", {len(result.early)} early" if result.early else ""),
            f"<= {result.target:.0f} s",
            result.met,
        )
    ]


def _guarded(name: str, rows: Callable[[], list[Row]]) -> list[Row]:
    try:
        return rows()
    except BenchError as err:
        return [Row(name, f"error: {err}", "runs", ok=False)]


METHODS = """\
How:
- engine: scripts/bench_engine.py; make_plan over all locks at several instants,
  the TransitionIndex query walked through a week of transitions. With groups:
  scripts/bench_groups.py, keys following 1-2 of 20 groups + personal access.
- group edit: tests/bench/test_bench_groups.py; the group's subentry updated as
  the flow does it, timed until every virtual lock holds what it should; state
  writes counted per entity (members, locks, the others).
- HA: tests/bench/test_bench_ha.py in a real hass (pytest-homeassistant-custom-
  component; Keyholder's files are real files, read and written as Home Assistant
  does, other stores mocked; asyncio debug off, real clock). Setup = async_setup +
  async_block_till_done after an unload (entity registry and lock memories
  filled), median of 5.
- entities per keyholder: entity registry entries of each keyholder subentry that
  have a state.
- timers: TimerHandles in hass.loop._scheduled whose callback, looked at through
  Home Assistant's wrappers (HassJob, async_track_point_in_* objects and closures,
  bound methods named by their object's class), is Keyholder code (its entities'
  platform timers included); counted at the end of the idle period, which starts
  after the store's backup copy is due (BACKUP_DELAY + 1 s after setup). State
  writes: state_changed events of the site's entities over that whole period.
- virtual edge latency: keys on all 20 locks with windows 5 s apart; each lock's
  set/clear is wrapped to time when the code lands/leaves its memory; the result is
  the time until the last lock has it (the first lock below).
- costs: tests/bench/test_bench_costs.py; block_user/unblock_user on one keyholder
  of a site whose keyholders have a key each on 2 virtual locks: calls of
  async_write_ha_state on Keyholder's entities (changed or not) and writes of the
  site's store (main file or changes file); then add_keyholder + issue_key (one
  of 20 locks) 1,000 times, each call blocking until the lock holds the code,
  timed in batches of 10: a tenth costs the median of its batches (wall clock;
  the process's CPU time is shown too). The last tenth is created in turns,
  batch for batch, with the first tenth of a second new site, so that both
  meet the same load of the machine; the first tenth of the site itself
  (created 5 s earlier) gives the ratio in the order of creation. 3 runs on
  new sites, medians count.
- Z-Wave JS: scripts/bench_zwave_latency.py (zwave-server + simulated node, polled
  every 20 ms).
- memory: tracemalloc while setting the site up again (retained = still allocated
  after setup, peak = highest during it); Home Assistant's own objects for the
  site's entities are included.
"""


def print_table(rows: list[Row]) -> None:
    """Print the rows as an aligned table."""
    header = ("measurement", "result", "target", "ok")
    cells = [
        (
            row.measurement,
            row.result,
            row.target,
            "" if row.ok is None else ("yes" if row.ok else "NO"),
        )
        for row in rows
    ]
    widths = [max(len(line[i]) for line in [header, *cells]) for i in range(4)]
    rule = "-+-".join("-" * width for width in widths)
    print(
        " | ".join(
            text.ljust(width) for text, width in zip(header, widths, strict=True)
        )
    )
    print(rule)
    for line in cells:
        print(
            " | ".join(
                text.ljust(width) for text, width in zip(line, widths, strict=True)
            )
        )


def main() -> int:
    """Run the benchmarks, print the table, return the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--short", action="store_true", help="fewer repetitions (CI); same sizes"
    )
    args = parser.parse_args()
    short: bool = args.short

    rows = engine_rows(short)
    print("engine: done", flush=True)

    def ha() -> list[Row]:
        env = {
            "KEYHOLDER_BENCH_RESTARTS": "5",
            "KEYHOLDER_BENCH_EDGES": "6" if short else "10",
            "KEYHOLDER_BENCH_IDLE": "3" if short else "10",
        }
        with tempfile.TemporaryDirectory() as tmp:
            summary, _ = run_bench_test(HA_TEST, Path(tmp) / "ha.json", env=env)
        return ha_rows(summary)

    rows += _guarded("HA benchmark", ha)
    print("Home Assistant: done", flush=True)
    rows += _guarded("cost benchmarks", cost_rows)
    print("costs: done", flush=True)
    rows += _guarded("group benchmark", group_edit_rows)
    print("groups: done", flush=True)
    rows += _guarded("Z-Wave JS benchmark", lambda: zwave_rows(short))
    print()
    print_table(rows)
    print()
    print(METHODS)
    missed = [row.measurement.strip() for row in rows if row.ok is False]
    if missed:
        print("TARGETS MISSED: " + "; ".join(missed))
        return 1
    print("all targets met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
