"""
Benchmark of the engine with access groups: plan a site whose keys follow groups.

1,000 keyholders in 20 access groups (each group 2-5 of 50 locks, weekly hours
or 24/7), one or two memberships each (some reduced: fewer hours or member
until a date), 30 % with personal access of their own, one passcode each that
follows their access (deterministic seed). Measures the full plan over every
lock at many instants; ``scripts/bench`` prints it as a row of its table.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from pathlib import Path
import random
import statistics
import sys
import time as clock

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_engine import NOW, TZ, caps_for, lock_id

from custom_components.keyholder.model import (
    Key,
    Keyholder,
    KeyKind,
    Schedule,
    Site,
    Window,
    make_plan,
)
from custom_components.keyholder.model.values import AccessGroup, Grant, Membership

KEYHOLDERS = 1000
GROUPS = 20
LOCKS = 50
GROUPS_PLAN_TARGET_MS = 20.0


def _weekly(rng: random.Random) -> Schedule:
    start = rng.randint(6, 14)
    return Schedule(
        windows=(
            Window(
                days=frozenset(rng.sample(range(7), rng.randint(2, 6))),
                start=time(start),
                end=time(rng.randint(start + 2, 22)),
            ),
        )
    )


def build_group_site(seed: int = 14) -> Site:
    """Return the 1,000-keyholder, 20-group, 50-lock site."""
    rng = random.Random(seed)
    locks = [lock_id(index) for index in range(LOCKS)]
    site = Site()
    for index in range(GROUPS):
        schedule = Schedule() if index % 4 == 0 else _weekly(rng)
        doors = frozenset(rng.sample(locks, rng.randint(2, 5)))
        site.put_group(
            AccessGroup(f"group_{index:02d}", f"Group {index}", doors, schedule)
        )
    codes = rng.sample(range(100_000, 1_000_000), KEYHOLDERS)
    for index in range(KEYHOLDERS):
        holder = f"kh_{index:04d}"
        site.put_keyholder(Keyholder(holder, f"Person{index}", "Bench"))
        for group in rng.sample(range(GROUPS), rng.randint(1, 2)):
            reduced = Schedule()
            if rng.random() < 0.2:
                reduced = _weekly(rng)
            elif rng.random() < 0.2:
                reduced = Schedule(valid_until=NOW + timedelta(days=rng.randint(1, 60)))
            site.put_membership(Membership(f"group_{group:02d}", holder, reduced))
        if rng.random() < 0.3:
            doors = frozenset(rng.sample(locks, rng.randint(1, 2)))
            site.put_grant(Grant(f"{holder}.personal", holder, doors, _weekly(rng)))
        site.put_key(
            Key(
                f"key_{index:04d}",
                holder,
                KeyKind.PASSCODE,
                None,
                secret=str(codes[index]),
            )
        )
    return site


@dataclass
class GroupsResult:
    """The plan times measured (ms) and what the first plan placed."""

    plan_ms: list[float]
    placed: int
    unplaced: int

    @property
    def median(self) -> float:
        """Median full plan."""
        return statistics.median(self.plan_ms)


def measure_groups(repeats: int = 15) -> GroupsResult:
    """Time the full plan of the group site at ``repeats`` instants."""
    site = build_group_site()
    locks = caps_for()
    first = make_plan(site, locks, NOW, TZ)
    times = []
    for index in range(repeats):
        instant: datetime = NOW + timedelta(minutes=97 * index)
        started = clock.perf_counter()
        make_plan(site, locks, instant, TZ)
        times.append((clock.perf_counter() - started) * 1000)
    return GroupsResult(
        plan_ms=times,
        placed=sum(len(held) for held in first.desired.values()),
        unplaced=len(first.unplaced),
    )


def main() -> int:
    """Run the benchmark; return the process exit code."""
    result = measure_groups()
    print(
        f"groups: full plan median {result.median:.1f} ms "
        f"(target < {GROUPS_PLAN_TARGET_MS:.0f} ms), {result.placed} codes placed, "
        f"{result.unplaced} unplaced"
    )
    return 0 if result.median < GROUPS_PLAN_TARGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())
