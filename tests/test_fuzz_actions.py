"""
Fuzzing every Keyholder action: bad input is refused cleanly and changes nothing.

Each test draws action data with Hypothesis (plausible-but-wrong and arbitrary
values, missing and extra fields) and calls the action on a running site. A
call must either succeed or be refused with a validation error (the schema's
``probatio.Invalid`` or a translated ``ServiceValidationError``); anything else
is a bug. A refused call must leave the site exactly as it was: the stored
model, what Keyholder remembers about the locks, the subentries and the codes
on the locks. An accepted call must leave a site that saves and loads back
unchanged, with every lock in sync.

``KEYHOLDER_FUZZ_EXAMPLES=2000`` runs a deeper, random search (the default of
100 examples per action, 200 for issue_key, is the same every run).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable
import copy
from dataclasses import dataclass, fields
from datetime import date, datetime, time, timedelta
import json
import os
from typing import Any
from zoneinfo import ZoneInfo

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from hypothesis import HealthCheck, event, given, note, settings, strategies as st
import probatio as vol
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.keyholder.const import DOMAIN
from custom_components.keyholder.families.virtual import VirtualLock
from custom_components.keyholder.model.passcode import validate_passcode
from custom_components.keyholder.model.serialize import site_from_dict, site_to_dict
from custom_components.keyholder.sync.runtime import KeyholderRuntime
from custom_components.keyholder.sync.state import SyncState

from .conftest import LOCK_FRONT, LOCK_GARAGE, OWNER, PLUMBER
from .helpers import P

BERLIN = ZoneInfo("Europe/Berlin")
START = datetime(2026, 12, 3, 9, 0, tzinfo=BERLIN)
EARLY = datetime(1900, 1, 1)
EXAMPLES = int(os.environ.get("KEYHOLDER_FUZZ_EXAMPLES", "100"))
DERANDOMIZE = "KEYHOLDER_FUZZ_EXAMPLES" not in os.environ
"""The suite runs the same examples each time; a deeper search runs new ones."""
REFUSALS = (ServiceValidationError, vol.Invalid)
RETURNS_RESPONSE = {
    "issue_key": True,
    "generate_passcode": True,
    "list_keys": True,
    "add_keyholder": True,
    "adopt_code": True,
}
WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]

type Draw = st.DataObject
type Build = Callable[[Draw, KeyholderRuntime], dict[str, Any]]
type Prepare = Callable[[Draw], Awaitable[None]]

# -- values --------------------------------------------------------------------

JUNK: st.SearchStrategy[Any] = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=10**18, max_value=10**40) | st.integers(max_value=-(10**18)),
    st.floats(),
    st.text(max_size=40),
    st.binary(max_size=8),
    st.lists(st.integers() | st.text(max_size=5), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
    st.datetimes(),
    st.dates(),
    st.times(),
)
"""Anything at all: wrong types, huge numbers, odd text."""


@dataclass(frozen=True, slots=True)
class Field:
    """The values of one field: ones the schema accepts, and wrong ones."""

    valid: st.SearchStrategy[Any]
    wrong: st.SearchStrategy[Any] | None = None

    def any(self) -> st.SearchStrategy[Any]:
        """Valid, plausible-but-wrong, or anything at all."""
        return st.one_of(self.valid, self.bad())

    def bad(self) -> st.SearchStrategy[Any]:
        """Plausible-but-wrong half of the time (where there are such), else junk."""
        if self.wrong is None:
            return JUNK
        return st.booleans().flatmap(
            lambda plausible: self.wrong if plausible else JUNK
        )


SITES = Field(
    st.sampled_from(["site_home", "Home"]),
    st.sampled_from(["home", "Cabin", "", " Home"]) | st.text(max_size=10),
)
KEYHOLDERS = Field(
    st.sampled_from(["Plumber", "plumber", " PLUMBER ", PLUMBER, OWNER, "Alice Owner"]),
    st.sampled_from(["Alice", "Nobody", "", " ", "Bob Boss", "kh_nobody", "Home"])
    | st.text(max_size=20),
)
LOCK_NAMES = Field(
    st.sampled_from(["Front door", "front door", " GARAGE ", "Garage", LOCK_FRONT])
    | st.sampled_from([LOCK_GARAGE, "lock.front_door", "lock.garage"]),
    st.sampled_from(["Back door", "lock.back_door", "", "sensor.plumber_status"])
    | st.sampled_from(["switch.plumber_access", "Home", "LOCK.GARAGE"])
    | st.text(max_size=20),
)
LOCKS = Field(
    st.lists(LOCK_NAMES.valid, min_size=1, max_size=3) | LOCK_NAMES.valid,
    st.lists(LOCK_NAMES.valid | LOCK_NAMES.wrong, min_size=1, max_size=4)
    | st.lists(LOCK_NAMES.valid | JUNK, max_size=3)
    | LOCK_NAMES.wrong,
)
DAYS = Field(
    st.lists(st.sampled_from(WEEKDAYS), max_size=9) | st.sampled_from(WEEKDAYS),
    st.lists(
        st.sampled_from(["Mon", "monday", "", "sun ", "1", "weekend"]) | JUNK,
        min_size=1,
        max_size=4,
    ),
)
TIMES = Field(
    st.times().map(lambda t: t.replace(microsecond=0).isoformat())
    | st.times()
    | st.sampled_from(["13:00", "17:00", "00:00", "23:59:59"]),
    st.times(timezones=st.timezones())
    | st.times(min_value=time(0, 0, 0, 1)).map(time.isoformat)
    | st.sampled_from(["24:00", "25:00", "13:60", "-1:00", "noon", "1pm", "13"])
    | st.sampled_from(["13:00+02:00", "13:00:00.5"]),
)
DATETIMES = Field(
    st.integers(min_value=-(10**8), max_value=10**8).map(
        lambda s: (START + timedelta(seconds=s)).isoformat()
    )
    | st.datetimes().map(datetime.isoformat)
    # Hypothesis takes naive bounds and adds the drawn zone.
    | st.datetimes(EARLY, datetime.max, timezones=st.timezones()).map(  # noqa: DTZ901
        datetime.isoformat
    )
    | st.datetimes(timezones=st.timezones())
    | st.datetimes()
    | st.sampled_from(
        [
            "0001-01-01T00:00:00",
            "0001-01-01T00:00:00+14:00",
            "9999-12-31T23:59:59",
            "9999-12-31T23:59:59-14:00",
            "2026-12-03T10:00:00Z",
        ]
    ),
    st.sampled_from(["2026-02-30T10:00:00", "2026-12-03 25:00", "13:00", "tomorrow"])
    | st.text(max_size=20),
)
DATES = Field(
    st.dates().map(date.isoformat)
    | st.dates()
    | st.integers(min_value=-400, max_value=400).map(
        lambda d: (START.date() + timedelta(days=d)).isoformat()
    )
    | st.sampled_from(["0001-01-01", "9999-12-31"]),
    st.datetimes()
    | st.sampled_from(["2026-13-01", "2026-12-03T10:00", "2026-12-32", "12/03/2026"]),
)
COUNTS = Field(
    st.integers(min_value=1, max_value=10_000) | st.sampled_from(["1", "3", 2.0]),
    st.integers(min_value=-5, max_value=0)
    | st.integers(min_value=10_001, max_value=10**30)
    | st.floats()
    | st.sampled_from(["0", "-1", "1.5", "1e3", "inf", "nan", "", "one", 1.5]),
)
PASSCODES = Field(
    st.text(alphabet="0123456789", min_size=4, max_size=8)
    | st.sampled_from(["2580", "8642", "9173", 918273]),
    st.text(alphabet="0123456789", max_size=12)
    | st.text(max_size=12)
    | st.integers(min_value=0, max_value=10**12)
    | st.sampled_from(["2580 ", " 2580", "12 34", "0000", "1234", "121212"])
    | st.sampled_from(
        [
            "١٢٣٤٥٦",
            "\uff11\uff12\uff13\uff14\uff15\uff16",  # fullwidth digits
            "²³⁴⁵",
            "12345678901234567890",
        ]
    ),
)
NAME_CHARACTERS = st.characters(
    exclude_categories=("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp")
)
"""Characters a name may hold (no control, format or unassigned ones)."""
TEXT = Field(
    st.text(NAME_CHARACTERS, max_size=60),
    st.text(min_size=65, max_size=400)
    | st.sampled_from(["Eve\u202egnp.exe", "a\nb", "x\x00", "\u200b"]),
)
ROLES = Field(
    st.sampled_from(["manager", "keyholder"]),
    st.sampled_from(["Manager", "admin", ""]),
)
GIVEN_NAMES = Field(
    st.sampled_from(["Carla", "Dora", "Émile", "李"])
    | st.text(NAME_CHARACTERS, min_size=1, max_size=30),
    st.sampled_from(["Plumber", "alice", "", "  ", "Eve\u202egnp.exe", "x" * 65]),
)
FAMILY_NAMES = Field(
    st.sampled_from(["Cleaner", "", "Owner", " "])
    | st.text(NAME_CHARACTERS, max_size=30),
    st.text(max_size=80),
)
EMAILS = Field(
    st.emails(),
    st.sampled_from(["a@b", "@x.y", "x y@z.de", "carla@", "a@b.c"]),
)
KINDS = Field(
    st.just("passcode"),
    st.sampled_from(["tag", "app", "PASSCODE", ""]),
)
SLOTS = Field(
    st.integers(min_value=6, max_value=10)  # where strangers' codes are
    | st.integers(min_value=1, max_value=12)
    | st.integers(min_value=10**6, max_value=10**30)  # past the lock's slots
    | st.sampled_from(["1", "7", 8.0]),
    st.integers(min_value=-3, max_value=0)
    | st.floats()
    | st.sampled_from(["0", "x", "1.5", "inf", 1.5]),
)
ENTITIES = Field(
    st.sampled_from(["lock.front_door", "lock.garage", "LOCK.GARAGE"]),
    st.sampled_from(["lock.nothing", "sensor.plumber_status", "switch.plumber_access"])
    | st.sampled_from(["sensor.front_door_sync", "lock.front_door_2"])
    | st.sampled_from(["front door", "", "lock."]),
)
ONLINE = Field(
    st.booleans() | st.sampled_from(["on", "off", "yes", "no", 1, 0, 2]),
    st.sampled_from(["maybe", "", "online"]),
)
FOREIGN_CODES = st.sampled_from(
    ["2580", "8642", "1111", "12", "123456", "abcd", "123456789012", "4711"]
) | st.text(alphabet="0123456789", min_size=4, max_size=8)
EXTRA_NAMES = st.text(max_size=12) | st.integers() | st.none() | st.booleans()
MOSTLY = st.sampled_from([True] * 15 + [False])
"""True 15 times out of 16: required fields are rarely missing."""


MODES = st.sampled_from(["clean"] * 5 + ["one wrong"] * 3 + ["wild"] * 2)


def payload(
    data: Draw,
    required: dict[str, Field],
    optional: dict[str, Field],
    *,
    site: bool = True,
    together: tuple[str, ...] = (),
) -> dict[str, Any]:
    """
    Draw action data.

    Clean calls draw every field from what the schema accepts (combinations may
    still be wrong); others put one wrong value in, or go wild on every field.
    Required fields are rarely missing; an unknown field is rarely added. The
    fields named in ``together`` mostly come all or none.
    """
    mode = data.draw(MODES, label="mode")
    fields = {**required, **({"config_entry_id": SITES} if site else {}), **optional}
    present = [
        name
        for name in fields
        if data.draw(MOSTLY if name in required else st.booleans(), label=name)
    ]
    if data.draw(MOSTLY, label="together") and set(present) & set(together):
        present += [name for name in together if name not in present]
    pick = data.draw(st.integers(min_value=0, max_value=len(fields)), label="wrong")
    wrong = present[pick % len(present)] if mode == "one wrong" and present else None
    result: dict[str, Any] = {}
    for name in present:
        values = fields[name]
        if mode == "wild":
            strategy = values.any()
        elif name == wrong:
            strategy = values.bad()
        else:
            strategy = values.valid
        result[name] = data.draw(strategy, label=name)
    if not data.draw(MOSTLY, label="no extra field"):
        result[data.draw(EXTRA_NAMES, label="extra")] = data.draw(JUNK)
    return result


# -- the site --------------------------------------------------------------------


def snapshot(hass: HomeAssistant, entry: MockConfigEntry) -> dict[str, Any]:
    """Everything an action may change: model, lock memories, subentries, codes."""
    runtime: KeyholderRuntime = entry.runtime_data
    current = hass.config_entries.async_get_entry(entry.entry_id)
    assert current is not None
    return copy.deepcopy(
        {
            "site": site_to_dict(runtime.site),
            # What Keyholder remembers about the locks (written, virtual, ...).
            "memories": {
                memory.name: getattr(runtime.data, memory.name)
                for memory in fields(runtime.data)
                if memory.name != "site"
            },
            "subentries": {
                sid: (sub.subentry_type, sub.title, dict(sub.data))
                for sid, sub in current.subentries.items()
            },
            "locks": {
                lock_id: (dict(info.provider.codes), info.provider.online)
                for lock_id, info in runtime.locks.items()
                if isinstance(info.provider, VirtualLock)
            },
        }
    )


def check_site(runtime: KeyholderRuntime, *, offline_ok: bool = False) -> None:
    """An accepted action leaves a site that saves, loads back and is in sync."""
    stored = site_to_dict(runtime.site)
    json.dumps(stored)
    loaded = site_from_dict(stored)
    for group in runtime.site.groups.values():  # groups live in subentries
        loaded.put_group(group)
    assert loaded == runtime.site
    for lock_id, info in runtime.locks.items():
        provider = info.provider
        assert isinstance(provider, VirtualLock)
        if offline_ok and not provider.online:
            continue
        status = runtime.lock_status[lock_id]
        # In sync, or holding all it can while keys that do not fit are reported
        # (the fuzzed site fills its 10 slots).
        assert status.state in (SyncState.IN_SYNC, SyncState.INCOMPLETE), (
            info.name,
            status,
        )
        assert status.confirmed == status.desired, (info.name, status)
        if status.state is SyncState.INCOMPLETE:
            assert status.not_fitting > 0, (info.name, status)
        caps = provider.capabilities
        for slot, code in provider.codes.items():
            if slot in runtime.data.written.get(lock_id, {}):
                assert (
                    validate_passcode(code, pin_min=caps.pin_min, pin_max=caps.pin_max)
                    is None
                ), (info.name, slot)


class Fuzzer:
    """Calls one action with drawn data and checks what happened."""

    def __init__(self, hass: HomeAssistant, entry: MockConfigEntry) -> None:
        """Fuzz the actions of a loaded site."""
        self.hass = hass
        self.entry = entry
        self.outcomes: Counter[str] = Counter()

    @property
    def runtime(self) -> KeyholderRuntime:
        """Return the site's runtime."""
        runtime: KeyholderRuntime = self.entry.runtime_data
        return runtime

    async def call(self, action: str, data: dict[str, Any]) -> Any:
        """Call an action as an admin would, and let everything settle."""
        result = await self.hass.services.async_call(
            DOMAIN,
            action,
            data,
            blocking=True,
            return_response=RETURNS_RESPONSE.get(action, False),
        )
        await self.hass.async_block_till_done()
        return result

    def run(
        self,
        action: str,
        build: Build,
        prepare: Prepare | None = None,
        *,
        examples: int = EXAMPLES,
        offline_ok: bool = False,
    ) -> Counter[str]:
        """Run ``examples`` drawn calls of ``action``; return their outcomes."""

        async def one(data: Draw) -> None:
            if prepare is not None:
                await prepare(data)
            call_data = build(data, self.runtime)
            note(f"{action}: {call_data!r}")
            before = snapshot(self.hass, self.entry)
            try:
                await self.call(action, call_data)
            except REFUSALS as err:
                await self.hass.async_block_till_done()
                outcome = (
                    "refused: schema"
                    if isinstance(err, vol.Invalid)
                    else f"refused: {err.translation_key}"
                )
                assert snapshot(self.hass, self.entry) == before, outcome
            else:
                outcome = "accepted"
                check_site(self.runtime, offline_ok=offline_ok)
            event(outcome)
            self.outcomes[outcome] += 1

        @settings(
            max_examples=examples,
            derandomize=DERANDOMIZE,
            deadline=None,
            database=None,
            suppress_health_check=[
                HealthCheck.function_scoped_fixture,
                HealthCheck.too_slow,
                HealthCheck.data_too_large,
            ],
        )
        @given(data=st.data())
        def fuzz(data: Draw) -> None:
            self.hass.loop.run_until_complete(one(data))

        self.outcomes.clear()
        fuzz()
        # Shown with ``pytest -s``: what the search reached.
        print(f"{action}: {sum(self.outcomes.values())} examples", self.outcomes)  # noqa: T201
        return self.outcomes


