from __future__ import annotations

import copy
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta, timezone
import json
from pathlib import Path
from typing import Any

from hypothesis import given, strategies as st
import pytest

from custom_components.keyholder.model import serialize
from custom_components.keyholder.model.serialize import (
    MIGRATIONS,
    STORAGE_VERSION,
    KeyDicts,
    credentials_from_dict,
    credentials_to_dict,
    migrate,
    site_from_dict,
    site_to_dict,
)
from custom_components.keyholder.model.site import Site
from custom_components.keyholder.model.values import (
    CredentialRef,
    Key,
    Keyholder,
    KeyKind,
    Role,
    Schedule,
    Window,
)

from .strategies import BERLIN, PROPERTY_SETTINGS, put_own_key, sites, zones


def sample_site() -> Site:
    site = Site()
    site.put_keyholder(
        Keyholder(
            "h1",
            "Pat",
            "Plumber",
            email="pat@example.com",
            role=Role.MANAGER,
            active_from=datetime(2026, 4, 1, 8, tzinfo=timezone(timedelta(hours=2))),
            expires_on=date(2026, 4, 30),
            blocked=True,
        )
    )
    put_own_key(
        site,
        Key(
            "k1",
            "h1",
            KeyKind.PASSCODE,
            frozenset({"front", "back"}),
            schedule=Schedule(
                windows=(Window(frozenset({3, 1}), time(13), time(17, 30, 5)),),
                valid_from=datetime(2026, 4, 1, tzinfo=BERLIN),
                valid_until=datetime(2026, 4, 10, tzinfo=UTC),
            ),
            secret="482913",
            max_uses=3,
            uses=1,
            name="Plumber code",
            serial=7,
        ),
    )
    site.slots = {"front": {"k1": 4}}
    return site


def test_document_shape() -> None:
    data = site_to_dict(sample_site())
    assert data["version"] == STORAGE_VERSION
    holder = data["keyholders"][0]
    assert holder["active_from"] == "2026-04-01T06:00:00+00:00"
    assert holder["expires_on"] == "2026-04-30"
    assert holder["role"] == "manager"
    key = data["keys"][0]
    assert key["lock_ids"] == ["back", "front"]
    assert key["schedule"]["windows"] == [
        {"days": [1, 3], "start": "13:00:00", "end": "17:30:05"}
    ]
    assert key["schedule"]["valid_from"] == "2026-03-31T22:00:00+00:00"
    assert data["slots"] == {"front": {"k1": 4}}
    assert key["serial"] == 7
    assert json.loads(json.dumps(data)) == data
    restored = site_from_dict(data)
    assert restored == sample_site()


def test_defaults_and_naive_datetimes_are_utc() -> None:
    data: dict[str, Any] = {
        "keyholders": [
            {"id": "h", "given_name": "Ann", "active_from": "2026-01-01T10:00:00"}
        ],
        "keys": [{"id": "k", "keyholder_id": "h", "kind": "tag"}],
    }
    site = site_from_dict(data)
    holder = site.keyholders["h"]
    assert holder.active_from == datetime(2026, 1, 1, 10, tzinfo=UTC)
    assert holder.role is Role.KEYHOLDER
    assert not holder.blocked
    key = site.keys["k"]
    assert key.serial == 0
    assert key.schedule == Schedule()
    assert key.lock_ids is None  # no limit: whatever the access allows
    assert site.slots == {}


@PROPERTY_SETTINGS
@given(st.data())
def test_round_trip(data: st.DataObject) -> None:
    tz = data.draw(zones)
    site = data.draw(sites(tz))
    site.slots = data.draw(
        st.dictionaries(
            st.sampled_from(["front", "back"]),
            st.dictionaries(
                st.sampled_from(sorted(site.keys) or ["x"]), st.integers(1, 250)
            ),
        )
    )
    document = site_to_dict(site)
    encoded = json.dumps(document)
    restored = site_from_dict(json.loads(encoded))
    assert restored == site
    assert site_to_dict(restored) == document


def test_migration_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    def v0_to_v1(data: dict[str, Any]) -> dict[str, Any]:
        # Version 0 called keyholders "people" and stored one name.
        people = data.pop("people")
        data["keyholders"] = [
            {"id": person["id"], "given_name": person["name"]} for person in people
        ]
        return data

    def migrate_site(document: dict[str, Any]) -> dict[str, Any]:
        site = dict(document["site"])
        return {**document, "site": {**v0_to_v1(site), "version": 1}}

    monkeypatch.setattr(
        serialize, "MIGRATIONS", {0: migrate_site, 1: MIGRATIONS[1], 2: MIGRATIONS[2]}
    )
    old = {"version": 0, "people": [{"id": "h", "name": "Ann"}], "keys": []}
    site = site_from_dict(old)
    assert site.keyholders["h"].name == "Ann"
    assert old["version"] == 0  # the caller's document is not modified in place
    document = {"site": {"version": STORAGE_VERSION, "keys": []}}
    assert migrate(document, STORAGE_VERSION) == document


def test_migration_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(serialize, "MIGRATIONS", {})
    with pytest.raises(ValueError, match="no migration"):
        migrate({}, 0)
    with pytest.raises(ValueError, match="newer"):
        site_from_dict({"version": STORAGE_VERSION + 1})


