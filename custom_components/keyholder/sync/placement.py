"""
Keys a lock should hold but does not: no free slot, or the lock refused the code.

The planner reports such keys with every pass (``Plan.unplaced``). A site's
:class:`Placements` keeps the latest report of each lock, so that actions, the
panel and the sensors can say where a key is not; logs a warning when a key
starts not fitting; keeps one repair issue per lock and problem (no free slot,
codes refused as duplicates) that goes away by itself once everything fits; and
remembers the codes each lock refused, so that a refused code is not sent to that
lock again until the key gets a new passcode.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir

from ..const import DOMAIN, LOGGER
from ..model.plan import Unplaced, UnplacedReason
from ..model.site import Site
from ..model.values import Key

ISSUES: dict[UnplacedReason, str] = {
    UnplacedReason.NO_FREE_SLOT: "lock_full",
    UnplacedReason.CODE_DUPLICATE: "code_duplicate",
}
"""Problems that raise a repair issue per lock -> the issue's translation key."""


def placement_issue_id(reason: UnplacedReason, lock_id: str) -> str:
    """Return the id of a lock's repair issue about keys that do not fit."""
    return f"{ISSUES[reason]}_{lock_id}"


def placement_issue_ids(lock_id: str) -> list[str]:
    """Return the ids of every such repair issue of a lock."""
    return [placement_issue_id(reason, lock_id) for reason in ISSUES]


def key_label(site: Site, key: Key) -> str:
    """Return how a key is named to people: its keyholder, and its own name."""
    holder = site.keyholders.get(key.keyholder_id)
    owner = holder.name if holder else key.keyholder_id
    return f"{owner} ({key.name})" if key.name else owner


class Placements:
    """Where the keys of one site could not be placed, lock by lock."""

    def __init__(self, hass: HomeAssistant, entry_id: str) -> None:
        """Start with every key placed and nothing refused."""
        self._hass = hass
        self._entry_id = entry_id
        # lock id -> key id -> why the key is not on the lock
        self._unplaced: dict[str, dict[str, UnplacedReason]] = {}
        # (lock id, key id) -> the code the lock refused
        self._refused: dict[tuple[str, str], str] = {}

    # -- codes refused by a lock ---------------------------------------------

    def refuse(self, lock_id: str, key_id: str, code: str) -> None:
        """Remember that a lock refused a key's code (it holds it already)."""
        self._refused[lock_id, key_id] = code

    def refused_keys(self, site: Site, lock_id: str) -> set[str]:
        """
        Return the keys whose current code the lock refused.

        A key with a new passcode (or gone, or no longer on the lock) is
        forgotten: its new code is tried.
        """
        refused = set()
        for (refused_lock, key_id), code in list(self._refused.items()):
            if refused_lock != lock_id:
                continue
            key = site.keys.get(key_id)
            if key is None or key.secret != code or lock_id not in site.locks_of(key):
                del self._refused[refused_lock, key_id]
            else:
                refused.add(key_id)
        return refused

    def forget_refusals(self, lock_id: str) -> None:
        """Try every refused code of a lock again (the other code was removed)."""
        for refused_lock, key_id in list(self._refused):
            if refused_lock == lock_id:
                del self._refused[refused_lock, key_id]

    # -- what the planner reported -------------------------------------------

    def update(
        self, site: Site, lock_id: str, lock_name: str, unplaced: Iterable[Unplaced]
    ) -> set[str]:
        """
        Take a lock's latest report; log keys that start not fitting.

        Returns the keys whose placement on this lock changed.
        """
        now = {item.key_id: item.reason for item in unplaced if item.lock_id == lock_id}
        before = self._unplaced.get(lock_id, {})
        for key_id, reason in now.items():
            if before.get(key_id) is not reason:
                LOGGER.warning(
                    "The key of %s is not on %s (%s)",
                    key_label(site, site.keys[key_id]),
                    lock_name,
                    reason.value,
                )
        if now:
            self._unplaced[lock_id] = now
        else:
            self._unplaced.pop(lock_id, None)
        self._update_issues(site, lock_id, lock_name, now)
        return {
            key_id
            for key_id in before.keys() | now.keys()
            if before.get(key_id) is not now.get(key_id)
        }

    def of_lock(self, lock_id: str) -> Mapping[str, UnplacedReason]:
        """Return key id -> reason for the keys that are not on a lock."""
        return self._unplaced.get(lock_id, {})

    def of_key(self, key_id: str) -> dict[str, UnplacedReason]:
        """Return lock id -> reason for the locks a key should be on but is not."""
        return {
            lock_id: keys[key_id]
            for lock_id, keys in self._unplaced.items()
            if key_id in keys
        }

    def describe(self, key_id: str, names: Mapping[str, str]) -> list[dict[str, str]]:
        """Describe the locks a key is not on: lock name, lock id and reason."""
        return sorted(
            (
                {"lock": names[lock_id], "lock_id": lock_id, "reason": reason.value}
                for lock_id, reason in self.of_key(key_id).items()
                if lock_id in names
            ),
            key=lambda item: (item["lock"].casefold(), item["lock_id"]),
        )

    def reasons(self, lock_id: str) -> dict[str, int]:
        """Return reason -> how many keys are not on a lock for it (no codes)."""
        counts: dict[str, int] = {}
        for reason in self.of_lock(lock_id).values():
            counts[reason.value] = counts.get(reason.value, 0) + 1
        return dict(sorted(counts.items()))

    def _update_issues(
        self,
        site: Site,
        lock_id: str,
        lock_name: str,
        unplaced: Mapping[str, UnplacedReason],
    ) -> None:
        """Raise, update or withdraw the lock's repair issues."""
        for reason, translation_key in ISSUES.items():
            keys = sorted(
                (
                    site.keys[key_id]
                    for key_id, why in unplaced.items()
                    if why is reason
                ),
                key=lambda key: (key.serial, key.id),
            )
            issue_id = placement_issue_id(reason, lock_id)
            if not keys:
                ir.async_delete_issue(self._hass, DOMAIN, issue_id)
                continue
            placeholders: dict[str, Any] = {
                "lock": lock_name,
                "count": str(len(keys)),
                "keys": ", ".join(key_label(site, key) for key in keys),
            }
            ir.async_create_issue(
                self._hass,
                DOMAIN,
                issue_id,
                is_fixable=reason is UnplacedReason.CODE_DUPLICATE,
                is_persistent=False,
                severity=ir.IssueSeverity.WARNING,
                translation_key=translation_key,
                translation_placeholders=placeholders,
                data={"entry_id": self._entry_id, "lock_id": lock_id},
            )
