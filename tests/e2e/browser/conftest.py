"""A real Home Assistant with Keyholder and an owner, and Debian's chromium.

Home Assistant runs as a process (see tests/e2e/process) on 127.0.0.1 with a site
seeded in ``.storage/core.config_entries``. Onboarding is finished before the
browser comes: every step but the first is marked done in ``.storage/onboarding``,
and the owner is created through Home Assistant's own onboarding API, which
finishes it (the password is hashed by Home Assistant itself).

Playwright cannot download browsers here, so it drives ``/usr/bin/chromium``;
``scripts/setup_chromium`` installs it when missing. Without chromium the tests
are skipped, except in CI (``CI`` set), where they fail.

Tests using these must be marked ``@pytest.mark.e2e``.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass
import os
from pathlib import Path
import re
import shutil
import socket
import subprocess

import aiohttp
from homeassistant.config_entries import (
    STORAGE_VERSION as ENTRIES_VERSION,
    STORAGE_VERSION_MINOR as ENTRIES_MINOR_VERSION,
)
import pytest

from custom_components.keyholder.model.serialize import STORAGE_VERSION, site_to_dict
from custom_components.keyholder.model.site import Site
from custom_components.keyholder.storage.store import STORE_MINOR_VERSION

from ..process.conftest import (
    COMPONENT,
    CONFIGURATION,
    REPO,
    STARTED,
    HassInstance,
    HassRun,
    storage_document,
)

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).parent / "artifacts"
ENTRY_ID = "01KEYHOLDERBROWSERTEST0001"
FRONT = "01KEYHOLDERBROWSERLOCK0001"
OWNER = "01KEYHOLDERBROWSEROWNER001"
FOREIGN_SLOT = 9
FOREIGN_CODE = "90817263"
USERNAME = "owner"
PASSWORD = "correct-horse-battery-staple"
START_TIMEOUT = 60.0
TIME_ZONE = "Europe/Berlin"


@pytest.fixture
def chromium() -> str:
    """Return Debian's chromium, installing it if needed (skip, or fail in CI)."""
    if not (CHROMIUM.exists() and os.access(CHROMIUM, os.X_OK)):
        setup = REPO / "scripts" / "setup_chromium"
        result = subprocess.run(  # noqa: S603
            [str(setup)], capture_output=True, text=True, timeout=600, check=False
        )
        found = result.stdout.strip()
        if result.returncode != 0 or not found:
            message = f"no chromium for the browser tests:\n{result.stderr[-2000:]}"
            if os.environ.get("CI"):
                pytest.fail(message)
            pytest.skip(message)
        return found
    return str(CHROMIUM)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _config_entries() -> dict[str, object]:
    """A site with one virtual lock and its manager, as Home Assistant stores it."""
    stamp = "2026-01-01T00:00:00+00:00"
    return {
        "entries": [
            {
                "created_at": stamp,
                "data": {
                    "name": "Home",
                    "passcode_length": 6,
                    "booking_grace_minutes": 30,
                },
                "disabled_by": None,
                "discovery_keys": {},
                "domain": "keyholder",
                "entry_id": ENTRY_ID,
                "minor_version": 1,
                "modified_at": stamp,
                "options": {},
                "pref_disable_new_entities": False,
                "pref_disable_polling": False,
                "source": "user",
                "subentries": [
                    {
                        "data": {
                            "name": "Front door",
                            "provider": "virtual",
                            "slots": 10,
                            "pin_min": 4,
                            "pin_max": 8,
                        },
                        "subentry_id": FRONT,
                        "subentry_type": "lock",
                        "title": "Front door",
                        "unique_id": None,
                    },
                    {
                        "data": {
                            "given_name": "Alice",
                            "family_name": "Owner",
                            "role": "manager",
                        },
                        "subentry_id": OWNER,
                        "subentry_type": "keyholder",
                        "title": "Alice Owner",
                        "unique_id": None,
                    },
                ],
                "title": "Home",
                "unique_id": None,
                "version": 1,
            }
        ]
    }


@dataclass
class RunningHass:
    """Home Assistant, started and onboarded, with its address."""

    url: str
    run: HassRun


@pytest.fixture
async def running_hass(
    tmp_path: Path, socket_enabled: None
) -> AsyncGenerator[RunningHass]:
    """Start Home Assistant with the seeded site and create the owner."""
    config_dir = tmp_path / "config"
    (config_dir / "custom_components").mkdir(parents=True)
    (config_dir / "custom_components" / "keyholder").symlink_to(COMPONENT)
    port = _free_port()
    # The same configuration as the process tests, without its http section.
    configuration = CONFIGURATION.format(time_zone=TIME_ZONE, port=port)
    configuration = re.sub(r"^http:\n(  .*\n)+", "", configuration, flags=re.MULTILINE)
    assert "server_port" not in configuration
    # Every Home Assistant a person uses has a recorder, and the frontend asks
    # for it on each page load (without it the refusal sometimes surfaces as an
    # unhandled rejection in the frontend's own code).
    configuration += "recorder:\n"
    (config_dir / "configuration.yaml").write_text(configuration)
    instance = HassInstance(config_dir, tmp_path / "console.log")
    instance.write_storage(
        "core.config_entries",
        storage_document(
            "core.config_entries",
            ENTRIES_VERSION,
            ENTRIES_MINOR_VERSION,
            _config_entries(),
        ),
    )
    # Someone programmed a code of their own into slot 9 of the front door.
    store_key = f"keyholder.{ENTRY_ID}"
    instance.write_storage(
        store_key,
        storage_document(
            store_key,
            STORAGE_VERSION,
            STORE_MINOR_VERSION,
            {
                "site": site_to_dict(Site()),
                "written": {},
                "virtual": {FRONT: {"passcode": {str(FOREIGN_SLOT): FOREIGN_CODE}}},
            },
        ),
    )
    # Home Assistant 2026.10 keeps its HTTP settings in storage and would take the
    # YAML ones only as a trial to confirm in the browser: store them as confirmed.
    instance.write_storage(
        "http",
        storage_document(
            "http",
            2,
            2,
            {
                "stable": {
                    "server_host": ["127.0.0.1"],
                    "server_port": port,
                    "cors_allowed_origins": [],
                    "login_attempts_threshold": -1,
                    "ip_ban_enabled": False,
                    "ssl_profile": "modern",
                    "use_x_frame_options": True,
                    "created_at": "2026-01-01T00:00:00+00:00",
                    "error": None,
                    "error_message": None,
                },
                "pending": None,
                "yaml_migration_done": True,
            },
        ),
    )
    # Everything but creating the owner, which the onboarding API does below.
    instance.write_storage(
        "onboarding",
        storage_document(
            "onboarding", 4, 1, {"done": ["core_config", "analytics", "integration"]}
        ),
    )
    run = instance.start()
    try:
        await run.wait_for(STARTED, within=START_TIMEOUT)
        url = f"http://127.0.0.1:{port}"
        async with (
            aiohttp.ClientSession() as session,
            session.post(
                f"{url}/api/onboarding/users",
                json={
                    "client_id": f"{url}/",
                    "name": "Owner",
                    "username": USERNAME,
                    "password": PASSWORD,
                    "language": "en",
                },
            ) as response,
        ):
            assert response.status == 200, await response.text()
        yield RunningHass(url, run)
    finally:
        if run.proc.poll() is None:
            run.kill()
        log = tmp_path / "console.log"
        if log.exists():
            ARTIFACTS.mkdir(exist_ok=True)
            shutil.copy(log, ARTIFACTS / "home-assistant.log")
