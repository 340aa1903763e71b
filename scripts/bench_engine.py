"""Benchmark the Keyholder engine on a large site.

1,000 keyholders x 3 keys x 50 locks; keys on random subsets of locks, a mix of
always-on and weekly schedules (deterministic seed). Measures the full plan over
all locks, the next-transition query of the TransitionIndex the glue uses, and
the memory peak of building the site and planning. Exits non-zero when a target
is missed.

Run: .venv/bin/python scripts/bench_engine.py
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from pathlib import Path
import random
import statistics
import sys
import time as clock
import tracemalloc
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from custom_components.keyholder.engine import (
    Key,
    Keyholder,
    KeyKind,
    LockCapabilities,
    Schedule,
    Site,
    TransitionIndex,
    Window,
    make_plan,
    next_site_change,
)

TZ = ZoneInfo("Europe/Berlin")
KEYHOLDERS = 1000
KEYS_PER_HOLDER = 3
LOCKS = 50
REPEATS = 15
PLAN_TARGET_MS = 100.0
NEXT_TARGET_MS = 1.0
NOW = datetime(2026, 3, 26, 12, 0, tzinfo=UTC)  # a week before the DST change


def build_site(seed: int = 42) -> Site:
    """Return a deterministic random site."""
    rng = random.Random(seed)
    lock_ids = [f"lock_{index:02d}" for index in range(LOCKS)]
    site = Site()
    for holder_index in range(KEYHOLDERS):
        holder = Keyholder(
            id=f"kh_{holder_index:04d}",
            given_name=f"Person{holder_index}",
            family_name="Bench",
            expires_on=(NOW + timedelta(days=rng.randint(1, 400))).date()
            if rng.random() < 0.3
            else None,
        )
        site.put_keyholder(holder)
        for key_index in range(KEYS_PER_HOLDER):
            windows: tuple[Window, ...] = ()
            if rng.random() < 0.6:
                start_hour = rng.randint(0, 22)
                windows = (
                    Window(
                        days=frozenset(rng.sample(range(7), rng.randint(1, 5))),
                        start=time(start_hour, rng.choice((0, 15, 30, 45))),
                        end=time(rng.randint(start_hour + 1, 23), 0)
                        if rng.random() < 0.8
                        else time(rng.randint(0, 6), 0),
                    ),
                )
            valid_from = (
                NOW + timedelta(hours=rng.randint(-500, 500))
                if rng.random() < 0.3
                else None
            )
            schedule = Schedule(windows=windows, valid_from=valid_from)
            kind = KeyKind.TAG if rng.random() < 0.15 else KeyKind.PASSCODE
            secret = (
                f"{rng.randrange(10**10):010x}"
                if kind is KeyKind.TAG
                else f"{holder_index:04d}{key_index}{rng.randrange(10)}"
            )
            key = Key(
                id=f"key_{holder_index:04d}_{key_index}",
                keyholder_id=holder.id,
                kind=kind,
                lock_ids=frozenset(rng.sample(lock_ids, rng.randint(1, 3))),
                schedule=schedule,
                secret=secret,
                max_uses=1 if rng.random() < 0.05 else None,
            )
            site.put_key(key)
    return site


def caps_for() -> dict[str, LockCapabilities]:
    """Return the capabilities of the 50 bench locks (250 slots each)."""
    caps = LockCapabilities(
        credential_kinds=frozenset({KeyKind.PASSCODE, KeyKind.TAG}),
        slot_max=250,
    )
    return {f"lock_{index:02d}": caps for index in range(LOCKS)}


def timed(function: object, repeats: int) -> list[float]:
    """Return the durations (ms) of calling ``function`` ``repeats`` times."""
    assert callable(function)
    durations = []
    for _ in range(repeats):
        started = clock.perf_counter()
        function()
        durations.append((clock.perf_counter() - started) * 1000)
    return durations


def main() -> int:
    """Run the benchmark; return the process exit code."""
    failures: list[str] = []

    tracemalloc.start()
    site = build_site()
    locks = caps_for()
    first = make_plan(site, locks, NOW, TZ)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    placed = sum(len(slots) for slots in first.desired.values())
    print(
        f"site: {len(site.keyholders)} keyholders, {len(site.keys)} keys, "
        f"{len(locks)} locks; {placed} credentials placed, "
        f"{len(first.unplaced)} unplaced"
    )
    print(f"memory: tracemalloc peak {peak / 1024 / 1024:.1f} MiB (site + first plan)")

    # Full plan at many different instants (cold caches for new dates).
    instants = [NOW + timedelta(minutes=97 * index) for index in range(REPEATS)]
    plan_ms = []
    for instant in instants:
        started = clock.perf_counter()
        make_plan(site, locks, instant, TZ)
        plan_ms.append((clock.perf_counter() - started) * 1000)
    plan_median = statistics.median(plan_ms)
    print(
        f"full plan: median {plan_median:.1f} ms, min {min(plan_ms):.1f} ms "
        f"(target < {PLAN_TARGET_MS:.0f} ms)"
    )
    if plan_median >= PLAN_TARGET_MS:
        failures.append("full plan")

    # Worst case: every slot allocated from scratch (first plan after setup).
    cold_ms = []
    for instant in instants[:5]:
        site.slots.clear()
        started = clock.perf_counter()
        make_plan(site, locks, instant, TZ)
        cold_ms.append((clock.perf_counter() - started) * 1000)
    cold_median = statistics.median(cold_ms)
    print(
        f"full plan from empty slots: median {cold_median:.1f} ms, "
        f"min {min(cold_ms):.1f} ms (target < {PLAN_TARGET_MS:.0f} ms)"
    )
    if cold_median >= PLAN_TARGET_MS:
        failures.append("full plan from empty slots")

    started = clock.perf_counter()
    index = TransitionIndex(site, TZ, NOW)
    build_ms = (clock.perf_counter() - started) * 1000
    print(f"transition index build: {build_ms:.1f} ms (once, at setup)")

    # Walk the timer forward through a week of transitions, like the glue does.
    when: datetime | None = NOW
    query_ms = []
    steps = 0
    while when is not None and when < NOW + timedelta(days=7):
        started = clock.perf_counter()
        when = index.next_change(when)
        query_ms.append((clock.perf_counter() - started) * 1000)
        steps += 1
    query_median = statistics.median(query_ms)
    print(
        f"next transition: median {query_median * 1000:.1f} us, "
        f"p99 {sorted(query_ms)[int(len(query_ms) * 0.99)] * 1000:.1f} us over "
        f"{steps} timer firings (target < {NEXT_TARGET_MS:.0f} ms)"
    )
    if query_median >= NEXT_TARGET_MS:
        failures.append("next transition")

    check = next_site_change(site, NOW, TZ)
    fresh = TransitionIndex(site, TZ, NOW).next_change(NOW)
    if check != fresh:
        failures.append("index disagrees with next_site_change")
    simple_ms = timed(lambda: next_site_change(site, NOW, TZ), 3)
    print(
        f"next_site_change (simple O(keys) reference): "
        f"median {statistics.median(simple_ms):.1f} ms"
    )

    if failures:
        print("FAILED: " + ", ".join(failures))
        return 1
    print("all targets met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
