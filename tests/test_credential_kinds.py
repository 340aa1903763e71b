"""The actions read what a key kind is from the registry of credential kinds.

No lock family holds tags yet (issue 15): a tag key is refused on every lock
today, and one found in the store is reported as not on its locks. Where a test
needs a lock that holds tags, it lets the virtual front door claim to.
"""

from __future__ import annotations

from dataclasses import replace
import json
from pathlib import Path
import re
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
import probatio as vol
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
import yaml

from custom_components.keyholder.access.keys import async_reschedule_key
from custom_components.keyholder.adapters.services import ISSUE_KEY_SCHEMA
from custom_components.keyholder.model.access import grant_for_key
from custom_components.keyholder.model.credentials import CREDENTIAL_KINDS
from custom_components.keyholder.model.serialize import key_grant_id
from custom_components.keyholder.model.values import (
    Key,
    KeyKind,
    LockCapabilities,
    SlotRange,
)

from .conftest import LOCK_FRONT, LOCK_GARAGE, PLUMBER
from .helpers import issue

PACKAGE = Path(__file__).resolve().parents[1] / "custom_components" / "keyholder"
UID = "04A22B9A1C2D3E"


def _translations() -> dict[str, Any]:
    strings: dict[str, Any] = json.loads(
        (PACKAGE / "translations" / "en.json").read_text(encoding="utf-8")
    )
    return strings


def holds_tags(entry: MockConfigEntry, lock_id: str = LOCK_FRONT) -> None:
    """Let a virtual lock claim to hold tags (no family does yet)."""
    provider = entry.runtime_data.locks[lock_id].provider
    slots = {**provider.capabilities.slots, KeyKind.TAG: SlotRange()}
    provider._capabilities = replace(provider.capabilities, slots=slots)


def test_issue_key_offers_the_kinds_that_can_be_issued() -> None:
    issuable = [kind.value for kind, spec in CREDENTIAL_KINDS.items() if spec.issuable]
    assert issuable == ["passcode", "tag"]
    services = yaml.safe_load((PACKAGE / "services.yaml").read_text(encoding="utf-8"))
    field = services["issue_key"]["fields"]["kind"]
    assert field["selector"]["select"]["options"] == issuable
    assert set(_translations()["selector"]["kind"]["options"]) == set(issuable)
    base = {"keyholder": "Plumber", "locks": ["Front door"]}
    for kind in issuable:
        assert ISSUE_KEY_SCHEMA({**base, "kind": kind})["kind"] == kind
    with pytest.raises(vol.Invalid):
        ISSUE_KEY_SCHEMA({**base, "kind": KeyKind.APP.value})


@pytest.mark.parametrize("kind", list(KeyKind))
def test_every_reason_is_translated(kind: KeyKind) -> None:
    spec = CREDENTIAL_KINDS[kind]
    exceptions = _translations()["exceptions"]
    limits = set(spec.limits(LockCapabilities()))
    for reason in spec.reasons:
        message = exceptions[reason]["message"]
        assert set(re.findall(r"{(\w+)}", message)) <= limits, reason


async def test_a_tag_is_refused_where_no_lock_holds_tags(
    hass: HomeAssistant, loaded_site: MockConfigEntry
) -> None:
    with pytest.raises(ServiceValidationError) as err:
        await issue(hass, kind="tag", tag="04:a2:2b:9a", locks=["Front door"])
    assert err.value.translation_key == "kind_not_supported"
    assert err.value.translation_placeholders == {"kind": "tag", "lock": "Front door"}
    assert loaded_site.runtime_data.site.keys == {}


async def test_a_stored_tag_key_is_not_on_a_lock_that_cannot_hold_it(
    hass: HomeAssistant, loaded_site: MockConfigEntry
) -> None:
    runtime = loaded_site.runtime_data
    key = Key("tag", PLUMBER, KeyKind.TAG, frozenset({LOCK_FRONT}), secret=UID)
    runtime.site.put_grant(grant_for_key(key, key_grant_id(key.id)))
    runtime.site.put_key(key)
    await runtime.async_apply_changes({LOCK_FRONT}, keys=[key.id])
    await hass.async_block_till_done()
    assert UID not in runtime.locks[LOCK_FRONT].provider.codes.values()
    assert runtime.queries.not_on_locks(key.id) == [
        {"lock": "Front door", "lock_id": LOCK_FRONT, "reason": "unsupported_kind"}
    ]


