"""
Nothing is answered as done unless it is on disk, and no copy of a secret is left.

The ``files`` fixture (conftest.py) keeps Keyholder's stores in real files of a
temporary configuration directory, so Home Assistant's real write path runs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from unittest.mock import patch

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.keyholder.access.keys import async_issue_key
from custom_components.keyholder.const import DOMAIN
from custom_components.keyholder.model.values import ALWAYS, KeyKind
from custom_components.keyholder.storage.files import KeyholderFile

from .conftest import LOCK_FRONT, PLUMBER
from .helpers import issue

MAIN = f"{DOMAIN}.site_home"


async def _start(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()


def _saved_keys(storage: Path) -> list[dict[str, Any]]:
    document = json.loads((storage / MAIN).read_text())
    keys: list[dict[str, Any]] = document["data"]["site"]["keys"]
    return keys


def _names(storage: Path) -> list[str]:
    return sorted(path.name for path in storage.iterdir())


def _disk_full(store: KeyholderFile, mode: str, data: str | bytes) -> None:
    raise OSError(28, "No space left on device")


async def test_failed_write_fails_the_action_and_changes_nothing(
    hass: HomeAssistant, site_entry: MockConfigEntry, files: Path
) -> None:
    await _start(hass, site_entry)
    first = await issue(hass)
    runtime = site_entry.runtime_data
    held_before = dict(runtime.data.virtual[LOCK_FRONT])
    keys_before = dict(runtime.site.keys)

    with (
        patch.object(KeyholderFile, "_write_prepared_data", _disk_full),
        pytest.raises(HomeAssistantError) as raised,
    ):
        await issue(hass, passcode="483920")
    assert raised.value.translation_key == "save_failed"
    assert "OSError" in str(raised.value.translation_placeholders)
    await hass.async_block_till_done()

    # The model, the lock and the file are as they were: only the first key.
    assert runtime.site.keys == keys_before
    assert runtime.data.virtual[LOCK_FRONT] == held_before
    assert "483920" not in runtime.data.virtual[LOCK_FRONT].values()
    assert [key["id"] for key in _saved_keys(files)] == [first["key_id"]]
    listed = await hass.services.async_call(
        DOMAIN, "list_keys", {}, blocking=True, return_response=True
    )
    assert [key["key_id"] for key in listed["keys"]] == [first["key_id"]]

    # Once the disk takes writes again, the same call works and is saved.
    second = await issue(hass, passcode="483920")
    assert "483920" in runtime.data.virtual[LOCK_FRONT].values()
    assert {key["id"] for key in _saved_keys(files)} == {
        first["key_id"],
        second["key_id"],
    }


async def test_unwritable_value_is_not_answered_and_later_saves_work(
    hass: HomeAssistant, site_entry: MockConfigEntry, files: Path
) -> None:
    """A value JSON cannot hold (past validation) must not break every later save."""
    await _start(hass, site_entry)
    runtime = site_entry.runtime_data
    with pytest.raises(HomeAssistantError) as raised:
        await async_issue_key(
            runtime,
            keyholder_id=PLUMBER,
            lock_ids=frozenset({LOCK_FRONT}),
            kind=KeyKind.PASSCODE,
            schedule=ALWAYS,
            max_uses=10**20,
            passcode=None,
            tag=None,
            passcode_length=6,
        )
    assert raised.value.translation_key == "save_failed"
    assert runtime.site.keys == {}
    assert runtime.data.virtual.get(LOCK_FRONT, {}) == {}

    # The bad key is gone, so the next key is saved and listed as usual.
    issued = await issue(hass)
    assert [key["id"] for key in _saved_keys(files)] == [issued["key_id"]]


def _ha_tmp_copy(storage: Path, name: str, key: str, secret: str) -> Path:
    """Write a file like Home Assistant's atomic writer leaves when killed."""
    storage.mkdir(parents=True, exist_ok=True)
    path = storage / name
    document = {
        "version": 1,
        "minor_version": 1,
        "key": key,
        "data": {"site": {"keys": [{"secret": secret}]}},
    }
    path.write_text(json.dumps(document, indent=2))
    return path


