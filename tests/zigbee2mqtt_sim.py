"""A real Mosquitto broker and a simulated Zigbee2MQTT lock, for tests over MQTT.

Fixtures (import them into a ``conftest.py`` to use them):

* ``mosquitto_binary`` (session): a runnable ``mosquitto``, provided by
  ``scripts/setup_mosquitto`` when the system has none. Without one the tests
  are skipped, except in CI (``CI`` set), where they fail.
* ``mosquitto``: a broker of its own for one test, on 127.0.0.1 and a free port.
* ``mqtt_entry``: Home Assistant's ``mqtt`` integration connected to that broker.
* ``z2m_lock``: a factory of :class:`Z2MHarness` — a simulated lock that answers
  like Zigbee2MQTT does, on its own MQTT connection (a paho client thread).

The simulated lock follows Zigbee2MQTT's documented behaviour: commands on
``<base>/<device>/set`` and ``/get``, the device state on ``<base>/<device>``
(merged into a cached state the way Zigbee2MQTT's ``State.set`` merges it, so a
cleared user keeps its old ``pin_code`` next to ``status: available``; ``action``
fields are published once and not cached), availability on
``<base>/<device>/availability`` and the bridge state on ``<base>/bridge/state``
(both retained JSON, ``{"state": "online"}``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator
import contextlib
from dataclasses import dataclass
import json
import os
from pathlib import Path
import secrets
import socket
import subprocess
import threading
import time
from typing import Any

from homeassistant.components import mqtt
from homeassistant.core import HomeAssistant, callback
import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

ROOT = Path(__file__).resolve().parent.parent
SETUP_MOSQUITTO = ROOT / "scripts" / "setup_mosquitto"
BASE = "zigbee2mqtt"
DEVICE = "Front door lock"
# Test-only topics: Home Assistant -> lock and lock -> Home Assistant barriers.
BARRIER = "keyholder-test/barrier"
ECHO = "keyholder-test/echo"
TIMEOUT = 10.0


def _missing(what: str) -> None:
    """Skip for lack of a broker, except in CI, where the tests must run."""
    if os.environ.get("CI"):
        pytest.fail(f"{what} (CI must run the Zigbee2MQTT tests)")
    pytest.skip(what)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


async def until(predicate: Callable[[], bool], what: str) -> None:
    """Wait (polling, real time, up to TIMEOUT seconds) until ``predicate()`` holds."""
    deadline = time.monotonic() + TIMEOUT
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


# --------------------------------------------------------------------------- broker


@pytest.fixture(scope="session")
def mosquitto_binary() -> str:
    """Return a runnable mosquitto (installing Debian's into .tools/ if needed)."""
    try:
        result = subprocess.run(  # noqa: S603
            [str(SETUP_MOSQUITTO)],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    except OSError as err:
        _missing(f"scripts/setup_mosquitto cannot run: {err}")
        raise
    if result.returncode != 0 or not result.stdout.strip():
        _missing(f"no MQTT broker: {result.stderr.strip()[-500:]}")
    return result.stdout.strip().splitlines()[-1]


@dataclass
class Broker:
    """A mosquitto process serving one test."""

    port: int
    process: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        """Stop the broker (clients see the connection drop)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


@pytest.fixture
def mosquitto(
    mosquitto_binary: str, socket_enabled: None, tmp_path: Path
) -> Generator[Broker]:
    """Start a broker on 127.0.0.1 and a free port for this test."""
    port = _free_port()
    conf = tmp_path / "mosquitto.conf"
    conf.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
        "set_tcp_nodelay true\n"
    )
    log = tmp_path / "mosquitto.log"
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: S603
            [mosquitto_binary, "-c", str(conf)],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    broker = Broker(port, process, log)
    deadline = time.monotonic() + TIMEOUT
    while not _port_open(port):
        if process.poll() is not None or time.monotonic() > deadline:
            broker.stop()
            pytest.fail(f"mosquitto did not start:\n{log.read_text(errors='replace')}")
        time.sleep(0.02)
    yield broker
    broker.stop()


def _loop_stop(client: paho.Client) -> MQTTErrorCode:
    """
    End a paho client's network thread without paho's race.

    paho checks its thread handle, then joins it; the thread clears the handle
    when it ends, so a thread ending in between makes ``loop_stop`` raise
    AttributeError (Home Assistant's connection test at setup hits it on a busy
    machine). The handle is read once here.
    """
    thread = client._thread
    if thread is None:
        return MQTTErrorCode.MQTT_ERR_INVAL
    client._thread_terminate = True
    if threading.current_thread() is not thread:
        thread.join()
    return MQTTErrorCode.MQTT_ERR_SUCCESS


@pytest.fixture
async def mqtt_entry(
    hass: HomeAssistant,
    mosquitto: Broker,
    mock_hass_config: None,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncGenerator[MockConfigEntry]:
    """Home Assistant's mqtt integration, connected to the test's broker."""
    monkeypatch.setattr(paho.Client, "loop_stop", _loop_stop)
    entry = MockConfigEntry(
        domain=mqtt.DOMAIN,
        data={"broker": "127.0.0.1", "port": mosquitto.port},
        options={"discovery": False},
        version=2,
        minor_version=1,
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await until(lambda: mqtt.is_connected(hass), "Home Assistant's MQTT client")
    yield entry
    await hass.config_entries.async_unload(entry.entry_id)


# --------------------------------------------------------------------------- lock


def _merge(into: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    """Merge ``update`` into a copy of ``into``, nested objects key by key."""
    merged = dict(into)
    for key, value in update.items():
        old = merged.get(key)
        merged[key] = (
            _merge(old, value)
            if isinstance(old, dict) and isinstance(value, dict)
            else value
        )
    return merged


class SimulatedZ2MLock:
    """A Zigbee lock as Zigbee2MQTT shows it over MQTT (one paho client thread)."""

    def __init__(
        self,
        port: int,
        *,
        base: str = BASE,
        device: str = DEVICE,
        users: int = 30,
        expose_pin: bool = True,
    ) -> None:
        """Create the lock; ``users`` is its pinCodeCount, users 0 to users - 1."""
        self.port = port
        self.base = base
        self.topic = f"{base}/{device}"
        self.users = users
        self.expose_pin = expose_pin
        # user -> (pin, enabled): what the lock itself holds
        self.codes: dict[int, tuple[str, bool]] = {}
        # Zigbee2MQTT's cached state of the device (published on every change).
        self.cache: dict[str, Any] = {"state": "LOCK", "lock_state": "locked"}
        self.online = True
        self.answering = True  # answers questions (a sleeping lock does not)
        self.takes_codes = True  # accepts setPinCode (a full or picky lock does not)
        self.retain_state = False  # Zigbee2MQTT's per-device ``retain`` option
        self.commands: list[tuple[str, Any]] = []  # ("set"|"get", pin_code value)
        self.errors: list[str] = []  # what Zigbee2MQTT would log as errors
        self.barriers: set[str] = set()
        self._guard = threading.RLock()
        self._subscribed = threading.Event()
        self._client = paho.Client(
            CallbackAPIVersion.VERSION2, client_id=f"z2m-{secrets.token_hex(4)}"
        )
        self._client.will_set(
            f"{base}/bridge/state", json.dumps({"state": "offline"}), qos=1, retain=True
        )
        self._client.on_connect = self._on_connect
        self._client.on_subscribe = self._on_subscribe
        self._client.on_message = self._on_message

    # -- lifecycle ---------------------------------------------------------------

    def start(self) -> None:
        """Connect, subscribe and announce bridge and lock as online (retained)."""
        self._client.connect("127.0.0.1", self.port)
        self._client.loop_start()
        if not self._subscribed.wait(TIMEOUT):
            self.stop()
            pytest.fail("the simulated Zigbee2MQTT did not subscribe")
        self.set_bridge(online=True)
        self.set_online(online=True)

    def stop(self) -> None:
        """Disconnect cleanly (no last will) and end the client thread."""
        self._client.disconnect()
        # After a disconnect paho's network thread ends by itself and clears its
        # handle; loop_stop can race with that (AttributeError on None.join),
        # which only means the thread is already gone.
        with contextlib.suppress(AttributeError):
            self._client.loop_stop()

    def _on_connect(self, client: paho.Client, *_: Any) -> None:
        client.subscribe(
            [(f"{self.topic}/set", 1), (f"{self.topic}/get", 1), (BARRIER, 1)]
        )

    def _on_subscribe(self, *_: Any) -> None:
        self._subscribed.set()

    # -- what a test does to the lock --------------------------------------------

    def held(self) -> dict[int, str]:
        """Return user -> code of every code the lock holds."""
        with self._guard:
            return {user: pin for user, (pin, _) in sorted(self.codes.items())}

    def seed(self, user: int, pin: str) -> None:
        """Put a code on the lock that Keyholder did not write."""
        with self._guard:
            self.codes[user] = (pin, True)

    def set_online(self, *, online: bool) -> None:
        """Zigbee2MQTT's availability check finds the lock (un)reachable."""
        with self._guard:
            self.online = online
        self._publish(
            f"{self.topic}/availability",
            {"state": "online" if online else "offline"},
            retain=True,
        )

    def set_bridge(self, *, online: bool) -> None:
        """Zigbee2MQTT itself starts or stops."""
        self._publish(
            f"{self.base}/bridge/state",
            {"state": "online" if online else "offline"},
            retain=True,
        )

    def press_keypad(self, user: int, *, style: str = "zcl") -> None:
        """Someone opens the lock with the code of ``user`` at the keypad."""
        if style == "zcl":  # operation event notification (lock_operation_event)
            action = {
                "action": "unlock",
                "action_source": 0,
                "action_source_name": "keypad",
                "action_user": user,
            }
        else:  # locks that name the source in the action itself
            action = {"action": "keypad_unlock", "action_user": user}
        self._publish_state({"state": "UNLOCK", "lock_state": "unlocked", **action})

    def unlock_by_hand(self, user: int) -> None:
        """The lock is opened with the thumb turn (the lock names some user)."""
        self._publish_state(
            {
                "state": "UNLOCK",
                "lock_state": "unlocked",
                "action": "unlock",
                "action_source": 2,
                "action_source_name": "manual",
                "action_user": user,
            }
        )

    def program_at_keypad(self, user: int, pin: str) -> None:
        """Someone adds a code with the lock's own programming menu."""
        with self._guard:
            self.codes[user] = (pin, True)
        self._publish_state(
            {
                "action": "pin_code_added",
                "action_source": 0,
                "action_source_name": "keypad",
                "action_user": user,
            }
        )

    def echo(self, token: str) -> None:
        """Publish ``token`` on the test's echo topic (after all earlier messages)."""
        self._client.publish(ECHO, token, qos=1)

    # -- Zigbee2MQTT's side ------------------------------------------------------

    def _publish(self, topic: str, payload: dict[str, Any], *, retain: bool) -> None:
        self._client.publish(topic, json.dumps(payload), qos=1, retain=retain)

    def _publish_state(self, update: dict[str, Any]) -> None:
        """Publish the merged state; action fields go out once, uncached."""
        with self._guard:
            merged = _merge(self.cache, update)
            self.cache = {k: v for k, v in merged.items() if not k.startswith("action")}
            self._publish(self.topic, merged, retain=self.retain_state)

    def _on_message(self, client: paho.Client, _: Any, msg: paho.MQTTMessage) -> None:
        if msg.topic == BARRIER:
            with self._guard:
                self.barriers.add(msg.payload.decode())
            return
        try:
            payload = json.loads(msg.payload)
        except ValueError:
            self.errors.append(f"Invalid message on {msg.topic}")
            return
        value = payload.get("pin_code") if isinstance(payload, dict) else None
        with self._guard:
            if msg.topic.endswith("/set"):
                self.commands.append(("set", value))
                self._set(value)
            else:
                self.commands.append(("get", value))
                self._get(value)

    def _set(self, value: Any) -> None:
        user = value.get("user") if isinstance(value, dict) else None
        if not isinstance(user, int) or not 0 <= user < self.users:
            self.errors.append("Publish 'set' 'pin_code' failed: user must be in range")
            return
        if not self.online:
            self.errors.append("Publish 'set' 'pin_code' failed: Timeout")
            return
        pin = value.get("pin_code")
        if pin is None:
            self.codes.pop(user, None)
            self._publish_state({"last_successful_pincode_clear": time.time_ns()})
            return
        if not self.takes_codes:
            self.errors.append("Publish 'set' 'pin_code' failed: Status 'FAILURE'")
            return
        self.codes[user] = (str(pin), bool(value.get("user_enabled", True)))
        # Zigbee2MQTT's lock_set_pin_code_response: the whole (stale) state again.
        self._publish_state({"last_successful_pincode_save": time.time_ns()})

    def _get(self, value: Any) -> None:
        user = value.get("user") if isinstance(value, dict) else None
        if not self.online or not self.answering:
            self.errors.append("Publish 'get' 'pin_code' failed: Timeout")
            return
        for asked in range(self.users) if user is None else [user]:
            pin, enabled = self.codes.get(asked, ("", False))
            if asked not in self.codes:
                report: dict[str, Any] = {"status": "available"}
            else:
                report = {"status": "enabled" if enabled else "disabled"}
                if self.expose_pin:
                    report["pin_code"] = pin
            self._publish_state({"users": {str(asked): report}})


class Z2MHarness:
    """A simulated lock plus Home Assistant-side barriers to wait on it."""

    def __init__(self, hass: HomeAssistant, lock: SimulatedZ2MLock) -> None:
        """Wrap ``lock`` for use from the test's event loop."""
        self.hass = hass
        self.lock = lock
        self._echoes: set[str] = set()
        self._unsub: Callable[[], None] | None = None

    async def async_start(self) -> None:
        """Start the lock and wait until its messages reach Home Assistant."""
        await self.hass.async_add_executor_job(self.lock.start)

        @callback
        def _on_echo(msg: mqtt.ReceiveMessage) -> None:
            self._echoes.add(str(msg.payload))

        self._unsub = await mqtt.async_subscribe(self.hass, ECHO, _on_echo, qos=1)
        # The subscription becomes active after a short debounce.
        deadline = time.monotonic() + TIMEOUT
        while "ready" not in self._echoes:
            if time.monotonic() > deadline:
                pytest.fail("echo subscription never became active")
            self.lock.echo("ready")
            await asyncio.sleep(0.05)

    async def async_stop(self) -> None:
        """Stop listening and disconnect the lock."""
        if self._unsub:
            self._unsub()
        await self.hass.async_add_executor_job(self.lock.stop)

    async def async_barrier(self) -> None:
        """Return once the lock handled everything Home Assistant published so far."""
        token = secrets.token_hex(4)
        await mqtt.async_publish(self.hass, BARRIER, token, qos=1)
        await until(lambda: token in self.lock.barriers, "the lock to catch up")

    async def async_delivered(self) -> None:
        """Return once Home Assistant handled everything the lock published so far."""
        token = secrets.token_hex(4)
        self.lock.echo(token)
        await until(lambda: token in self._echoes, "Home Assistant to catch up")

    async def async_held(self) -> dict[int, str]:
        """Return what the lock holds once it handled everything sent to it."""
        await self.async_barrier()
        return self.lock.held()


type Z2MFactory = Callable[..., Awaitable[Z2MHarness]]


@pytest.fixture
async def z2m_lock(
    hass: HomeAssistant, mosquitto: Broker, mqtt_entry: MockConfigEntry
) -> AsyncGenerator[Z2MFactory]:
    """Return ``make(**options)``: start a simulated lock (see SimulatedZ2MLock)."""
    started: list[Z2MHarness] = []

    async def make(**options: Any) -> Z2MHarness:
        harness = Z2MHarness(hass, SimulatedZ2MLock(mosquitto.port, **options))
        started.append(harness)
        await harness.async_start()
        return harness

    yield make
    for harness in started:
        await harness.async_stop()
