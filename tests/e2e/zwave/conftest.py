"""End-to-end harness: the real Z-Wave JS stack with a simulated lock, on loopback.

Layers (each a pytest fixture, all on 127.0.0.1 with free ports):

* ``zwave_node_modules`` (session): runs ``npm ci`` here unless node_modules matches
  package-lock.json already.
* ``zwave_mock_lock``: a Node process (``mock_lock.cjs``) that simulates a Z-Wave
  controller and a door lock node (User Code, Door Lock, Notification CC), plus a
  control channel (:class:`MockLock`) to read/seed codes and press the keypad.
* ``zwave_server``: ``zwave-server`` (the real driver + websocket server) talking to the
  mock over TCP; :class:`ZwaveServer` can stop and start it again.
* ``zwave_js_lock``: Home Assistant's own ``zwave_js`` integration set up in ``hass``
  against that server; yields :class:`ZwaveJsLock` once the lock entity is available.

Tests using these must be marked ``@pytest.mark.e2e`` and request ``socket_enabled``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Callable, Generator
import contextlib
from dataclasses import dataclass, field
import hashlib
import json
import os
from pathlib import Path
import secrets
import shutil
import signal
import socket
import subprocess
import time
from typing import Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

HERE = Path(__file__).parent
NODE_MODULES = HERE / "node_modules"
STAMP = NODE_MODULES / ".keyholder-e2e-stamp"
MOCK_SCRIPT = HERE / "mock_lock.cjs"
SERVER_SCRIPT = NODE_MODULES / "@zwave-js" / "server" / "dist-esm" / "bin" / "server.js"

NUM_USERS = 20
USER_CODE_CC = 99
STATUS_AVAILABLE = 0
STATUS_ENABLED = 1
STATUS_DISABLED = 2

START_TIMEOUT = 30.0
ENTITY_TIMEOUT = 60.0


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``bench`` marker (measurements, skipped unless asked for)."""
    config.addinivalue_line("markers", "bench: measurements, not assertions")


# --------------------------------------------------------------------------- helpers


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "<no log>"


