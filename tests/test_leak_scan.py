"""
After a full scenario, no PIN is anywhere a user, a log or a frontend can see.

Searched: entity states and attributes, every bus event, every row of every
table of the recorder's SQLite file (written by Home Assistant's real recorder)
and the file's raw bytes, every log line at debug level, diagnostics, the
websocket answers a frontend asks for, the calendar's REST answer,
``list_keys``'s answer and every storage file except Keyholder's own private
store (which holds the codes on purpose, to write them to locks again).

Two kinds of PIN are searched for:

- *Secret* PINs never pass through Home Assistant as anyone's input: passcodes
  Keyholder generates (returned once, in the action's response, which is the
  one place they belong and is not searched) and a code adopted from a lock.
  They must appear nowhere, not even in Home Assistant's record of action calls.
- *Given* PINs are typed into an action by the caller: an own ``passcode`` for
  ``keyholder.issue_key``/``generate_passcode``, or a ``code`` for
  ``lock.unlock``/``lock.open``. Home Assistant itself records the data of
  every action call (the ``call_service`` event, kept by the recorder and
  repeated by its debug logs), as the README says. For these PINs, and only for
  them, exactly that record is skipped: the ``code``/``passcode`` field of those
  ``call_service`` events, and the log lines in which Home Assistant's event
  bus, recorder, websocket API or database driver repeat such an event or
  command. Everywhere else they must not appear either.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
import json
import logging
from pathlib import Path
import re
import sqlite3
from typing import Any
from zoneinfo import ZoneInfo

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.recorder.core import Recorder
from homeassistant.config_entries import ConfigSubentryData
from homeassistant.const import EVENT_CALL_SERVICE, EVENT_LOGGING_CHANGED, MATCH_ALL
from homeassistant.core import Event, HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import CLIENT_ID, MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)
from pytest_homeassistant_custom_component.typing import (
    ClientSessionGenerator,
    MockHAClientWebSocket,
    WebSocketGenerator,
)

from custom_components.keyholder.const import DOMAIN, LOGGER

from .conftest import LOCK_GARAGE
from .helpers import P, issue, move_to

BERLIN = ZoneInfo("Europe/Berlin")
THURSDAY = datetime(2026, 12, 3, 9, 0, tzinfo=BERLIN)

# Every PIN here has 8 digits (the virtual locks' maximum): a shorter one could
# turn up by chance inside the many hex and base-32 ids of a full scenario.
PIN_LENGTH = 8
# Codes a caller types.
OWN_PASSCODE = "58392071"
OWN_REGENERATED = "61739402"
WRONG_CODE = "40917365"
# A code someone set on the garage keypad by hand; Keyholder adopts it.
FOUND_ON_LOCK = "72946183"


@pytest.fixture
def site_entry(site_entry: MockConfigEntry) -> MockConfigEntry:
    """The shared site, generating 8-digit passcodes."""
    return MockConfigEntry(
        domain=site_entry.domain,
        entry_id=site_entry.entry_id,
        title=site_entry.title,
        data={**site_entry.data, "passcode_length": PIN_LENGTH},
        subentries_data=[
            ConfigSubentryData(
                data=sub.data,
                subentry_id=sub.subentry_id,
                subentry_type=sub.subentry_type,
                title=sub.title,
                unique_id=sub.unique_id,
            )
            for sub in site_entry.subentries.values()
        ],
    )


# The action fields in which a caller hands Home Assistant a PIN.
INPUT_FIELDS = {
    (DOMAIN, "issue_key"): "passcode",
    (DOMAIN, "generate_passcode"): "passcode",
    ("lock", "unlock"): "code",
    ("lock", "open"): "code",
}
# Log lines in which Home Assistant repeats an action call it handles: logger,
# then the start of the message.
INPUT_ECHOES = {
    "homeassistant.core": f"Bus:Handling <Event {EVENT_CALL_SERVICE}[",
    "homeassistant.components.recorder.core": (
        f"Processing task: <Event {EVENT_CALL_SERVICE}["
    ),
}
# The test harness's in-memory Store logs what it saves (Home Assistant's real
# Store does not): that is Keyholder's private store file, allowed to hold codes.
HARNESS_STORE_LOGGER = "pytest_homeassistant_custom_component.common"


@pytest.fixture
def persistent_database() -> bool:
    """Give the recorder a real SQLite file in a temporary folder."""
    return True


@pytest.fixture
def mock_recorder_before_hass(async_test_recorder: Any) -> None:
    """
    Prepare the recorder's database before Home Assistant starts.

    The harness refuses to create it once ``hass`` exists, and the autouse
    custom-integrations fixture would otherwise start ``hass`` first.
    """


def whole(pin: str) -> re.Pattern[str]:
    """
    Match ``pin`` as a whole number.

    Not inside a longer run of digits, nor as the fraction of a number (the
    microseconds of a timestamp taken from the real clock).
    """
    return re.compile(rf"(?<![\d.]){re.escape(pin)}(?!\d)")


@dataclass
class Haystack:
    """Texts from every surface: all of them, and those outside records of input."""

    everything: dict[str, list[str]] = field(default_factory=dict)
    outside_input: dict[str, list[str]] = field(default_factory=dict)

    def add(self, surface: str, text: str, *, input_record: bool = False) -> None:
        """Add a text; a record of a caller's input is searched for secret PINs only."""
        self.add_stripped(surface, text, None if input_record else text)

    def add_stripped(self, surface: str, raw: str, stripped: str | None) -> None:
        """Add a text, and what of it is searched for given PINs."""
        self.everything.setdefault(surface, []).append(raw)
        self.outside_input.setdefault(surface, [])
        if stripped is not None:
            self.outside_input[surface].append(stripped)

    @staticmethod
    def _find(texts: dict[str, list[str]], pin: str) -> list[tuple[str, str]]:
        pattern = whole(pin)
        found = []
        for surface, items in texts.items():
            for text in items:
                for match in pattern.finditer(text):
                    start = max(match.start() - 150, 0)
                    found.append((surface, text[start : match.end() + 150]))
        return found

    def find_secret(self, pin: str) -> list[tuple[str, str]]:
        """Return (surface, context) of every place a secret PIN appears."""
        return self._find(self.everything, pin)

    def find_given(self, pin: str) -> list[tuple[str, str]]:
        """Return where a given PIN appears outside Home Assistant's records of input."""
        return self._find(self.outside_input, pin)

    def surfaces_with(self, text: str) -> set[str]:
        """Return the surfaces in which ``text`` appears."""
        return {
            surface
            for surface, items in self.everything.items()
            if any(text in item for item in items)
        }

    def size(self) -> tuple[int, int]:
        """Return how many texts and characters were collected."""
        texts = [text for items in self.everything.values() for text in items]
        return len(texts), sum(map(len, texts))