@pytest.fixture
def fuzzer(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    berlin: None,
    site_entry: MockConfigEntry,
) -> Fuzzer:
    """A loaded site at a fixed time (no schedule edge passes while fuzzing)."""
    freezer.move_to(START)
    site_entry.add_to_hass(hass)
    assert hass.loop.run_until_complete(
        hass.config_entries.async_setup(site_entry.entry_id)
    )
    hass.loop.run_until_complete(hass.async_block_till_done())
    return Fuzzer(hass, site_entry)


def assert_explored(outcomes: Counter[str], *refusals: str) -> None:
    """The search reached both success and the refusals that matter."""
    assert outcomes["accepted"], outcomes
    assert outcomes["refused: schema"], outcomes
    for refusal in refusals:
        assert outcomes[f"refused: {refusal}"], (refusal, outcomes)


# -- the actions -------------------------------------------------------------------


async def _ensure_keys(fuzz: Fuzzer, data: Draw) -> None:
    """Give the plumber a few keys to act on (some on both locks)."""
    site = fuzz.runtime.site
    holders = {h.name for h in site.keyholders.values()}
    if "Plumber" not in holders:
        await fuzz.call("add_keyholder", {"given_name": "Plumber"})
    live = [k for k in site.keys.values() if not k.cancelled]
    locks = data.draw(st.sampled_from([["Front door"], ["Front door", "Garage"]]))
    if len(live) < 3:
        await fuzz.call("issue_key", {"keyholder": "Plumber", "locks": locks})