async def test_copies_left_by_a_crash_are_removed_at_start(
    hass: HomeAssistant, site_entry: MockConfigEntry, files: Path
) -> None:
    ours = _ha_tmp_copy(files, "tmpa1b2c3d4", MAIN, "555123")
    our_backup = _ha_tmp_copy(files, "tmpzz99yy88", f"{MAIN}.backup", "555123")
    own_tmp = files / f"{MAIN}.tmp"
    own_tmp.write_text('{"version": 1, "key": "keyholder.site_home", "da')
    other_site = _ha_tmp_copy(files, "tmpq1w2e3r4", f"{DOMAIN}.site_other", "1")
    foreign = _ha_tmp_copy(files, "tmpforeign1", "core.config_entries", "x")
    not_json = files / "tmpbinary"
    not_json.write_bytes(b"\x00\xff not a store")

    await _start(hass, site_entry)
    assert not ours.exists()
    assert not our_backup.exists()
    assert not own_tmp.exists()
    # Files of other sites and other integrations are never touched.
    assert other_site.exists()
    assert foreign.exists()
    assert not_json.exists()

    # Keyholder's own writes never go through Home Assistant's tmp* files.
    await issue(hass)
    names = _names(files)
    assert [name for name in names if name.startswith("tmp")] == sorted(
        ["tmpq1w2e3r4", "tmpforeign1", "tmpbinary"]
    )
    assert f"{MAIN}.tmp" not in names
    assert MAIN in names


async def test_interrupted_write_leaves_no_copy(
    hass: HomeAssistant, site_entry: MockConfigEntry, files: Path
) -> None:
    """A write that fails after its temporary file was written removes it."""
    await _start(hass, site_entry)

    def fail_rename(src: Any, dst: Any) -> None:
        raise OSError(5, "I/O error")

    with (
        patch("custom_components.keyholder.storage.files.os.replace", fail_rename),
        pytest.raises(HomeAssistantError),
    ):
        await issue(hass)
    assert [name for name in _names(files) if "tmp" in name] == []


async def test_removing_the_site_removes_leftovers(
    hass: HomeAssistant, site_entry: MockConfigEntry, files: Path
) -> None:
    await _start(hass, site_entry)
    await issue(hass)
    leftover = _ha_tmp_copy(files, "tmpl3ft0v3r", MAIN, "555123")
    own_tmp = files / f"{MAIN}.backup.tmp"
    own_tmp.write_text("{")
    assert await hass.config_entries.async_remove(site_entry.entry_id)
    await hass.async_block_till_done()
    assert not leftover.exists()
    assert not own_tmp.exists()
    assert not (files / MAIN).exists()


async def test_what_the_file_holds_is_not_written_again(
    hass: HomeAssistant, site_entry: MockConfigEntry, files: Path
) -> None:
    """A restart or a pass that changes nothing costs no write; a failed one is redone."""
    written: list[str] = []
    real_write = KeyholderFile._write_prepared_data

    def _counting(store: KeyholderFile, mode: str, data: str | bytes) -> None:
        real_write(store, mode, data)
        written.append(store.key)

    with patch.object(KeyholderFile, "_write_prepared_data", _counting):
        await _start(hass, site_entry)
        issued = await issue(hass)
        assert MAIN in written
        runtime = site_entry.runtime_data

        # A restart with nothing changed: the main file is not rewritten. (The
        # first unload saves what the key's pass wrote to the lock: one write
        # per pass, so that is saved with the next write.)
        assert await hass.config_entries.async_reload(site_entry.entry_id)
        await hass.async_block_till_done()
        written.clear()
        assert await hass.config_entries.async_reload(site_entry.entry_id)
        await hass.async_block_till_done()
        runtime = site_entry.runtime_data
        await runtime.async_apply_changes()
        assert MAIN not in written

        # A write that failed is not taken for what the file holds.
        with (
            patch.object(KeyholderFile, "_write_prepared_data", _disk_full),
            pytest.raises(HomeAssistantError),
        ):
            await issue(hass, passcode="483920")
        await runtime.async_apply_changes()
        assert MAIN in written
    assert [key["id"] for key in _saved_keys(files)] == [issued["key_id"]]