def strip_input(data: dict[str, Any]) -> dict[str, Any] | None:
    """
    Return a call_service event's data without the PIN field a caller typed.

    None when the call is not one that carries a PIN (nothing is stripped).
    """
    field_name = INPUT_FIELDS.get((data.get("domain", ""), data.get("service", "")))
    service_data = data.get("service_data")
    if field_name is None or not isinstance(service_data, dict):
        return None
    kept = {k: v for k, v in service_data.items() if k != field_name}
    return {**data, "service_data": kept}


def is_input_echo(record: logging.LogRecord) -> bool:
    """Tell whether a log line is Home Assistant repeating an action call."""
    message = record.getMessage()
    if (start := INPUT_ECHOES.get(record.name)) is not None:
        return message.startswith(start)
    if record.name.startswith("homeassistant.components.websocket_api"):
        # "<connection>: Received {'type': 'call_service', ...}"
        return f": Received {{'type': '{EVENT_CALL_SERVICE}'" in message
    if record.name.startswith("sqlalchemy.engine"):
        # The parameters of the recorder's insert of call_service event data.
        return '"service_data":{' in message and '{"domain":"' in message
    return False


def database_rows(path: Path) -> Iterable[tuple[str, dict[str, str]]]:
    """Yield (table, row as column -> text) for every row of every table."""
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        tables = [
            name
            for (name,) in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'"
            )
        ]
        for table in tables:
            cursor = db.execute(f'SELECT * FROM "{table}"')  # noqa: S608
            columns = [d[0] for d in cursor.description]
            for row in cursor:
                yield (
                    table,
                    {
                        column: value.decode("latin-1")
                        if isinstance(value, bytes)
                        else str(value)
                        for column, value in zip(columns, row, strict=True)
                    },
                )


def call_service_data_ids(path: Path) -> set[str]:
    """Return the ids of the event_data rows of call_service events."""
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        rows = db.execute(
            "SELECT DISTINCT events.data_id FROM events"
            " JOIN event_types ON events.event_type_id = event_types.event_type_id"
            " WHERE event_types.event_type = ?",
            (EVENT_CALL_SERVICE,),
        )
        return {str(data_id) for (data_id,) in rows if data_id is not None}


