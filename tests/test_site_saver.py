"""Writes of a site shared by whoever waits for one, and their failures."""

from __future__ import annotations

import asyncio
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
import pytest

from custom_components.keyholder.model.values import Keyholder
from custom_components.keyholder.storage.files import StoreWriteError
from custom_components.keyholder.storage.store import SiteData
from custom_components.keyholder.sync.site_saver import SiteSaver


class _Store:
    """A store whose writes wait for the test, and fail when told to."""

    def __init__(self) -> None:
        self.written: list[set[str]] = []
        self.gate = asyncio.Event()
        self.gate.set()
        self.error: BaseException | None = None
        self.saved_site: dict[str, Any] = {"keyholders": [], "keys": [], "slots": {}}

    async def async_save(self, data: SiteData) -> None:
        held = set(data.site.keyholders)
        await self.gate.wait()
        if self.error is not None:
            raise self.error
        self.written.append(held)


def _saver(hass: HomeAssistant, store: _Store, data: SiteData) -> SiteSaver:
    return SiteSaver(hass, store, data, lambda: None)  # type: ignore[arg-type]


async def test_waiters_share_writes_and_a_late_change_waits_for_the_next(
    hass: HomeAssistant,
) -> None:
    store, data = _Store(), SiteData()
    saver = _saver(hass, store, data)
    store.gate.clear()
    data.site.put_keyholder(Keyholder(id="anna", given_name="Anna"))
    mark = saver.mark()
    first = [hass.async_create_task(saver.async_save()) for _ in range(3)]
    await asyncio.sleep(0)
    await asyncio.sleep(0)  # the write has started
    # A change after it started waits for the next write; a wait for what was
    # changed before it joins it.
    data.site.put_keyholder(Keyholder(id="ben", given_name="Ben"))
    late = hass.async_create_task(saver.async_save())
    joined = hass.async_create_task(saver.async_saved_since(mark))
    store.gate.set()
    await asyncio.gather(*first, late, joined)
    assert store.written == [{"anna"}, {"anna", "ben"}]
    await saver.async_saved_since(mark)  # long done: no write
    assert len(store.written) == 2


@pytest.mark.parametrize("error", [StoreWriteError("OSError"), RuntimeError("boom")])
async def test_a_failed_write_fails_its_waiters_and_undoes(
    hass: HomeAssistant, error: BaseException
) -> None:
    store, data = _Store(), SiteData()
    undone: list[bool] = []
    saver = SiteSaver(hass, store, data, lambda: undone.append(True))  # type: ignore[arg-type]
    mark = saver.mark()
    data.site.put_keyholder(Keyholder(id="anna", given_name="Anna"))
    store.error = error
    with pytest.raises(HomeAssistantError) as raised:
        await saver.async_saved_or_undone(mark, "Home")
    assert raised.value.translation_key == "save_failed"
    assert data.site.keyholders == {}
    assert undone == [True]
    await hass.async_block_till_done(wait_background_tasks=True)
    # The disk takes writes again.
    store.error = None
    data.site.put_keyholder(Keyholder(id="ben", given_name="Ben"))
    await saver.async_saved_or_undone(saver.mark(), "Home")
    assert store.written == [{"ben"}]