def key_ids(data: Draw, runtime: KeyholderRuntime) -> Field:
    """The site's key ids (cancelled ones too), and made-up ones."""
    # Draw as many values whatever the site holds, so replays draw alike.
    pick = data.draw(st.integers(min_value=0, max_value=2**16), label="key pick")
    known = sorted(runtime.site.keys) or ["nokey"]
    chosen = known[pick % len(known)]
    return Field(st.just(chosen), st.text(max_size=32) | st.just(chosen.upper()))


def test_fuzz_issue_key(fuzzer: Fuzzer) -> None:
    def build(data: Draw, _runtime: KeyholderRuntime) -> dict[str, Any]:
        return payload(
            data,
            {"keyholder": KEYHOLDERS, "locks": LOCKS},
            {
                "kind": KINDS,
                "weekdays": DAYS,
                "start_time": TIMES,
                "end_time": TIMES,
                "valid_from": DATETIMES,
                "valid_until": DATETIMES,
                "uses": COUNTS,
                "passcode": PASSCODES,
                "tag": TEXT,
                "name": TEXT,
            },
            together=("start_time", "end_time"),
        )

    outcomes = fuzzer.run("issue_key", build, examples=EXAMPLES * 2)
    assert_explored(outcomes, "unknown_keyholder", "unknown_lock")


