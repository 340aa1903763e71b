from __future__ import annotations

from datetime import datetime

import pytest

from custom_components.keyholder.engine.model import Key, Keyholder, KeyKind, Site


def test_keyholder_name_and_validation() -> None:
    assert Keyholder("h", "Ada", "Lovelace").name == "Ada Lovelace"
    assert Keyholder("h", "Cleaner").name == "Cleaner"
    with pytest.raises(ValueError, match="aware"):
        Keyholder("h", "Ada", active_from=datetime(2026, 1, 1))


def test_key_used_up() -> None:
    key = Key("k", "h", KeyKind.PASSCODE, frozenset())
    assert not key.used_up
    assert Key("k", "h", KeyKind.PASSCODE, frozenset(), max_uses=1, uses=1).used_up


def test_site_helpers() -> None:
    site = Site()
    site.put_keyholder(Keyholder("h1", "Ada"))
    site.put_keyholder(Keyholder("h2", "Bob"))
    site.put_key(Key("k2", "h1", KeyKind.PASSCODE, frozenset({"front"})))
    site.put_key(Key("k1", "h1", KeyKind.TAG, frozenset({"front", "back"})))
    site.put_key(Key("k3", "h2", KeyKind.APP, frozenset({"back"})))
    site.slots = {"front": {"k1": 1, "k2": 2}, "back": {"k1": 3}}

    assert [key.id for key in site.keys_of("h1")] == ["k1", "k2"]
    assert [key.id for key in site.keys_on("back")] == ["k1", "k3"]
    assert site.keyholder_of(site.keys["k3"]) == site.keyholders["h2"]
    assert site.slot_owner("front", 2) == "k2"
    assert site.slot_owner("front", 9) is None
    assert site.slot_owner("nowhere", 1) is None

    removed = site.remove_keyholder("h1")
    assert removed is not None
    assert removed.id == "h1"
    assert set(site.keys) == {"k3"}
    assert site.slots == {"front": {}, "back": {}}
    assert site.remove_key("k1") is None
    assert site.remove_keyholder("h1") is None