def add_database(haystack: Haystack, path: Path) -> int:
    """Add every row of the recorder's database and its raw bytes; count rows."""
    input_data = call_service_data_ids(path)
    rows = 0
    for table, row in database_rows(path):
        rows += 1
        raw = json.dumps(row)
        stripped = None
        if table == "event_data" and row["data_id"] in input_data:
            stripped = strip_input(json.loads(row["shared_data"]))
        if stripped is None:
            haystack.add(f"recorder:{table}", raw)
        else:
            shared = json.dumps(stripped, separators=(",", ":"))
            haystack.add_stripped(
                f"recorder:{table}", raw, json.dumps({**row, "shared_data": shared})
            )
    # Free pages and the write-ahead log can keep what the rows no longer show;
    # bytes cannot be stripped, so only secret PINs are searched there.
    for file in (path, path.with_name(path.name + "-wal")):
        if file.exists():
            text = file.read_bytes().decode("latin-1")
            haystack.add("recorder:file bytes", text, input_record=True)
    return rows


def add_events(haystack: Haystack, events: list[Event]) -> None:
    """Add every bus event (type, data, context)."""
    for event in events:
        raw = json.dumps(event.as_dict(), default=str)
        stripped = None
        if event.event_type == EVENT_CALL_SERVICE:
            stripped = strip_input(dict(event.data))
        if stripped is None:
            haystack.add("bus", raw)
        else:
            kept = json.dumps({**event.as_dict(), "data": stripped}, default=str)
            haystack.add_stripped("bus", raw, kept)


def add_logs(haystack: Haystack, records: list[logging.LogRecord]) -> None:
    """Add every log line, with its traceback, but the harness's store dumps."""
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    for record in records:
        if record.name != HARNESS_STORE_LOGGER:
            text = formatter.format(record)
            haystack.add("logs", text, input_record=is_input_echo(record))


async def fresh_token(hass: HomeAssistant) -> str:
    """Return an administrator's access token valid at the (frozen) time."""
    admin = next(u for u in await hass.auth.async_get_users() if u.is_admin)
    refresh = await hass.auth.async_create_refresh_token(admin, CLIENT_ID)
    return hass.auth.async_create_access_token(refresh)


class Frontend:
    """
    A websocket client that keeps every message it receives.

    Time travel fires the connection's own timers too, so after the clock moved
    it signs in again, with a token valid at the frozen time.
    """

    def __init__(self, hass: HomeAssistant, connect: WebSocketGenerator) -> None:
        """Prepare a client for ``hass``."""
        self.hass = hass
        self._connect = connect
        self._client: MockHAClientWebSocket | None = None
        self.payloads: list[str] = []

    async def connect(self) -> None:
        """Open a new signed-in connection."""
        await self.close()
        self._client = await self._connect(self.hass, await fresh_token(self.hass))

    async def close(self) -> None:
        """Close the connection, if open."""
        if self._client is not None:
            await self._client.close()
            self._client = None

    async def ask(self, msg: dict[str, Any]) -> dict[str, Any]:
        """Send a command and return its answer (kept as JSON text)."""
        assert self._client is not None
        await self._client.send_json_auto_id(msg)
        return await self.receive()

    async def receive(self) -> dict[str, Any]:
        """Receive one message (kept as JSON text)."""
        assert self._client is not None
        answer: dict[str, Any] = await self._client.receive_json()
        self.payloads.append(json.dumps(answer))
        return answer


@dataclass
class Setup:
    """Home Assistant with the recorder, the frontend's backends and the site."""

    hass: HomeAssistant
    entry: MockConfigEntry
    frontend: Frontend
    events: list[Event]
    db_path: Path