def test_fuzz_cancel_key(fuzzer: Fuzzer) -> None:
    async def prepare(data: Draw) -> None:
        await _ensure_keys(fuzzer, data)

    def build(data: Draw, runtime: KeyholderRuntime) -> dict[str, Any]:
        return payload(data, {"key_id": key_ids(data, runtime)}, {})

    outcomes = fuzzer.run("cancel_key", build, prepare)
    assert_explored(outcomes, "unknown_key")


def test_fuzz_generate_passcode(fuzzer: Fuzzer) -> None:
    async def prepare(data: Draw) -> None:
        await _ensure_keys(fuzzer, data)

    def build(data: Draw, runtime: KeyholderRuntime) -> dict[str, Any]:
        return payload(
            data, {"key_id": key_ids(data, runtime)}, {"passcode": PASSCODES}
        )

    outcomes = fuzzer.run("generate_passcode", build, prepare)
    assert_explored(outcomes, "unknown_key")


async def _ensure_people(fuzz: Fuzzer, data: Draw) -> None:
    """Keep a plumber with a key, and sometimes a second manager."""
    await _ensure_keys(fuzz, data)
    holders = {h.name for h in fuzz.runtime.site.keyholders.values()}
    add_manager = data.draw(st.booleans(), label="add manager")
    if "Bob Boss" not in holders and add_manager:
        await fuzz.call(
            "add_keyholder",
            {"given_name": "Bob", "family_name": "Boss", "role": "manager"},
        )