async def test_a_tag_is_kept_as_upper_case_hex_and_never_answered(
    hass: HomeAssistant, loaded_site: MockConfigEntry
) -> None:
    holds_tags(loaded_site)
    answer = await issue(hass, kind="tag", tag="04:a2:2b:9a-1c 2d 3e")
    assert set(answer) == {"key_id", "status", "not_on_locks"}
    assert UID not in repr(answer)
    key = loaded_site.runtime_data.site.keys[answer["key_id"]]
    assert (key.kind, key.secret) == (KeyKind.TAG, UID)
    # The same tag, printed another way, is the same tag.
    before = dict(loaded_site.runtime_data.site.keys)
    with pytest.raises(ServiceValidationError) as err:
        await issue(hass, kind="tag", tag=UID.lower())
    assert err.value.translation_key == "tag_in_use"
    assert loaded_site.runtime_data.site.keys == before


@pytest.mark.parametrize(
    ("tag", "error"),
    [
        (None, "tag_required"),
        (" : ", "tag_required"),
        ("04:a2:2b:9g", "tag_not_hex"),
        ("04:a2:2b", "tag_length"),
        ("04a22b9a1", "tag_length"),
    ],
)
async def test_a_bad_tag_changes_nothing(
    hass: HomeAssistant, loaded_site: MockConfigEntry, tag: str | None, error: str
) -> None:
    holds_tags(loaded_site)
    data = {"kind": "tag"} | ({} if tag is None else {"tag": tag})
    with pytest.raises(ServiceValidationError) as err:
        await issue(hass, **data)
    assert err.value.translation_key == error
    assert err.value.translation_placeholders == {
        "min_digits": "8",
        "max_digits": "20",
    }
    assert tag is None or tag not in str(err.value)
    assert loaded_site.runtime_data.site.keys == {}


async def test_a_tag_key_names_the_locks_that_cannot_hold_it(
    hass: HomeAssistant, loaded_site: MockConfigEntry
) -> None:
    holds_tags(loaded_site)
    with pytest.raises(ServiceValidationError) as err:
        await issue(hass, kind="tag", tag=UID, locks=["Front door", "Garage"])
    assert err.value.translation_key == "kind_not_supported"
    assert err.value.translation_placeholders == {"kind": "tag", "lock": "Garage"}


async def test_a_rescheduled_tag_must_be_free_on_its_new_locks(
    hass: HomeAssistant, loaded_site: MockConfigEntry
) -> None:
    holds_tags(loaded_site)
    holds_tags(loaded_site, LOCK_GARAGE)
    first = await issue(hass, kind="tag", tag=UID)
    await issue(hass, kind="tag", tag=UID, locks=["Garage"], keyholder="Alice Owner")
    runtime = loaded_site.runtime_data
    key = runtime.site.keys[first["key_id"]]
    with pytest.raises(ServiceValidationError) as err:
        await async_reschedule_key(
            runtime, key.id, key.schedule, frozenset({LOCK_FRONT, LOCK_GARAGE})
        )
    assert err.value.translation_key == "tag_in_use"
    assert runtime.site.keys[key.id] == key


async def test_a_tag_key_gets_no_passcode(
    hass: HomeAssistant, loaded_site: MockConfigEntry
) -> None:
    holds_tags(loaded_site)
    answer = await issue(hass, kind="tag", tag=UID, passcode="482913")
    key = loaded_site.runtime_data.site.keys[answer["key_id"]]
    assert key.secret == UID
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            "keyholder",
            "generate_passcode",
            {"key_id": key.id},
            blocking=True,
            return_response=True,
        )
    assert err.value.translation_key == "not_a_passcode"
    assert loaded_site.runtime_data.site.keys[key.id] == key
