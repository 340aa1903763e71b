"""Store version 2 -> 3 on every lock family: the codes a lock holds stay as they are.

A version-2 key listed its own locks and schedule; version 3 makes it personal
access plus the same key. For each family, the provider writes a site's codes
as Keyholder version 2 placed them (the slots of the stored site), the stored
document is migrated, and the planner and the diff are run on the migrated site
against what the device reports: no set, no clear, and each key in its slot.
"""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest

from custom_components.keyholder.model.operations import diff
from custom_components.keyholder.model.plan import make_plan
from custom_components.keyholder.model.serialize import (
    key_grant_id,
    key_to_dict,
    site_from_dict,
)
from custom_components.keyholder.model.values import (
    CredentialRef,
    Key,
    KeyKind,
    Schedule,
    Window,
)

from ..helpers import P
from .families import Family, family_names

LOCK = "lock_front"
BERLIN = ZoneInfo("Europe/Berlin")
# A Thursday 14:00 in Berlin: the weekly key is inside its window.
NOW = datetime(2026, 3, 5, 13, 0, tzinfo=UTC)


def _v2_document(first: int) -> dict[str, object]:
    """A version-2 site: an always key, a Thursday key and an expired one."""
    keys = [
        Key("k_owner", "h_owner", KeyKind.PASSCODE, frozenset({LOCK}), secret="4826"),
        Key(
            "k_plumber",
            "h_plumber",
            KeyKind.PASSCODE,
            frozenset({LOCK}),
            schedule=Schedule(windows=(Window(frozenset({3}), time(13), time(17)),)),
            secret="5937",
            serial=2,
        ),
        Key(
            "k_gone",
            "h_plumber",
            KeyKind.PASSCODE,
            frozenset({LOCK}),
            schedule=Schedule(valid_until=datetime(2026, 1, 1, tzinfo=UTC)),
            secret="6048",
            serial=3,
        ),
    ]
    return {
        "version": 2,
        "keyholders": [
            {"id": "h_owner", "given_name": "Owner"},
            {"id": "h_plumber", "given_name": "Plumber"},
        ],
        "keys": [
            {k: v for k, v in key_to_dict(key).items() if k in _V2_FIELDS}
            for key in keys
        ],
        "slots": {LOCK: {"k_owner": first, "k_plumber": first + 1}},
    }


_V2_FIELDS = (
    "id",
    "keyholder_id",
    "kind",
    "lock_ids",
    "schedule",
    "secret",
    "max_uses",
    "uses",
    "cancelled",
    "name",
    "serial",
)


@pytest.mark.parametrize("family", family_names(), indirect=True)
async def test_migration_writes_and_clears_nothing(family: Family) -> None:
    provider = await family.async_build()
    await provider.async_read_credentials()
    first = provider.capabilities.slots[KeyKind.PASSCODE].first
    # What version 2 wrote: the owner's and the plumber's codes in their slots.
    written = {P(first): "4826", P(first + 1): "5937"}
    for ref, code in written.items():
        await provider.async_set_credential(ref, code)
    site = site_from_dict(_v2_document(first))
    # Every key became personal access to exactly its own locks and schedule.
    for key in site.keys.values():
        grant = site.grants[key_grant_id(key.id)]
        assert (grant.lock_ids, grant.schedule) == (key.lock_ids, key.schedule)
    plan = make_plan(site, {LOCK: provider.capabilities}, NOW, BERLIN)
    assert {ref: c.key_id for ref, c in plan.desired[LOCK].items()} == {
        P(first): "k_owner",
        P(first + 1): "k_plumber",
    }
    actual: dict[CredentialRef, str | None] = dict(
        await provider.async_read_credentials()
    )
    if not provider.capabilities.can_read_back:
        actual = {ref: written.get(ref, code) for ref, code in actual.items()}
    operations = diff(
        LOCK,
        plan.desired[LOCK],
        actual,
        managed=written.keys(),
        can_read_back=provider.capabilities.can_read_back,
    )
    assert operations == []
    assert await family.async_held() == {first: "4826", first + 1: "5937"}