@pytest.mark.parametrize("action", ["block_user", "unblock_user", "remove_keyholder"])
def test_fuzz_keyholder_actions(fuzzer: Fuzzer, action: str) -> None:
    async def prepare(data: Draw) -> None:
        await _ensure_people(fuzzer, data)

    def build(data: Draw, _runtime: KeyholderRuntime) -> dict[str, Any]:
        return payload(data, {"keyholder": KEYHOLDERS}, {})

    outcomes = fuzzer.run(action, build, prepare)
    assert_explored(outcomes, "unknown_keyholder")


def test_fuzz_list_keys(fuzzer: Fuzzer) -> None:
    async def prepare(data: Draw) -> None:
        await _ensure_keys(fuzzer, data)

    def build(data: Draw, _runtime: KeyholderRuntime) -> dict[str, Any]:
        return payload(data, {}, {"keyholder": KEYHOLDERS})

    outcomes = fuzzer.run("list_keys", build, prepare)
    assert_explored(outcomes, "unknown_keyholder")


def test_fuzz_add_keyholder(fuzzer: Fuzzer) -> None:
    def build(data: Draw, _runtime: KeyholderRuntime) -> dict[str, Any]:
        return payload(
            data,
            {"given_name": GIVEN_NAMES},
            {
                "family_name": FAMILY_NAMES,
                "email": EMAILS,
                "role": ROLES,
                "active_from": DATETIMES,
                "expires_on": DATES,
            },
        )

    outcomes = fuzzer.run("add_keyholder", build)
    assert_explored(outcomes, "keyholder_keyholder_exists")