def _spawn(args: list[str], log: Path) -> subprocess.Popen[bytes]:
    """Start a process in its own process group, output appended to ``log``."""
    with log.open("ab") as out:
        return subprocess.Popen(  # noqa: S603
            args,
            cwd=HERE,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _signal_group(proc: subprocess.Popen[bytes], sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


def _stop_sync(proc: subprocess.Popen[bytes], grace: float = 5.0) -> None:
    """SIGTERM the process group, SIGKILL it after ``grace`` seconds."""
    if proc.poll() is None:
        _signal_group(proc, signal.SIGTERM)
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            _signal_group(proc, signal.SIGKILL)
            proc.wait(5)
    # Children that outlived the leader (none expected) go too.
    _signal_group(proc, signal.SIGKILL)


async def _stop_async(proc: subprocess.Popen[bytes], grace: float = 5.0) -> None:
    if proc.poll() is None:
        _signal_group(proc, signal.SIGTERM)
        deadline = time.monotonic() + grace
        while proc.poll() is None:
            if time.monotonic() > deadline:
                _signal_group(proc, signal.SIGKILL)
                deadline = time.monotonic() + 5.0
            await asyncio.sleep(0.05)
    _signal_group(proc, signal.SIGKILL)


def _missing(what: str) -> None:
    """Skip for lack of a tool, except in CI, where the proof must run."""
    if os.environ.get("CI"):
        pytest.fail(f"{what} (CI must run the end-to-end tests)")
    pytest.skip(what)


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        _missing("node is not on PATH")
    assert node is not None
    return node


# --------------------------------------------------------------------------- npm ci


def _lock_digest() -> str:
    return hashlib.sha256((HERE / "package-lock.json").read_bytes()).hexdigest()


@pytest.fixture(scope="session")
def zwave_node_modules() -> Path:
    """Make sure ``npm ci`` has run for the pinned Z-Wave JS packages (idempotent)."""
    _node()
    digest = _lock_digest()
    if (
        STAMP.is_file()
        and STAMP.read_text().strip() == digest
        and SERVER_SCRIPT.is_file()
    ):
        return NODE_MODULES
    npm = shutil.which("npm")
    if npm is None:
        _missing("npm is not on PATH")
    assert npm is not None
    result = subprocess.run(  # noqa: S603
        [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=HERE,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(f"npm ci failed:\n{result.stdout}\n{result.stderr}")
    STAMP.write_text(digest + "\n")
    return NODE_MODULES


# --------------------------------------------------------------------------- mock lock


@dataclass(frozen=True)
class SlotState:
    """One user code slot as the simulated node stores it."""

    status: int
    code: str


@dataclass
class MockLock:
    """Control channel to the simulated lock node (line-based JSON over TCP)."""

    zwave_port: int
    control_port: int
    node_id: int
    home_id: int
    num_users: int
    log: Path
    process: subprocess.Popen[bytes] = field(repr=False)

    async def _request(self, cmd: str, **params: Any) -> Any:
        reader, writer = await asyncio.open_connection("127.0.0.1", self.control_port)
        try:
            writer.write(json.dumps({"cmd": cmd, **params}).encode() + b"\n")
            await writer.drain()
            line = await asyncio.wait_for(reader.readline(), 10)
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
        if not line:
            raise RuntimeError(
                f"mock lock closed the control channel:\n{_tail(self.log)}"
            )
        reply = json.loads(line)
        if not reply.get("ok"):
            raise RuntimeError(f"mock lock refused {cmd}: {reply.get('error')}")
        return reply.get("result")

    async def read_slots(self) -> dict[int, SlotState]:
        """Every slot that is not 'available', with its status and code."""
        result = await self._request("read_codes")
        return {
            int(slot): SlotState(status=int(v["status"]), code=str(v["code"]))
            for slot, v in result.items()
        }

    async def read_codes(self) -> dict[int, str]:
        """Codes currently stored in occupied (enabled or disabled) slots."""
        return {
            slot: state.code
            for slot, state in (await self.read_slots()).items()
            if state.status != STATUS_AVAILABLE
        }

    async def seed_code(
        self, slot: int, code: str, status: int = STATUS_ENABLED
    ) -> None:
        """Store a code in the node directly, as if typed on the lock's own menu.

        The driver only learns about it when it (re-)reads the slot: seed before the
        ``zwave_server`` starts (see the ``zwave_seed_codes`` fixture) or call
        :meth:`ZwaveJsLock.refresh_user_codes` afterwards.
        """
        await self._request("seed_code", slot=slot, code=code, status=status)

    async def clear_code(self, slot: int) -> None:
        """Free a slot in the node directly (the driver does not notice by itself)."""
        await self._request("clear_code", slot=slot)

    async def keypad_unlock(self, slot: int) -> None:
        """Send Notification CC: Access Control (6) / Keypad unlock (6), userId=slot."""
        await self._request("keypad_unlock", slot=slot)

    async def alarm_keypad_unlock(
        self, slot: int, *, with_notification: bool = False
    ) -> None:
        """Send a v1 Alarm report: alarmType 19 (keypad unlock), alarmLevel=slot.

        With ``with_notification`` the same report also carries Access Control /
        Keypad unlock with userId=slot, as some locks send both.
        """
        await self._request(
            "alarm_keypad_unlock", slot=slot, with_notification=with_notification
        )

    async def alarm(self, alarm_type: int, level: int) -> None:
        """Send any v1 Alarm report (Notification CC without a notification type)."""
        await self._request("alarm", type=alarm_type, level=level)

    async def notify(
        self, notification_type: int, event: int, params: list[int] | None = None
    ) -> None:
        """Send an arbitrary Notification CC report from the lock node."""
        await self._request(
            "notify", type=notification_type, event=event, params=params or []
        )

    async def set_reachable(self, reachable: bool) -> None:
        """Simulate the lock going out of radio range (no ACKs, nothing handled)."""
        await self._request("set_reachable", reachable=reachable)

    async def refuse_duplicates(self, *, enabled: bool = True) -> None:
        """Make the node refuse a code another slot holds, with notification 15."""
        await self._request("refuse_duplicates", enabled=enabled)

    async def reject_code_sets(self, *, enabled: bool = True) -> None:
        """Make the node ACK User Code Set commands but keep the old slot contents."""
        await self._request("reject_code_sets", enabled=enabled)

    async def wait_for_codes(
        self,
        predicate: Callable[[dict[int, str]], bool],
        within: float = 10.0,
    ) -> dict[int, str]:
        """Poll :meth:`read_codes` until ``predicate`` holds; return the codes."""
        deadline = time.monotonic() + within
        while True:
            codes = await self.read_codes()
            if predicate(codes):
                return codes
            if time.monotonic() > deadline:
                raise AssertionError(f"lock codes never matched; last seen {codes}")
            await asyncio.sleep(0.1)


@pytest.fixture
def zwave_seed_codes() -> dict[int, str]:
    """Codes the simulated lock holds before the driver interviews it.

    Override per test with ``@pytest.mark.parametrize("zwave_seed_codes", [{3: "4567"}])``
    or by redefining this fixture in a test module.
    """
    return {}


@pytest.fixture
def zwave_num_users() -> int:
    """How many user code slots the simulated lock has (override like the seed)."""
    return NUM_USERS


@pytest.fixture
def zwave_mock_lock(
    zwave_node_modules: Path,
    socket_enabled: None,
    tmp_path: Path,
    zwave_seed_codes: dict[int, str],
    zwave_num_users: int,
) -> Generator[MockLock]:
    """Start the simulated controller + lock node; stop it at teardown."""
    ready_file = tmp_path / "mock-ready.json"
    log = tmp_path / "mock-lock.log"
    seed = json.dumps({str(k): v for k, v in zwave_seed_codes.items()})
    proc = _spawn(
        [
            _node(),
            str(MOCK_SCRIPT),
            "--ready-file",
            str(ready_file),
            "--num-users",
            str(zwave_num_users),
            "--seed",
            seed,
        ],
        log,
    )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not ready_file.is_file():
            if proc.poll() is not None:
                pytest.fail(f"mock lock exited ({proc.returncode}):\n{_tail(log)}")
            if time.monotonic() > deadline:
                pytest.fail(f"mock lock did not start:\n{_tail(log)}")
            time.sleep(0.05)
        ready = json.loads(ready_file.read_text())
        yield MockLock(
            zwave_port=ready["zwavePort"],
            control_port=ready["controlPort"],
            node_id=ready["nodeId"],
            home_id=ready["homeId"],
            num_users=zwave_num_users,
            log=log,
            process=proc,
        )
    finally:
        _stop_sync(proc)


# --------------------------------------------------------------------------- server


@dataclass
class ZwaveServer:
    """The ``zwave-server`` process (driver + websocket API) in front of the mock."""

    mock: MockLock
    port: int
    config_file: Path
    log: Path
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def url(self) -> str:
        """Websocket URL for Home Assistant's zwave_js integration."""
        return f"ws://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        """True while the process is alive."""
        return self.process is not None and self.process.poll() is None

    def _spawn(self) -> None:
        if self.running:
            raise RuntimeError("zwave-server is already running")
        self.starts += 1
        with self.log.open("a") as out:
            out.write(f"\n===== start #{self.starts} =====\n")
        self.process = _spawn(
            [
                _node(),
                str(SERVER_SCRIPT),
                f"tcp://127.0.0.1:{self.mock.zwave_port}",
                "--config",
                str(self.config_file),
                "--port",
                str(self.port),
                "--host",
                "127.0.0.1",
                "--disable-dns-sd",
            ],
            self.log,
        )

    def _check_alive(self) -> None:
        assert self.process is not None
        if self.process.poll() is not None:
            raise RuntimeError(
                f"zwave-server exited ({self.process.returncode}):\n{_tail(self.log)}"
            )

    def start_sync(self, within: float = START_TIMEOUT) -> None:
        """Start and block until the websocket port accepts connections."""
        self._spawn()
        deadline = time.monotonic() + within
        while not _port_open(self.port):
            self._check_alive()
            if time.monotonic() > deadline:
                raise TimeoutError(f"zwave-server did not listen:\n{_tail(self.log)}")
            time.sleep(0.05)

    async def start(self, within: float = START_TIMEOUT) -> None:
        """Start and wait (without blocking the loop) until the port accepts."""
        self._spawn()
        deadline = time.monotonic() + within
        while True:
            self._check_alive()
            try:
                _reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
            except OSError:
                if time.monotonic() > deadline:
                    raise TimeoutError(
                        f"zwave-server did not listen:\n{_tail(self.log)}"
                    ) from None
                await asyncio.sleep(0.05)
            else:
                writer.close()
                with contextlib.suppress(OSError):
                    await writer.wait_closed()
                return

    async def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL); the mock lock keeps running."""
        if self.process is not None:
            await _stop_async(self.process)
            self.process = None

    async def kill(self) -> None:
        """SIGKILL the server at once (a crash: no goodbye to its clients)."""
        if self.process is not None:
            _signal_group(self.process, signal.SIGKILL)
            await _stop_async(self.process)
            self.process = None

    def stop_sync(self) -> None:
        """Blocking variant of :meth:`stop`, for teardown."""
        if self.process is not None:
            _stop_sync(self.process)
            self.process = None


@pytest.fixture
def zwave_server(zwave_mock_lock: MockLock, tmp_path: Path) -> Generator[ZwaveServer]:
    """Start ``zwave-server`` against the mock lock; stop it at teardown."""
    cache_dir = tmp_path / "zwave-cache"
    cache_dir.mkdir()
    config_file = tmp_path / "zwave-server.json"
    config_file.write_text(
        json.dumps(
            {
                # Random keys: the mock node is not included securely anyway.
                "securityKeys": {
                    name: secrets.token_hex(16)
                    for name in (
                        "S0_Legacy",
                        "S2_Unauthenticated",
                        "S2_Authenticated",
                        "S2_AccessControl",
                    )
                },
                # Without this the driver clears all user codes on first interview.
                "interview": {"queryAllUserCodes": True},
                "storage": {"cacheDir": str(cache_dir)},
                "logConfig": {
                    "enabled": True,
                    "level": "info",
                    "logToFile": False,
                    "forceConsole": True,
                },
            }
        )
    )
    server = ZwaveServer(
        mock=zwave_mock_lock,
        port=_free_port(),
        config_file=config_file,
        log=tmp_path / "zwave-server.log",
    )
    try:
        server.start_sync()
        yield server
    finally:
        server.stop_sync()


# --------------------------------------------------------------------------- HA zwave_js


@dataclass
class ZwaveJsLock:
    """Home Assistant with ``zwave_js`` connected to the simulated lock."""

    hass: HomeAssistant
    entry: MockConfigEntry
    entity_id: str
    mock: MockLock
    server: ZwaveServer

    @property
    def node(self) -> Any:
        """The zwave_js_server ``Node`` of the lock (valid until the entry reloads)."""
        client = self.entry.runtime_data.client
        return client.driver.controller.nodes[self.mock.node_id]

    def user_code_values(self) -> dict[int, dict[str, Any]]:
        """User Code CC values as the driver (and HA) sees them, per slot."""
        slots: dict[int, dict[str, Any]] = {}
        for value in self.node.values.values():
            if value.command_class != USER_CODE_CC or value.property_key is None:
                continue
            slots.setdefault(int(value.property_key), {})[value.property_] = value.value
        return slots

    def driver_codes(self) -> dict[int, str]:
        """Occupied slots -> code, as the driver's cached values show them."""
        return {
            slot: str(v.get("userCode") or "")
            for slot, v in self.user_code_values().items()
            if v.get("userIdStatus") not in (None, STATUS_AVAILABLE)
        }

    async def wait_driver_codes(
        self,
        predicate: Callable[[dict[int, str]], bool],
        within: float = 10.0,
    ) -> dict[int, str]:
        """Poll :meth:`driver_codes` until ``predicate`` holds; return the codes."""
        deadline = time.monotonic() + within
        while True:
            codes = self.driver_codes()
            if predicate(codes):
                return codes
            if time.monotonic() > deadline:
                raise AssertionError(f"driver codes never matched; last seen {codes}")
            await asyncio.sleep(0.05)

    async def refresh_user_codes(self, within: float = 15.0) -> dict[int, str]:
        """Make the driver re-read every User Code slot; wait until it matches the node.

        ``refresh_cc_values`` returns before the value updates reach the client, so
        this polls until the driver's codes equal what the simulated node holds.
        """
        await self.node.async_refresh_cc_values(USER_CODE_CC)
        expected = await self.mock.read_codes()
        return await self.wait_driver_codes(lambda c: c == expected, within)

    async def wait_loaded(
        self, within: float = ENTITY_TIMEOUT, *, reload: bool = True
    ) -> None:
        """Wait until the entry is loaded and the lock entity is available again.

        With ``reload`` a config entry stuck in setup retry is reloaded at once
        instead of waiting for Home Assistant's back-off (10 s and more).
        """
        deadline = time.monotonic() + within
        while True:
            state = self.entry.state
            if state is ConfigEntryState.SETUP_RETRY and reload and self.server.running:
                await self.hass.config_entries.async_reload(self.entry.entry_id)
                continue
            lock_state = self.hass.states.get(self.entity_id)
            if (
                state is ConfigEntryState.LOADED
                and lock_state is not None
                and lock_state.state != STATE_UNAVAILABLE
                and self.node.ready
            ):
                return
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"zwave_js not loaded (entry {state}, lock {lock_state}):\n"
                    f"{_tail(self.server.log)}"
                )
            await asyncio.sleep(0.05)

    async def wait_unavailable(self, within: float = 10.0) -> None:
        """Wait until the lock entity is unavailable (e.g. after ``server.stop()``)."""
        deadline = time.monotonic() + within
        while True:
            lock_state = self.hass.states.get(self.entity_id)
            if lock_state is None or lock_state.state == STATE_UNAVAILABLE:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.entity_id} stayed {lock_state.state}")
            await asyncio.sleep(0.05)


@pytest.fixture
async def zwave_js_lock(
    hass: HomeAssistant,
    zwave_server: ZwaveServer,
    zwave_mock_lock: MockLock,
) -> AsyncGenerator[ZwaveJsLock]:
    """Set up Home Assistant's zwave_js against the stack; yield once the lock is up."""
    pytest.importorskip(
        "zwave_js_server", reason="install requirements_e2e.txt for e2e tests"
    )
    # zwave_js depends on http; pin it to loopback on a free port instead of 0.0.0.0:8123.
    assert await async_setup_component(
        hass,
        "http",
        {"http": {"server_host": "127.0.0.1", "server_port": _free_port()}},
    )
    entry = MockConfigEntry(
        domain="zwave_js",
        title="Z-Wave JS (e2e)",
        unique_id=str(zwave_mock_lock.home_id),
        version=1,
        minor_version=2,
        data={
            "url": zwave_server.url,
            "usb_path": None,
            "socket_path": None,
            "s0_legacy_key": "",
            "s2_access_control_key": "",
            "s2_authenticated_key": "",
            "s2_unauthenticated_key": "",
            "lr_s2_access_control_key": "",
            "lr_s2_authenticated_key": "",
            "use_addon": False,
            "integration_created_addon": False,
        },
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()

    registry = er.async_get(hass)
    entity_id = ""
    deadline = time.monotonic() + ENTITY_TIMEOUT
    while not entity_id:
        locks = [
            e.entity_id
            for e in er.async_entries_for_config_entry(registry, entry.entry_id)
            if e.domain == "lock"
        ]
        if locks:
            entity_id = locks[0]
        elif time.monotonic() > deadline:
            raise TimeoutError(f"no lock entity appeared:\n{_tail(zwave_server.log)}")
        else:
            await asyncio.sleep(0.05)
    setup = ZwaveJsLock(
        hass=hass,
        entry=entry,
        entity_id=entity_id,
        mock=zwave_mock_lock,
        server=zwave_server,
    )
    await setup.wait_loaded(reload=False)
    try:
        yield setup
    finally:
        if entry.state in (ConfigEntryState.LOADED, ConfigEntryState.SETUP_RETRY):
            await hass.config_entries.async_unload(entry.entry_id)
        await hass.async_block_till_done()
