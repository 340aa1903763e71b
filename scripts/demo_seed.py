"""Seed the development instance with a ready demo site (first start only).

Writes Home Assistant's config entry registry and Keyholder's store into
.runtime/.storage: site "Home" with the virtual locks "Front door" and "Garage",
and a keyholder "Plumber" whose passcode opens the front door on Thursdays
13:00-17:00. The passcode is printed once, like the issue_key action answers it.
"""

from __future__ import annotations

from datetime import UTC, datetime, time
import json
from pathlib import Path
import sys
import uuid

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from custom_components.keyholder.model.access import grant_for_key  # noqa: E402
from custom_components.keyholder.model.passcode import generate_passcode  # noqa: E402
from custom_components.keyholder.model.serialize import (  # noqa: E402
    STORAGE_VERSION,
    key_grant_id,
    site_to_dict,
)
from custom_components.keyholder.model.site import Site  # noqa: E402
from custom_components.keyholder.model.values import (  # noqa: E402
    Key,
    Keyholder,
    KeyKind,
    Schedule,
    Window,
)

THURSDAY = 3


def _ulid() -> str:
    return uuid.uuid4().hex.upper()[:26]


def _lock(name: str) -> dict[str, object]:
    return {
        "data": {
            "name": name,
            "provider": "virtual",
            "slots": 20,
            "pin_min": 4,
            "pin_max": 8,
        },
        "subentry_id": _ulid(),
        "subentry_type": "lock",
        "title": name,
        "unique_id": None,
    }


def seed(storage: Path) -> str | None:
    """Write the demo unless the instance already has config entries."""
    registry = storage / "core.config_entries"
    if registry.exists():
        return None
    storage.mkdir(parents=True, exist_ok=True)
    now = datetime.now(UTC).isoformat()
    front, garage = _lock("Front door"), _lock("Garage")
    plumber = {
        "data": {"given_name": "Plumber", "family_name": "", "role": "keyholder"},
        "subentry_id": _ulid(),
        "subentry_type": "keyholder",
        "title": "Plumber",
        "unique_id": None,
    }
    entry_id = _ulid()
    entry = {
        "created_at": now,
        "data": {"name": "Home", "passcode_length": 6, "booking_grace_minutes": 30},
        "disabled_by": None,
        "discovery_keys": {},
        "domain": "keyholder",
        "entry_id": entry_id,
        "minor_version": 1,
        "modified_at": now,
        "options": {},
        "pref_disable_new_entities": False,
        "pref_disable_polling": False,
        "source": "user",
        "subentries": [front, garage, plumber],
        "title": "Home",
        "unique_id": None,
        "version": 1,
    }
    passcode = generate_passcode(6)
    plumber_id = str(plumber["subentry_id"])
    site = Site(
        keyholders={plumber_id: Keyholder(id=plumber_id, given_name="Plumber")},
        keys={
            "demo-plumber": Key(
                id="demo-plumber",
                keyholder_id=plumber_id,
                kind=KeyKind.PASSCODE,
                lock_ids=frozenset({str(front["subentry_id"])}),
                schedule=Schedule(
                    windows=(Window(frozenset({THURSDAY}), time(13), time(17)),)
                ),
                secret=passcode,
                name="Thursday visits",
            )
        },
    )
    for key in site.keys.values():  # each key with its own access, as issue_key
        site.put_grant(grant_for_key(key, key_grant_id(key.id)))
    _write(registry, "core.config_entries", 1, 5, {"entries": [entry]})
    _write(
        storage / f"keyholder.{entry_id}",
        f"keyholder.{entry_id}",
        STORAGE_VERSION,
        1,
        {"site": site_to_dict(site), "written": {}, "virtual": {}},
    )
    return passcode


def listen_on_loopback(storage: Path, port: int = 8123) -> None:
    """
    Serve on 127.0.0.1 only, as Home Assistant 2026.10 keeps it (confirmed).

    Its HTTP settings live in storage; settings in YAML are deprecated and only
    a trial that must be confirmed in the browser.
    """
    path = storage / "http"
    if path.exists():
        return
    storage.mkdir(parents=True, exist_ok=True)
    settings = {
        "server_host": ["127.0.0.1"],
        "server_port": port,
        "cors_allowed_origins": [],
        "login_attempts_threshold": -1,
        "ip_ban_enabled": False,
        "ssl_profile": "modern",
        "use_x_frame_options": True,
        "created_at": datetime.now(UTC).isoformat(),
        "error": None,
        "error_message": None,
    }
    _write(
        path,
        "http",
        2,
        2,
        {"stable": settings, "pending": None, "yaml_migration_done": True},
    )


def _write(path: Path, key: str, version: int, minor: int, data: object) -> None:
    document = {"version": version, "minor_version": minor, "key": key, "data": data}
    path.write_text(json.dumps(document, indent=2))
    path.chmod(0o600)


if __name__ == "__main__":
    listen_on_loopback(Path(sys.argv[1]))
    code = seed(Path(sys.argv[1]))
    if code is not None:
        print(
            "Demo site 'Home' created: virtual locks 'Front door' and 'Garage', and "
            f"'Plumber' with passcode {code} for the front door on Thursdays "
            "13:00-17:00 (shown only in this terminal: again once Home Assistant has started)."
        )