def test_fuzz_adopt_code(fuzzer: Fuzzer) -> None:
    async def prepare(data: Draw) -> None:
        await _ensure_keys(fuzzer, data)
        # Someone else sets codes at the keypad, in slots Keyholder does not use.
        runtime = fuzzer.runtime
        for lock_id in (LOCK_FRONT, LOCK_GARAGE):
            provider = runtime.locks[lock_id].provider
            assert isinstance(provider, VirtualLock)
            slot = data.draw(st.integers(6, 10), label="foreign slot")
            code = data.draw(FOREIGN_CODES, label="foreign code")
            if data.draw(st.booleans()) and P(slot) not in provider.codes:
                provider.codes[P(slot)] = code

    def build(data: Draw, _runtime: KeyholderRuntime) -> dict[str, Any]:
        return payload(
            data,
            {"keyholder": KEYHOLDERS, "lock": LOCK_NAMES, "slot": SLOTS},
            {"name": TEXT},
        )

    outcomes = fuzzer.run("adopt_code", build, prepare, examples=EXAMPLES * 2)
    assert_explored(outcomes, "slot_empty", "unknown_keyholder")


def test_fuzz_set_lock_online(fuzzer: Fuzzer) -> None:
    def build(data: Draw, _runtime: KeyholderRuntime) -> dict[str, Any]:
        return payload(data, {"entity_id": ENTITIES, "online": ONLINE}, {}, site=False)

    outcomes = fuzzer.run("set_lock_online", build, offline_ok=True)
    assert_explored(outcomes, "not_a_virtual_lock")


