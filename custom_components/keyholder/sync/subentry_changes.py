"""
What changed in a site's config entry since Keyholder last looked.

Home Assistant calls a config entry's update listener after any change (a
subentry added, changed or removed; the title, data or options) without saying
what changed. A subentry changed in place gets new data or a new title, so a
glance at each one's data object and title tells which changed, instead of
reading every one again: keyholders (and booking calendars, the keyholder of
their guests) are then applied in place, only what changed; anything else (a
lock, the site's settings) needs a reload.

The full names and e-mails of the keyholders are indexed here as well, so that
a new keyholder's are checked against the few that match, not against everyone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from homeassistant.config_entries import ConfigEntry, ConfigSubentry

from ..const import (
    CONF_EMAIL,
    CONF_FAMILY_NAME,
    CONF_GIVEN_NAME,
    SUBENTRY_BOOKING,
    SUBENTRY_GROUP,
    SUBENTRY_KEYHOLDER,
)

PEOPLE = (SUBENTRY_KEYHOLDER, SUBENTRY_BOOKING)
"""Subentry types that are keyholders of the site (applied without a reload)."""
IN_PLACE = (*PEOPLE, SUBENTRY_GROUP)
"""Subentry types applied without a reload: people and access groups."""


def full_name_key(given: str, family: str = "") -> str:
    """Return how a full name is compared (two keyholders may not share it)."""
    return f"{given} {family}".strip().casefold()


def details(subentry: ConfigSubentry) -> dict[str, Any]:
    """Return a keyholder's details as compared with a new one's."""
    if subentry.subentry_type == SUBENTRY_BOOKING:
        return {CONF_GIVEN_NAME: subentry.title}  # a booking calendar's guests
    return dict(subentry.data)


class SubentryChanges:
    """The subentries of a site as Keyholder last saw them, and what changed since."""

    def __init__(
        self, entry: ConfigEntry, known: set[str], groups: Iterable[str] = ()
    ) -> None:
        """
        Start from the entry's locks and settings.

        Every keyholder and access group subentry, and each id of ``known``
        (the keyholders the site's store remembers) and ``groups`` (the groups
        its memberships name), is still to be applied.
        """
        # subentry id -> (data, title, type) as last seen
        self._seen: dict[str, tuple[Mapping[str, Any], str, str]] = {
            sid: (sub.data, sub.title, sub.subentry_type)
            for sid, sub in entry.subentries.items()
            if sub.subentry_type not in IN_PLACE
        }
        self._settings = _settings(entry)
        self._people = set(known)
        self._groups = set(groups)
        self._bookings = False
        self.reload = False
        """Whether something only a reload applies changed (a lock, the settings)."""
        self._names: dict[str, set[str]] = {}
        self._emails: dict[str, set[str]] = {}
        self._keys: dict[str, tuple[str, str]] = {}
        # The mapping of subentries as last looked at (Home Assistant replaces
        # it when one is added or removed); Keyholder's own update about to be
        # made (the subentry and the mapping before it); how many of its own
        # updates, already noted, still have their update listener call to come.
        self._mapping: Mapping[str, ConfigSubentry] = {}
        self._expected: tuple[str, Mapping[str, ConfigSubentry]] | None = None
        self._own = 0
        self.look(entry)

    def expect(self, entry: ConfigEntry, sid: str) -> None:
        """
        Note that Keyholder itself is about to add or remove subentry ``sid``.

        Call it right before the update: the update listener call it makes (at
        once or later) then needs no look at every subentry.
        """
        self._expected = (sid, entry.subentries)

    def look(self, entry: ConfigEntry) -> None:
        """
        Note what changed since the last look (the update listener calls this).

        Home Assistant calls the update listener once per update. A call while
        Keyholder's own updates (already noted) still have theirs to come needs
        no look: such a call comes after it, and the last call of all always
        looks at every subentry.
        """
        if self._take_expected(entry):
            pass  # the call for Keyholder's own update, made at once
        elif self._own and entry.subentries is self._mapping:
            self._own -= 1
        else:
            self._own = 0
            self._look_all(entry)
        if _settings(entry) != self._settings:
            self.reload = True

    def changed_in_place(self, entry: ConfigEntry, sid: str) -> None:
        """
        Note that Keyholder itself has just changed subentry ``sid`` in place.

        Its change is then applied at once (before the update listener call it
        makes, which finds the subentry as noted here); the counts of calls
        still to come are left alone.
        """
        if (sub := entry.subentries.get(sid)) is not None:
            self._seen[sid] = (sub.data, sub.title, sub.subentry_type)
            self._changed(sid, sub.subentry_type, sub)

    def _take_expected(self, entry: ConfigEntry) -> bool:
        """
        Note Keyholder's own update alone, if it is all that changed.

        True when the subentries are those before it, looked at already, with
        its subentry added or removed (the update is made in one go).
        """
        if self._expected is None or entry.subentries is self._expected[1]:
            return False
        (sid, before), after = self._expected, entry.subentries
        self._expected = None
        if before is not self._mapping or len(after) - len(before) not in (-1, 1):
            return False
        if (sid in after) == (sid in before):
            return False
        if (sub := after.get(sid)) is not None:
            self._seen[sid] = (sub.data, sub.title, sub.subentry_type)
            self._changed(sid, sub.subentry_type, sub)
        elif (old := self._seen.pop(sid, None)) is not None:
            self._changed(sid, old[2], None)
        self._mapping = after
        return True

    def _look_all(self, entry: ConfigEntry) -> None:
        """Compare every subentry with how it was last seen."""
        seen, subentries = self._seen, entry.subentries
        for sid, sub in subentries.items():
            old = seen.get(sid)
            if old is not None and old[0] is sub.data and old[1] == sub.title:
                continue
            seen[sid] = (sub.data, sub.title, sub.subentry_type)
            self._changed(sid, sub.subentry_type, sub)
        if len(seen) > len(subentries):
            for sid in seen.keys() - subentries.keys():
                self._changed(sid, seen.pop(sid)[2], None)
        self._mapping = subentries

    def look_added(self, entry: ConfigEntry) -> None:
        """
        Note the subentries added or removed since the last look (not changes).

        A subentry changed in place is noted by the next :meth:`look`, which
        the update listener Home Assistant calls after every change makes.
        """
        if self._take_expected(entry):
            self._own += 1  # its update listener call is still to come
            return
        seen, subentries = self._seen, entry.subentries
        if subentries is self._mapping:
            return
        for sid in subentries.keys() - seen.keys():
            sub = subentries[sid]
            seen[sid] = (sub.data, sub.title, sub.subentry_type)
            self._changed(sid, sub.subentry_type, sub)
        for sid in seen.keys() - subentries.keys():
            self._changed(sid, seen.pop(sid)[2], None)
        self._mapping = subentries

    def _changed(self, sid: str, kind: str, subentry: ConfigSubentry | None) -> None:
        """Note a subentry added, changed or removed (None)."""
        if kind == SUBENTRY_GROUP:
            self._groups.add(sid)
            return
        if kind not in PEOPLE:
            self.reload = True
            return
        self._people.add(sid)
        self._bookings |= kind == SUBENTRY_BOOKING
        self._index(sid, subentry)

    def take_people(self) -> set[str]:
        """Return (and forget) the keyholder subentries seen added, changed, removed."""
        people, self._people = self._people, set()
        return people

    def take_groups(self) -> set[str]:
        """Return (and forget) the access group subentries seen added, changed, removed."""
        groups, self._groups = self._groups, set()
        return groups

    def take_bookings(self) -> bool:
        """Return (and forget) whether a booking subentry was seen changed."""
        bookings, self._bookings = self._bookings, False
        return bookings

    def others(
        self, entry: ConfigEntry, given: str, family: str, email: str
    ) -> list[dict[str, Any]]:
        """Return the details of the keyholders with this full name or e-mail."""
        self.look_added(entry)
        ids = set(self._names.get(full_name_key(given.strip(), family.strip()), ()))
        if email := email.strip().casefold():
            ids.update(self._emails.get(email, ()))
        return [details(entry.subentries[sid]) for sid in sorted(ids)]

    def _index(self, sid: str, subentry: ConfigSubentry | None) -> None:
        """Index the full name and e-mail of one keyholder subentry (None: gone)."""
        if (old := self._keys.pop(sid, None)) is not None:
            for index, key in ((self._names, old[0]), (self._emails, old[1])):
                if ids := index.get(key):
                    ids.discard(sid)
                    if not ids:
                        del index[key]
        if subentry is None:
            return
        data = details(subentry)
        name = full_name_key(data[CONF_GIVEN_NAME], data.get(CONF_FAMILY_NAME, ""))
        email = (data.get(CONF_EMAIL) or "").casefold()
        self._keys[sid] = (name, email)
        self._names.setdefault(name, set()).add(sid)
        if email:
            self._emails.setdefault(email, set()).add(sid)


def _settings(entry: ConfigEntry) -> tuple[Any, ...]:
    """Return what only a reload applies besides the locks: title, data, options."""
    return (entry.title, dict(entry.data), dict(entry.options))
