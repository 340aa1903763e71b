"""Home Assistant as a real process, with Keyholder, that tests can kill.

:class:`HassInstance` owns a config directory (``custom_components/keyholder``
symlinked to this repository, a small ``configuration.yaml`` without
``default_config``, and ``.storage`` files seeded by the test), starts
``python -m homeassistant -c <dir>`` in its own process group, follows its log
and reads Keyholder's store file. :class:`HassRun` is one running process: stop
it gently (SIGTERM, as a supervisor would) or kill it (SIGKILL, power cut).

Tests using these must be marked ``@pytest.mark.e2e``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Callable
import contextlib
from dataclasses import dataclass, field
import json
import os
from pathlib import Path
import re
import signal
import socket
import subprocess
import sys
import time
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[3]
COMPONENT = REPO / "custom_components" / "keyholder"
POLL = 0.1

CONFIGURATION = """\
homeassistant:
  name: Keyholder process test
  time_zone: {time_zone}
  latitude: 52.52
  longitude: 13.40
  elevation: 34
  unit_system: metric
  country: DE
http:
  server_host: 127.0.0.1
  server_port: {port}
logger:
  default: warning
  logs:
    homeassistant.bootstrap: info
    homeassistant.core: debug
    custom_components.keyholder: debug
  filters:
    # Of the core's debug lines only the one saying start-up is over.
    homeassistant.core:
      - "^(?!Bus:Handling <Event homeassistant_started)"
"""
# Home Assistant handles SIGTERM only once it has started (until then the signal
# kills it like SIGKILL would).
STARTED = re.compile(r"Bus:Handling <Event homeassistant_started")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def storage_document(key: str, version: int, minor: int, data: Any) -> dict[str, Any]:
    """Return a file of Home Assistant's ``.storage`` as ``Store`` writes it."""
    return {"version": version, "minor_version": minor, "key": key, "data": data}


@dataclass
class HassRun:
    """One ``homeassistant`` process; its log lines start at ``log_offset``."""

    proc: subprocess.Popen[bytes]
    log: Path
    log_offset: int
    started: float = field(default_factory=time.monotonic)

    def text(self) -> str:
        """Return what this run wrote to the log so far."""
        with self.log.open("rb") as handle:
            handle.seek(self.log_offset)
            return handle.read().decode(errors="replace")

    def count(self, pattern: re.Pattern[str]) -> int:
        """Return how often ``pattern`` occurs in this run's log."""
        return len(pattern.findall(self.text()))

    def check_alive(self, waiting_for: str) -> None:
        if self.proc.poll() is not None:
            pytest.fail(
                f"Home Assistant exited ({self.proc.returncode}) while waiting for "
                f"{waiting_for}:\n{self.tail()}"
            )

    async def wait_for(
        self, pattern: re.Pattern[str], *, count: int = 1, within: float
    ) -> float:
        """Wait until ``pattern`` occurred ``count`` times; return seconds waited."""
        start = time.monotonic()
        while self.count(pattern) < count:
            self.check_alive(pattern.pattern)
            if time.monotonic() - start > within:
                pytest.fail(
                    f"{pattern.pattern!r} seen {self.count(pattern)}/{count} times "
                    f"after {within} s:\n{self.tail()}"
                )
            await asyncio.sleep(POLL)
        return time.monotonic() - start

    def kill(self) -> None:
        """SIGKILL the whole process group: no shutdown code runs at all."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    async def stop(self, within: float) -> int:
        """Wait until started, SIGTERM, wait for a clean exit; return the exit code."""
        await self.wait_for(STARTED, within=within)
        await self.wait_for_sigterm_handler(within=within)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + within
        while self.proc.poll() is None:
            if time.monotonic() > deadline:
                self.kill()
                pytest.fail(f"Home Assistant did not stop in {within} s")
            await asyncio.sleep(POLL)
        return self.proc.returncode

    async def wait_for_sigterm_handler(self, within: float) -> None:
        """
        Wait until the process catches SIGTERM (Linux: ``SigCgt`` in /proc).

        Home Assistant binds its signal handlers just after it logs that it has
        started; on a busy machine the log line can be read first, and a SIGTERM
        sent then kills the process like SIGKILL.
        """
        start = time.monotonic()
        while (caught := self._catches_sigterm()) is False:
            self.check_alive("the SIGTERM handler")
            if time.monotonic() - start > within:
                pytest.fail(f"Home Assistant did not catch SIGTERM within {within} s")
            await asyncio.sleep(POLL)
        assert caught in (True, None)

    def _catches_sigterm(self) -> bool | None:
        """Return whether the process catches SIGTERM (None: cannot tell here)."""
        status = Path(f"/proc/{self.proc.pid}/status")
        try:
            lines = status.read_text().splitlines()
        except FileNotFoundError:
            return None if not Path("/proc/self/status").exists() else False
        except OSError:
            return False
        for line in lines:
            if line.startswith("SigCgt:"):
                return bool(int(line.split()[1], 16) & (1 << (signal.SIGTERM - 1)))
        return None

    def tail(self, lines: int = 40) -> str:
        """Return the end of this run's log, for failure messages."""
        return "\n".join(self.text().splitlines()[-lines:])