GROUPS = Field(
    st.sampled_from(["Cleaners", "cleaners", " CLEANERS "]),
    st.sampled_from(["Gardeners", "Gardeners", "Nobody", ""]) | st.text(max_size=20),
)
SCHEDULE_FIELDS = {
    "weekdays": DAYS,
    "start_time": TIMES,
    "end_time": TIMES,
    "valid_from": DATETIMES,
    "valid_until": DATETIMES,
}


async def _ensure_group(fuzz: Fuzzer, data: Draw) -> None:
    """Keep the plumber with a key, and a group "Cleaners" on the front door."""
    await _ensure_keys(fuzz, data)
    if not any(g.name == "Cleaners" for g in fuzz.runtime.site.groups.values()):
        await fuzz.call("create_group", {"name": "Cleaners", "locks": ["Front door"]})


def test_fuzz_create_group(fuzzer: Fuzzer) -> None:
    async def prepare(data: Draw) -> None:
        await _ensure_group(fuzzer, data)

    def build(data: Draw, _runtime: KeyholderRuntime) -> dict[str, Any]:
        names = Field(TEXT.valid, TEXT.wrong | GROUPS.valid)
        return payload(
            data,
            {"name": names, "locks": LOCKS},
            SCHEDULE_FIELDS,
            together=("start_time", "end_time"),
        )

    outcomes = fuzzer.run("create_group", build, prepare, examples=EXAMPLES * 2)
    assert_explored(outcomes, "group_name_taken", "unknown_lock")


@pytest.mark.parametrize("action", ["add_to_group", "remove_from_group"])
def test_fuzz_memberships(fuzzer: Fuzzer, action: str) -> None:
    async def prepare(data: Draw) -> None:
        await _ensure_group(fuzzer, data)
        if action == "remove_from_group" and data.draw(st.booleans(), label="join"):
            await fuzz_join(fuzzer)

    def build(data: Draw, _runtime: KeyholderRuntime) -> dict[str, Any]:
        optional = SCHEDULE_FIELDS if action == "add_to_group" else {}
        return payload(
            data,
            {"keyholder": KEYHOLDERS, "group": GROUPS},
            optional,
            together=("start_time", "end_time"),
        )

    outcomes = fuzzer.run(action, build, prepare, examples=EXAMPLES * 2)
    assert_explored(outcomes, "unknown_group", "unknown_keyholder")


async def fuzz_join(fuzz: Fuzzer) -> None:
    """Make the plumber a member of the Cleaners (again)."""
    await fuzz.call("add_to_group", {"keyholder": "Plumber", "group": "Cleaners"})


@pytest.mark.parametrize("action", ["grant_access", "revoke_access"])
def test_fuzz_personal_access(fuzzer: Fuzzer, action: str) -> None:
    async def prepare(data: Draw) -> None:
        await _ensure_keys(fuzzer, data)

    def build(data: Draw, _runtime: KeyholderRuntime) -> dict[str, Any]:
        if action == "grant_access":
            return payload(
                data,
                {"keyholder": KEYHOLDERS, "locks": LOCKS},
                SCHEDULE_FIELDS,
                together=("start_time", "end_time"),
            )
        return payload(data, {"keyholder": KEYHOLDERS}, {"locks": LOCKS})

    outcomes = fuzzer.run(action, build, prepare)
    assert_explored(outcomes, "unknown_keyholder", "unknown_lock")