def test_site_to_dict_reuses_the_dicts_of_unchanged_keys() -> None:
    first = Key("k1", "h1", KeyKind.PASSCODE, frozenset({"front"}), secret="4821")
    second = Key("k2", "h1", KeyKind.PASSCODE, frozenset({"front"}), secret="5821")
    site = Site(keyholders={"h1": Keyholder("h1", "Pat")})
    put_own_key(site, first)
    put_own_key(site, second)
    cache: KeyDicts = {}
    before = site_to_dict(site, cache)
    assert before == site_to_dict(site)

    put_own_key(site, replace(second, uses=1))
    site.remove_key("k1")
    put_own_key(site, replace(first, id="k3"))
    after = site_to_dict(site, cache)
    assert after == site_to_dict(site)  # the same document as without a cache
    assert [key["uses"] for key in after["keys"]] == [1, 0]
    assert [key["id"] for key in after["keys"]] == ["k2", "k3"]
    assert {item_id for kind, item_id in cache if kind == "key"} == {"k2", "k3"}
    site.put_keyholder(Keyholder("h1", "Pat", "Smith"))
    unchanged = site_to_dict(site, cache)
    assert unchanged == site_to_dict(site)
    assert unchanged["keyholders"][0]["family_name"] == "Smith"
    assert all(a is b for a, b in zip(unchanged["keys"], after["keys"], strict=True))


FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "store_v1"


def _stored(name: str) -> dict[str, Any]:
    """Return the data part of a file of the version 1 fixture site."""
    document: dict[str, Any] = json.loads((FIXTURE / name).read_text())
    assert document["version"] == 1
    return document["data"]


def test_version_1_slot_records_become_passcode_credentials() -> None:
    """Every per-lock record keyed by slot is keyed by passcode index after the step."""
    main = _stored("keyholder.site_v1")
    before = copy.deepcopy(main)
    migrated = migrate(main, 1)
    assert main == before  # the stored document is not changed in place
    assert migrated["site"] == {
        **main["site"],
        "grants": migrated["site"]["grants"],
        "version": STORAGE_VERSION,
    }
    # Version 3: each key's own locks and schedule became personal access.
    assert [
        (g["keyholder_id"], g["lock_ids"], g["schedule"])
        for g in migrated["site"]["grants"]
    ] == [
        (k["keyholder_id"], sorted(k["lock_ids"]), k["schedule"])
        for k in main["site"]["keys"]
    ]
    for name in ("written", "virtual"):
        assert set(migrated[name]) == set(main[name])
        for lock_id, slots in main[name].items():
            assert migrated[name][lock_id] == ({"passcode": slots} if slots else {})
    assert migrated["targets"] == main["targets"]
    assert migrated["bookings"] == main["bookings"]
    # Read back: the same codes at the same indices, every one a passcode.
    written = credentials_from_dict(migrated["written"])
    for lock_id, slots in main["written"].items():
        assert written[lock_id] == {
            CredentialRef(KeyKind.PASSCODE, int(slot)): code
            for slot, code in slots.items()
        }
    # The site itself (keys, uses, slot records) is read as it was.
    assert site_from_dict(migrated["site"]) == site_from_dict(main["site"])
    assert site_to_dict(site_from_dict(main["site"]))["slots"] == main["site"]["slots"]
    # What the current code writes again is what the migration made.
    assert credentials_to_dict(written) == migrated["written"]


def test_version_1_pending_writes_and_lock_memories_migrate() -> None:
    pending = _stored("keyholder.site_v1.pending")
    assert migrate(pending, 1) == {
        "pending": {
            lock_id: {"passcode": slots}
            for lock_id, slots in pending["pending"].items()
        }
    }
    # A TTLock's numbering and a cleared slot (None) of a pending write too.
    document = {
        "virtual": {"shed": {"2": "4711"}, "empty": {}},
        "pending": {"front": {"3": None, "4": "5812"}},
    }
    migrated = migrate(document, 1)
    assert migrated == {
        "virtual": {"shed": {"passcode": {"2": "4711"}}, "empty": {}},
        "pending": {"front": {"passcode": {"3": None, "4": "5812"}}},
    }
    assert credentials_from_dict(migrated["pending"]) == {
        "front": {
            CredentialRef(KeyKind.PASSCODE, 3): None,
            CredentialRef(KeyKind.PASSCODE, 4): "5812",
        }
    }


def test_credentials_round_trip_by_kind() -> None:
    records = {
        "front": {
            CredentialRef(KeyKind.TAG, 1): "04A1B2C3",
            CredentialRef(KeyKind.PASSCODE, 10): "482913",
            CredentialRef(KeyKind.PASSCODE, 2): "593024",
        },
        "garage": {},
    }
    out = credentials_to_dict(records)
    assert out == {
        "front": {
            "passcode": {"2": "593024", "10": "482913"},
            "tag": {"1": "04A1B2C3"},
        },
        "garage": {},
    }
    assert credentials_from_dict(json.loads(json.dumps(out))) == records
    with pytest.raises(ValueError, match="bogus"):
        credentials_from_dict({"front": {"bogus": {"1": "x"}}})
    with pytest.raises(ValueError, match="invalid literal"):
        credentials_from_dict({"front": {"passcode": {"one": "x"}}})
