"""Benchmark the Keyholder engine on a large site.

1,000 keyholders x 3 keys x 50 locks; keys on random subsets of locks, a mix of
always-on and weekly schedules (deterministic seed). Measures the full plan over
all locks, the next-transition query of the TransitionIndex the glue uses, and
the memory peak of building the site and planning. Exits non-zero when a target
is missed.

Run: .venv/bin/python scripts/bench_engine.py (``scripts/bench`` prints the same
numbers in its table; the Home Assistant benchmark builds its site with
:func:`build_site`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
import random
import statistics
import sys
import time as clock
import tracemalloc
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from custom_components.keyholder.model import (
    Key,
    Keyholder,
    KeyKind,
    LockCapabilities,
    Schedule,
    Site,
    SlotRange,
    TransitionIndex,
    Window,
    make_plan,
    next_site_change,
)
from custom_components.keyholder.model.access import grant_for_key
from custom_components.keyholder.model.serialize import key_grant_id

TZ = ZoneInfo("Europe/Berlin")
KEYHOLDERS = 1000
KEYS_PER_HOLDER = 3
LOCKS = 50
REPEATS = 15
COLD_REPEATS = 5
PLAN_TARGET_MS = 100.0
NEXT_TARGET_MS = 1.0
NOW = datetime(2026, 3, 26, 12, 0, tzinfo=UTC)  # a week before the DST change


def lock_id(index: int) -> str:
    """Return the id of the ``index``-th bench lock."""
    return f"lock_{index:02d}"


def build_site(
    seed: int = 42,
    *,
    keyholders: int = KEYHOLDERS,
    keys_per_holder: int = KEYS_PER_HOLDER,
    locks: int = LOCKS,
    now: datetime = NOW,
    tag_share: float = 0.15,
) -> Site:
    """
    Return a deterministic random site.

    Keyholders are ``kh_0000``..., locks ``lock_00``...; each key lists 1-3 locks.
    Passcodes have 6 digits and are unique; ``tag_share`` of the keys are tags.
    Schedule edges fall on quarter hours when ``now`` is on a quarter hour.
    """
    rng = random.Random(seed)
    lock_ids = [lock_id(index) for index in range(locks)]
    site = Site()
    for holder_index in range(keyholders):
        holder = Keyholder(
            id=f"kh_{holder_index:04d}",
            given_name=f"Person{holder_index}",
            family_name="Bench",
            expires_on=(now + timedelta(days=rng.randint(1, 400))).date()
            if rng.random() < 0.3
            else None,
        )
        site.put_keyholder(holder)
        for key_index in range(keys_per_holder):
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
                now + timedelta(hours=rng.randint(-500, 500))
                if rng.random() < 0.3
                else None
            )
            schedule = Schedule(windows=windows, valid_from=valid_from)
            kind = KeyKind.TAG if rng.random() < tag_share else KeyKind.PASSCODE
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
            site.put_grant(grant_for_key(key, key_grant_id(key.id)))
            site.put_key(key)
    return site


def caps_for() -> dict[str, LockCapabilities]:
    """Return the capabilities of the 50 bench locks (250 PINs and 250 tags each)."""
    caps = LockCapabilities(
        slots={KeyKind.PASSCODE: SlotRange(1, 250), KeyKind.TAG: SlotRange(1, 250)}
    )
    return {lock_id(index): caps for index in range(LOCKS)}


def timed(function: Callable[[], object], repeats: int) -> list[float]:
    """Return the durations (ms) of calling ``function`` ``repeats`` times."""
    durations = []
    for _ in range(repeats):
        started = clock.perf_counter()
        function()
        durations.append((clock.perf_counter() - started) * 1000)
    return durations


@dataclass
class EngineResult:
    """What :func:`measure_engine` measured (durations in ms)."""

    keyholders: int
    keys: int
    locks: int
    placed: int
    unplaced: int
    peak_mib: float
    plan_ms: list[float] = field(default_factory=list)
    cold_ms: list[float] = field(default_factory=list)
    index_build_ms: float = 0.0
    next_ms: list[float] = field(default_factory=list)
    simple_ms: list[float] = field(default_factory=list)
    index_agrees: bool = True

    @property
    def plan_median(self) -> float:
        """Median full plan over all locks."""
        return statistics.median(self.plan_ms)

    @property
    def cold_median(self) -> float:
        """Median full plan when every slot is allocated from scratch."""
        return statistics.median(self.cold_ms)

    @property
    def next_median(self) -> float:
        """Median next-transition query."""
        return statistics.median(self.next_ms)

    @property
    def next_p99(self) -> float:
        """99th percentile of the next-transition query."""
        return sorted(self.next_ms)[int(len(self.next_ms) * 0.99)]

    def failures(self) -> list[str]:
        """Return the targets missed."""
        failures = []
        if self.plan_median >= PLAN_TARGET_MS:
            failures.append("full plan")
        if self.cold_median >= PLAN_TARGET_MS:
            failures.append("full plan from empty slots")
        if self.next_median >= NEXT_TARGET_MS:
            failures.append("next transition")
        if not self.index_agrees:
            failures.append("index disagrees with next_site_change")
        return failures


def measure_engine(
    repeats: int = REPEATS, cold_repeats: int = COLD_REPEATS
) -> EngineResult:
    """Build the 1,000 x 3 x 50 site and time planning and the transition index."""
    tracemalloc.start()
    site = build_site()
    locks = caps_for()
    first = make_plan(site, locks, NOW, TZ)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    result = EngineResult(
        keyholders=len(site.keyholders),
        keys=len(site.keys),
        locks=len(locks),
        placed=sum(len(slots) for slots in first.desired.values()),
        unplaced=len(first.unplaced),
        peak_mib=peak / 1024 / 1024,
    )

    # Full plan at many different instants (cold caches for new dates).
    instants = [NOW + timedelta(minutes=97 * index) for index in range(repeats)]
    for instant in instants:
        started = clock.perf_counter()
        make_plan(site, locks, instant, TZ)
        result.plan_ms.append((clock.perf_counter() - started) * 1000)

    # Worst case: every slot allocated from scratch (first plan after setup).
    for instant in instants[:cold_repeats]:
        site.slots.clear()
        started = clock.perf_counter()
        make_plan(site, locks, instant, TZ)
        result.cold_ms.append((clock.perf_counter() - started) * 1000)

    started = clock.perf_counter()
    index = TransitionIndex(site, TZ, NOW)
    result.index_build_ms = (clock.perf_counter() - started) * 1000

    # Walk the timer forward through a week of transitions, like the glue does.
    when: datetime | None = NOW
    while when is not None and when < NOW + timedelta(days=7):
        started = clock.perf_counter()
        when = index.next_change(when)
        result.next_ms.append((clock.perf_counter() - started) * 1000)

    check = next_site_change(site, NOW, TZ)
    result.index_agrees = check == TransitionIndex(site, TZ, NOW).next_change(NOW)
    result.simple_ms = timed(lambda: next_site_change(site, NOW, TZ), 3)
    return result


def main() -> int:
    """Run the benchmark; return the process exit code."""
    result = measure_engine()
    print(
        f"site: {result.keyholders} keyholders, {result.keys} keys, "
        f"{result.locks} locks; {result.placed} credentials placed, "
        f"{result.unplaced} unplaced"
    )
    print(f"memory: tracemalloc peak {result.peak_mib:.1f} MiB (site + first plan)")
    print(
        f"full plan: median {result.plan_median:.1f} ms, "
        f"min {min(result.plan_ms):.1f} ms (target < {PLAN_TARGET_MS:.0f} ms)"
    )
    print(
        f"full plan from empty slots: median {result.cold_median:.1f} ms, "
        f"min {min(result.cold_ms):.1f} ms (target < {PLAN_TARGET_MS:.0f} ms)"
    )
    print(f"transition index build: {result.index_build_ms:.1f} ms (once, at setup)")
    print(
        f"next transition: median {result.next_median * 1000:.1f} us, "
        f"p99 {result.next_p99 * 1000:.1f} us over "
        f"{len(result.next_ms)} timer firings (target < {NEXT_TARGET_MS:.0f} ms)"
    )
    print(
        f"next_site_change (simple O(keys) reference): "
        f"median {statistics.median(result.simple_ms):.1f} ms"
    )

    if failures := result.failures():
        print("FAILED: " + ", ".join(failures))
        return 1
    print("all targets met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
