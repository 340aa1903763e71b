"""Which subentries changed, seen the way Home Assistant changes them."""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from homeassistant.config_entries import ConfigEntry, ConfigSubentry

from custom_components.keyholder.sync.subentry_changes import SubentryChanges


class _Entry:
    """The parts of a config entry that change, changed as Home Assistant does."""

    def __init__(self) -> None:
        self.title = "Home"
        self.data: MappingProxyType[str, Any] = MappingProxyType({})
        self.options: MappingProxyType[str, Any] = MappingProxyType({})
        self.subentries: MappingProxyType[str, ConfigSubentry] = MappingProxyType({})
        self.calls = 0
        """Update listener calls made and not yet run."""

    def add(self, sid: str, given: str, kind: str = "keyholder") -> None:
        sub = ConfigSubentry(
            data=MappingProxyType({"given_name": given}),
            subentry_id=sid,
            subentry_type=kind,
            title=given,
            unique_id=None,
        )
        self.subentries = MappingProxyType({**self.subentries, sid: sub})
        self.calls += 1

    def remove(self, sid: str) -> None:
        self.subentries = MappingProxyType(
            {k: v for k, v in self.subentries.items() if k != sid}
        )
        self.calls += 1

    def rename(self, sid: str, given: str) -> None:
        """Change a subentry in place (``async_update_subentry``)."""
        sub = self.subentries[sid]
        object.__setattr__(sub, "data", MappingProxyType({"given_name": given}))
        object.__setattr__(sub, "title", given)
        self.calls += 1


def _listener_calls(changes: SubentryChanges, entry: _Entry) -> None:
    while entry.calls:
        entry.calls -= 1
        changes.look(entry)  # type: ignore[arg-type]


def _start() -> tuple[_Entry, SubentryChanges]:
    entry = _Entry()
    entry.add("lock", "Front door", kind="lock")
    entry.add("anna", "Anna")
    entry.calls = 0
    changes = SubentryChanges(entry, known={"gone"})  # type: ignore[arg-type]
    assert changes.take_people() == {"anna", "gone"}
    return entry, changes


def _as_entry(entry: _Entry) -> ConfigEntry:
    return entry  # type: ignore[return-value]


def test_own_additions_need_no_look_and_others_are_still_seen() -> None:
    entry, changes = _start()
    # Keyholder adds Ben; before its listener call runs, Anna is renamed in
    # place (a flow) and Carl is added by something else.
    changes.expect(_as_entry(entry), "ben")
    entry.add("ben", "Ben")
    changes.look_added(_as_entry(entry))  # the listener call is still to come
    assert changes.take_people() == {"ben"}
    entry.rename("anna", "Anne")
    entry.add("carl", "Carl")
    assert changes.others(_as_entry(entry), "Carl", "", "") == [{"given_name": "Carl"}]
    _listener_calls(changes, entry)
    assert changes.take_people() == {"anna", "carl"}
    assert changes.others(_as_entry(entry), "anne", "", "") == [{"given_name": "Anne"}]
    assert changes.others(_as_entry(entry), "Anna", "", "") == []
    assert not changes.reload


def test_a_change_in_place_after_an_own_addition_is_seen() -> None:
    entry, changes = _start()
    entry.rename("anna", "Anne")  # its listener call comes first
    changes.expect(_as_entry(entry), "ben")
    entry.add("ben", "Ben")
    changes.look_added(_as_entry(entry))
    _listener_calls(changes, entry)
    assert changes.take_people() == {"ben", "anna"}


def test_own_removal_and_locks() -> None:
    entry, changes = _start()
    changes.expect(_as_entry(entry), "anna")
    entry.remove("anna")
    changes.look(_as_entry(entry))  # the listener called at once
    entry.calls -= 1
    assert changes.take_people() == {"anna"}
    assert changes.others(_as_entry(entry), "Anna", "", "") == []
    entry.rename("lock", "Back door")
    _listener_calls(changes, entry)
    assert changes.reload