@dataclass
class HassInstance:
    """A Home Assistant config directory that processes are started on."""

    config_dir: Path
    log: Path
    runs: list[HassRun] = field(default_factory=list)

    @property
    def storage(self) -> Path:
        """Return the ``.storage`` directory."""
        return self.config_dir / ".storage"

    def write_storage(self, key: str, document: dict[str, Any]) -> None:
        """Seed one ``.storage`` file (before the first start)."""
        self.storage.mkdir(exist_ok=True)
        path = self.storage / key
        path.write_text(json.dumps(document, indent=2))
        path.chmod(0o600)

    def read_storage(self, key: str) -> dict[str, Any]:
        """Return one ``.storage`` file; fails the test if it is not valid JSON."""
        path = self.storage / key
        try:
            return dict(json.loads(path.read_text()))
        except (OSError, ValueError) as err:
            pytest.fail(f"{path} is not a readable store: {err}")

    async def poll_storage(
        self,
        key: str,
        done: Callable[[dict[str, Any]], bool],
        *,
        run: HassRun,
        within: float,
    ) -> dict[str, Any]:
        """Re-read a store file until ``done(document)``; return that document."""
        start = time.monotonic()
        document: dict[str, Any] = {}
        while True:
            # Store writes are atomic (rename), so a read sees a whole file.
            with contextlib.suppress(OSError, ValueError):
                document = json.loads((self.storage / key).read_text())
                if done(document):
                    return document
            run.check_alive(f"{key} to converge")
            if time.monotonic() - start > within:
                pytest.fail(
                    f"{key} did not converge in {within} s; last seen:\n"
                    f"{json.dumps(document.get('data'), indent=1)[:3000]}\n"
                    f"{run.tail()}"
                )
            await asyncio.sleep(POLL)

    def start(self) -> HassRun:
        """Start Home Assistant on this config directory."""
        offset = self.log.stat().st_size if self.log.exists() else 0
        with self.log.open("ab") as out:
            proc = subprocess.Popen(  # noqa: S603
                [
                    sys.executable,
                    "-m",
                    "homeassistant",
                    "--config",
                    str(self.config_dir),
                    "--skip-pip",
                    "--log-no-color",
                ],
                cwd=self.config_dir,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        run = HassRun(proc, self.log, offset)
        self.runs.append(run)
        return run


@pytest.fixture
async def hass_instance(
    tmp_path: Path, socket_enabled: None
) -> AsyncGenerator[HassInstance]:
    """A fresh config directory; any process still running at the end is killed."""
    config_dir = tmp_path / "config"
    (config_dir / "custom_components").mkdir(parents=True)
    (config_dir / "custom_components" / "keyholder").symlink_to(COMPONENT)
    (config_dir / "configuration.yaml").write_text(
        CONFIGURATION.format(time_zone="Europe/Berlin", port=_free_port())
    )
    instance = HassInstance(config_dir, tmp_path / "console.log")
    yield instance
    for run in instance.runs:
        if run.proc.poll() is None:
            run.kill()
