from __future__ import annotations

from datetime import datetime

import pytest

from custom_components.keyholder.model.site import Site
from custom_components.keyholder.model.values import (
    CredentialRef,
    Key,
    Keyholder,
    KeyKind,
    LockCapabilities,
    SlotRange,
)

from .strategies import put_own_key

PASSCODE, TAG = KeyKind.PASSCODE, KeyKind.TAG


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
    put_own_key(site, Key("k2", "h1", KeyKind.PASSCODE, frozenset({"front"})))
    put_own_key(site, Key("k1", "h1", KeyKind.TAG, frozenset({"front", "back"})))
    put_own_key(site, Key("k3", "h2", KeyKind.APP, frozenset({"back"})))
    site.slots = {"front": {"k1": 1, "k2": 2}, "back": {"k1": 3}}

    assert [key.id for key in site.keys_of("h1")] == ["k1", "k2"]
    assert [key.id for key in site.keys_on("back")] == ["k1", "k3"]
    assert site.owner_of("front", CredentialRef(PASSCODE, 2)) == "k2"
    assert site.owner_of("front", CredentialRef(TAG, 1)) == "k1"
    # Each kind is numbered on its own: passcode 1 is not tag 1.
    assert site.owner_of("front", CredentialRef(PASSCODE, 1)) is None
    assert site.owner_of("front", CredentialRef(TAG, 2)) is None
    assert site.owner_of("front", CredentialRef(PASSCODE, 9)) is None
    assert site.owner_of("nowhere", CredentialRef(PASSCODE, 1)) is None

    removed = site.remove_keyholder("h1")
    assert removed is not None
    assert removed.id == "h1"
    assert set(site.keys) == {"k3"}
    assert site.slots == {"front": {}, "back": {}}
    assert site.remove_key("k1") is None
    assert site.remove_keyholder("h1") is None


def test_keys_of_follows_every_change() -> None:
    """The index of each keyholder's keys follows adds, replacements and removals."""
    site = Site(
        keys={
            "k1": Key("k1", "h1", KeyKind.PASSCODE, frozenset()),
            "k2": Key("k2", "h2", KeyKind.PASSCODE, frozenset()),
        }
    )
    assert [key.id for key in site.keys_of("h1")] == ["k1"]
    # A replaced key is the new one (and moves if its keyholder changed).
    put_own_key(site, Key("k1", "h1", KeyKind.PASSCODE, frozenset(), uses=2))
    assert site.keys_of("h1")[0].uses == 2
    put_own_key(site, Key("k2", "h1", KeyKind.PASSCODE, frozenset()))
    assert [key.id for key in site.keys_of("h1")] == ["k1", "k2"]
    assert site.keys_of("h2") == []
    site.remove_key("k1")
    assert [key.id for key in site.keys_of("h1")] == ["k2"]
    # Taking over another site's data re-indexes.
    site.replace_all(Site(keys={"k9": Key("k9", "h2", KeyKind.TAG, frozenset())}))
    assert site.keys_of("h1") == []
    assert [key.id for key in site.keys_of("h2")] == ["k9"]


def test_credential_refs_sort_by_kind_then_index() -> None:
    refs = [
        CredentialRef(TAG, 1),
        CredentialRef(PASSCODE, 10),
        CredentialRef(PASSCODE, 2),
    ]
    assert sorted(refs) == [
        CredentialRef(PASSCODE, 2),
        CredentialRef(PASSCODE, 10),
        CredentialRef(TAG, 1),
    ]
    assert str(CredentialRef(TAG, 3)) == "tag 3"
    assert len({CredentialRef(PASSCODE, 1), CredentialRef(PASSCODE, 1)}) == 1


def test_capabilities_say_how_many_of_each_kind() -> None:
    default = LockCapabilities()
    assert default.credential_kinds == {PASSCODE}
    assert default.slots[PASSCODE] == SlotRange(1, 30)
    caps = LockCapabilities(
        slots={PASSCODE: SlotRange(1, 5, frozenset({1})), TAG: SlotRange(0, 2)}
    )
    assert caps.credential_kinds == {PASSCODE, TAG}
    assert not caps.usable(CredentialRef(PASSCODE, 1))  # reserved
    assert caps.usable(CredentialRef(PASSCODE, 5))
    assert not caps.usable(CredentialRef(PASSCODE, 6))
    assert caps.usable(CredentialRef(TAG, 0))
    assert not caps.usable(CredentialRef(KeyKind.APP, 1))
