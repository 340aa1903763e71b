"""Switch: a keyholder's access (off = blocked; keys stay but stop working)."""

from __future__ import annotations

from typing import Any

from homeassistant.components.switch import SwitchEntity
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from . import KeyholderConfigEntry
from .access.keys import async_set_blocked
from .entity import KeyholderPersonEntity, async_add_keyholder_entities
from .sync.runtime import KeyholderRuntime

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: KeyholderConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add an access switch per keyholder."""
    async_add_keyholder_entities(entry, async_add_entities, AccessSwitch)


class AccessSwitch(KeyholderPersonEntity, SwitchEntity):
    """On: the keyholder's keys work. Off: blocked."""

    def __init__(self, runtime: KeyholderRuntime, keyholder_id: str) -> None:
        """Create the switch of one keyholder."""
        super().__init__(runtime, keyholder_id, "access")

    @property
    def is_on(self) -> bool:
        """Return True unless the keyholder is blocked."""
        return not self.runtime.queries.keyholder(self._keyholder_id).blocked

    async def async_turn_on(self, **kwargs: Any) -> None:
        """Unblock: restore exactly the keys the keyholder had (admins only)."""
        await self.async_require_admin()
        await async_set_blocked(self.runtime, self._keyholder_id, blocked=False)

    async def async_turn_off(self, **kwargs: Any) -> None:
        """Block: every key of the keyholder leaves the locks (admins only)."""
        await self.async_require_admin()
        await async_set_blocked(self.runtime, self._keyholder_id, blocked=True)