@pytest.fixture
async def setup(
    recorder_mock: Recorder,
    recorder_db_url: str,
    hass: HomeAssistant,
    hass_ws_client: WebSocketGenerator,
    freezer: FrozenDateTimeFactory,
    berlin: None,
    site_entry: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> AsyncGenerator[Setup]:
    """Start what a frontend talks to, log at debug level, set up the site."""
    assert recorder_db_url.startswith("sqlite:///")
    db_path = Path(recorder_db_url.removeprefix("sqlite:///"))
    freezer.move_to(THURSDAY)
    # As the logger integration does: everything at debug level, and Home
    # Assistant's bus and websocket API told so they log what they handle.
    caplog.set_level(logging.DEBUG)
    hass.bus.async_fire(EVENT_LOGGING_CHANGED)
    events: list[Event] = []
    hass.bus.async_listen(MATCH_ALL, events.append)
    for component in (
        "http",
        "websocket_api",
        "config",
        "logbook",
        "history",
        "search",
        "diagnostics",
        "repairs",
        "system_log",
    ):
        assert await async_setup_component(hass, component, {})
    site_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(site_entry.entry_id)
    await hass.async_block_till_done()
    frontend = Frontend(hass, hass_ws_client)
    await frontend.connect()
    yield Setup(hass, site_entry, frontend, events, db_path)
    await frontend.close()


async def _access_scenario(setup: Setup) -> list[str]:
    """
    A group; a cleaner added through the flow (code shown once); a group member
    given a key that follows her access; the group's hours moved.

    Return the generated PINs.
    """
    hass, entry = setup.hass, setup.entry
    await hass.services.async_call(
        DOMAIN,
        "create_group",
        {
            "name": "Cleaners",
            "locks": ["Front door"],
            "weekdays": ["thu"],
            "start_time": "08:00",
            "end_time": "18:00",
        },
        blocking=True,
        return_response=True,
    )
    group_id = next(
        sid for sid, sub in entry.subentries.items() if sub.title == "Cleaners"
    )
    flows = hass.config_entries.subentries
    result = await flows.async_init(
        (entry.entry_id, "keyholder"), context={"source": "user"}
    )
    for step in (
        {"given_name": "Carla", "role": "keyholder"},
        {"groups": [group_id]},
        {"key": "generate"},
    ):
        result = await flows.async_configure(result["flow_id"], step)
    assert result["reason"] == "keyholder_added"
    await hass.services.async_call(
        DOMAIN,
        "add_to_group",
        {"keyholder": "Alice Owner", "group": "Cleaners"},
        blocking=True,
    )
    follows = await hass.services.async_call(
        DOMAIN,
        "issue_key",
        {"keyholder": "Alice Owner"},  # no locks: it follows her access
        blocking=True,
        return_response=True,
    )
    assert isinstance(follows, dict)
    await hass.services.async_call(
        DOMAIN,
        "update_group",
        {"group": "Cleaners", "start_time": "09:00", "end_time": "17:00"},
        blocking=True,
    )
    return [result["description_placeholders"]["code"], follows["passcode"]]


async def run_scenario(
    setup: Setup, freezer: FrozenDateTimeFactory
) -> tuple[list[str], list[str]]:
    """
    Issue, use, replace, adopt, block, cancel; let schedule edges pass.

    Return the secret PINs and the given PINs.
    """
    hass, frontend = setup.hass, setup.frontend
    secret: list[str] = []
    given = [OWN_PASSCODE, OWN_REGENERATED, WRONG_CODE]

    both_doors = await issue(hass, locks=["Front door", "Garage"])
    own = await issue(hass, passcode=OWN_PASSCODE, name="Own code")
    assert own["passcode"] == OWN_PASSCODE
    thursdays = await issue(
        hass,
        keyholder="Alice Owner",
        weekdays=["thu"],
        start_time="13:00",
        end_time="17:00",
        valid_until=(THURSDAY + timedelta(days=14)).isoformat(),
    )
    once = await issue(hass, uses=1, locks=["Garage"])
    secret += [both_doors["passcode"], thursdays["passcode"]]

    # At the keypad, as the frontend's lock dialog sends it: right and wrong.
    for code, opens in ((OWN_PASSCODE, True), (WRONG_CODE, False)):
        answer = await frontend.ask(
            {
                "type": "call_service",
                "domain": "lock",
                "service": "unlock",
                "service_data": {"code": code},
                "target": {"entity_id": "lock.front_door"},
            }
        )
        assert answer["success"] is opens, answer
    # The one-time code opens the garage once; typed in, it is the caller's input.
    given.append(once["passcode"])
    await hass.services.async_call(
        "lock",
        "open",
        {"entity_id": "lock.garage", "code": once["passcode"]},
        blocking=True,
    )
    with pytest.raises(HomeAssistantError):
        await hass.services.async_call(
            "lock",
            "unlock",
            {"entity_id": "lock.garage", "code": once["passcode"]},
            blocking=True,
        )

    # A leaked code is replaced: by a generated one, and by one of the owner's.
    regenerated = await hass.services.async_call(
        DOMAIN,
        "generate_passcode",
        {"key_id": both_doors["key_id"]},
        blocking=True,
        return_response=True,
    )
    assert isinstance(regenerated, dict)
    secret.append(str(regenerated["passcode"]))
    await hass.services.async_call(
        DOMAIN,
        "generate_passcode",
        {"key_id": own["key_id"], "passcode": OWN_REGENERATED},
        blocking=True,
        return_response=True,
    )

    # A code set on the garage keypad by hand, taken over by Keyholder.
    setup.entry.runtime_data.locks[LOCK_GARAGE].provider.codes[P(9)] = FOUND_ON_LOCK
    secret.append(FOUND_ON_LOCK)
    await hass.services.async_call(
        DOMAIN,
        "adopt_code",
        {"keyholder": "Alice Owner", "lock": "Garage", "slot": 9, "name": "Found"},
        blocking=True,
        return_response=True,
    )

    # Vacation; then a lock drops off while a key is issued (a repair issue).
    for action in ("block_user", "unblock_user"):
        await hass.services.async_call(
            DOMAIN, action, {"keyholder": "Plumber"}, blocking=True
        )
    await hass.services.async_call(
        DOMAIN,
        "set_lock_online",
        {"entity_id": "lock.front_door", "online": False},
        blocking=True,
    )
    while_offline = await issue(hass, name="While offline")
    secret.append(while_offline["passcode"])
    for minutes in (1, 2, 4):
        await move_to(hass, freezer, THURSDAY + timedelta(minutes=minutes))
    await frontend.connect()
    repairs = await frontend.ask({"type": "repairs/list_issues"})
    assert [i for i in repairs["result"]["issues"] if i["domain"] == DOMAIN]
    await hass.services.async_call(
        DOMAIN,
        "set_lock_online",
        {"entity_id": "lock.front_door", "online": True},
        blocking=True,
    )

    secret += await _access_scenario(setup)
    await hass.services.async_call(
        DOMAIN, "cancel_key", {"key_id": own["key_id"]}, blocking=True
    )
    # The Thursday window opens and closes.
    for hour in (13, 17):
        await move_to(hass, freezer, THURSDAY.replace(hour=hour))
    assert len(set(secret + given)) == len(secret + given)
    assert {len(pin) for pin in secret + given} == {PIN_LENGTH}
    return secret, given


@dataclass
class Collected:
    """What every surface held, and how much of it there was."""

    haystack: Haystack
    recorder_rows: int
    websocket_payloads: int


async def collect(
    setup: Setup,
    hass_client: ClientSessionGenerator,
    caplog: pytest.LogCaptureFixture,
    hass_storage: dict[str, Any],
) -> Collected:
    """Ask every surface what it holds, stop Home Assistant, read what it left."""
    hass, frontend, entry = setup.hass, setup.frontend, setup.entry
    haystack = Haystack()
    await async_wait_recording_done(hass)

    haystack.add(
        "states",
        json.dumps([s.as_dict() for s in hass.states.async_all()], default=str),
    )
    listed = await hass.services.async_call(
        DOMAIN, "list_keys", {}, blocking=True, return_response=True
    )
    haystack.add("list_keys response", json.dumps(listed))
    signed_in = partial(hass_client, await fresh_token(hass))
    haystack.add(
        "diagnostics",
        json.dumps(await get_diagnostics_for_config_entry(hass, signed_in, entry)),
    )
    start, end = THURSDAY - timedelta(days=1), THURSDAY + timedelta(days=8)
    answer = await (await signed_in()).get(
        "/api/calendars/calendar.home_access",
        params={"start": start.isoformat(), "end": end.isoformat()},
    )
    assert answer.status == 200
    haystack.add("calendar REST", await answer.text())

    await frontend.connect()
    entity_ids = sorted(hass.states.async_entity_ids())
    devices = await frontend.ask({"type": "config/device_registry/list"})
    door = next(d["id"] for d in devices["result"] if d["name"] == "Front door")
    for msg in (
        {"type": "get_states"},
        {"type": "config_entries/get", "domain": DOMAIN},
        {"type": "config_entries/subentries/list", "entry_id": entry.entry_id},
        {"type": "config/entity_registry/list"},
        {"type": "logbook/get_events", "start_time": start.isoformat()},
        {
            "type": "history/history_during_period",
            "start_time": start.isoformat(),
            "entity_ids": entity_ids,
            "significant_changes_only": False,
        },
        {
            "type": "search/related",
            "item_type": "config_entry",
            "item_id": entry.entry_id,
        },
        {"type": "search/related", "item_type": "device", "item_id": door},
        {"type": "search/related", "item_type": "entity", "item_id": "lock.front_door"},
        {"type": "diagnostics/list"},
        {"type": "diagnostics/get", "domain": DOMAIN},
        {"type": "repairs/list_issues"},
        {"type": "system_log/list"},
    ):
        answer = await frontend.ask(msg)
        assert answer["success"], (msg, answer)
    subscribed = await frontend.ask(
        {
            "type": "calendar/event/subscribe",
            "entity_id": "calendar.home_access",
            "start": start.isoformat(),
            "end": end.isoformat(),
        }
    )
    assert subscribed["success"]
    assert (await frontend.receive())["event"]["events"]
    await frontend.close()
    for payload in frontend.payloads:
        haystack.add("websocket", payload)

    # Stopping writes what is written at shutdown (restore state, registries)
    # and lets the recorder commit its last rows.
    await hass.async_stop()
    rows = add_database(haystack, setup.db_path)
    private = f"{DOMAIN}.{entry.entry_id}"
    assert private in hass_storage
    for key, stored in hass_storage.items():
        # Keyholder's private files (its store, and a backup of it) hold codes.
        if key != private and not key.startswith(f"{private}."):
            haystack.add(f"storage:{key}", json.dumps(stored, default=str))
    add_events(haystack, setup.events)
    add_logs(haystack, caplog.records)
    return Collected(haystack, rows, len(frontend.payloads))


async def test_no_pin_anywhere_after_a_full_scenario(
    setup: Setup,
    freezer: FrozenDateTimeFactory,
    hass_client: ClientSessionGenerator,
    caplog: pytest.LogCaptureFixture,
    hass_storage: dict[str, Any],
) -> None:
    secret, given = await run_scenario(setup, freezer)
    collected = await collect(setup, hass_client, caplog, hass_storage)
    haystack = collected.haystack

    # The search looks at real content: the keyholder's name is where it belongs.
    assert haystack.surfaces_with("Plumber") >= {
        "states",
        "list_keys response",
        "calendar REST",
        "websocket",
        "recorder:event_data",
        "recorder:state_attributes",
        "recorder:file bytes",
        "storage:core.device_registry",
        "bus",
        "logs",
    }
    assert collected.recorder_rows > 100
    assert collected.websocket_payloads >= 19
    # Keyholder logged what it did, at debug level too.
    assert any(
        r.name == LOGGER.name and r.levelno == logging.DEBUG for r in caplog.records
    )
    # The caller's own codes are in Home Assistant's record of its action calls
    # (the README says so): what is skipped for them is really there.
    for pin in given:
        assert {s for s, _ in haystack.find_secret(pin)} >= {
            "recorder:event_data",
            "bus",
            "logs",
        }

    leaks = {pin: haystack.find_secret(pin) for pin in secret}
    leaks |= {pin: haystack.find_given(pin) for pin in given}
    assert {pin: where for pin, where in leaks.items() if where} == {}


async def test_the_scan_finds_a_planted_pin(
    setup: Setup,
    hass_client: ClientSessionGenerator,
    caplog: pytest.LogCaptureFixture,
    hass_storage: dict[str, Any],
) -> None:
    """Canary: PINs planted in a state, an event and a log line are found."""
    hass = setup.hass
    in_state, in_event, in_log, own = "318274", "492057", "605183", "847261"
    await issue(hass, passcode=own)
    hass.states.async_set("sensor.canary", "on", {"note": f"code {in_state}"})
    hass.bus.async_fire("canary_event", {"code": in_event})
    LOGGER.debug("Canary code %s", in_log)
    # The given PIN also leaks outside the action call: it must still be found.
    LOGGER.debug("Canary own code %s", own)
    await hass.async_block_till_done()

    collected = await collect(setup, hass_client, caplog, hass_storage)
    haystack = collected.haystack

    def found(pin: str) -> set[str]:
        return {surface for surface, _ in haystack.find_secret(pin)}

    assert found(in_state) >= {
        "states",
        "bus",
        "recorder:state_attributes",
        "recorder:file bytes",
        "websocket",
        "logs",
    }
    assert found(in_event) >= {"bus", "recorder:event_data", "logs"}
    assert found(in_log) == {"logs"}
    # Home Assistant's record of the call is skipped for a given PIN, and only it.
    assert found(own) >= {"recorder:event_data", "bus", "logs"}
    assert {surface for surface, _ in haystack.find_given(own)} == {"logs"}
