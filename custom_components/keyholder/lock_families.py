"""
The lock families Keyholder drives: one table that everything else reads.

The lock flow's menu, the provider factory and the lock platform read
:data:`FAMILIES`; the manifest's discovery matchers are checked against it.
Adding a lock family is a module under ``providers/`` (its provider and
``from_subentry``), its entry here, its flow step (``async_step_<id>`` of the
lock subentry flow, with its translations) and its entry in the contract suite
(``tests/contract/families.py``); a test fails while one of them is missing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from .const import CONF_PROVIDER
from .families import (
    LockProvider,
    LockSetup,
    matter,
    ttlock,
    virtual,
    zha,
    zigbee2mqtt,
    zwave_js,
)
from .lock_entities import TTLockEntity, VirtualLockEntity
from .model.values import CredentialRef

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant
    from homeassistant.helpers.entity import Entity

    from .sync.runtime import KeyholderRuntime


@dataclass(frozen=True, kw_only=True)
class LockFamily[P: LockProvider]:
    """One lock family: how its locks are added, built and shown."""

    id: str
    """Stored as the subentry's ``provider``; also the lock menu's option (its
    label is ``selector.provider.options.<id>``) and the id of the family's
    flow step (``async_step_<id>``, used to add and to reconfigure a lock)."""
    provider: type[P]
    create: Callable[[LockSetup], P]
    """Build the provider of one lock from its subentry data."""
    entity: Callable[[KeyholderRuntime, str, P], Entity] | None = None
    """The lock entity Keyholder adds for such a lock (None: the lock's own
    integration shows it)."""
    bluetooth: tuple[Mapping[str, Any], ...] = ()
    """Bluetooth discovery matchers (the manifest lists them)."""

    def lock_entity(
        self, runtime: KeyholderRuntime, lock_id: str, provider: LockProvider
    ) -> Entity | None:
        """Return the lock entity of ``provider``, if the family has one."""
        if self.entity is None or not isinstance(provider, self.provider):
            return None
        return self.entity(runtime, lock_id, provider)


DEFAULT_FAMILY: Final = virtual.PROVIDER_VIRTUAL
"""The family of a lock subentry that names none, and the menu's default."""

# In the lock menu's order.
FAMILIES: Final[Mapping[str, LockFamily[Any]]] = {
    family.id: family
    for family in (
        LockFamily(
            id=virtual.PROVIDER_VIRTUAL,
            provider=virtual.VirtualLock,
            create=virtual.from_subentry,
            entity=VirtualLockEntity,
        ),
        LockFamily(
            id=zwave_js.PROVIDER_ZWAVE_JS,
            provider=zwave_js.ZwaveJSLock,
            create=zwave_js.from_subentry,
        ),
        LockFamily(
            id=zigbee2mqtt.PROVIDER_ZIGBEE2MQTT,
            provider=zigbee2mqtt.Zigbee2MqttLock,
            create=zigbee2mqtt.from_subentry,
        ),
        LockFamily(
            id=matter.PROVIDER_MATTER,
            provider=matter.MatterLock,
            create=matter.from_subentry,
        ),
        LockFamily(
            id=ttlock.PROVIDER_TTLOCK,
            provider=ttlock.TTLockLock,
            create=ttlock.from_subentry,
            entity=TTLockEntity,
            bluetooth=({"manufacturer_id": 773, "connectable": True},),
        ),
        LockFamily(
            id=zha.PROVIDER_ZHA,
            provider=zha.ZhaLock,
            create=zha.from_subentry,
        ),
    )
}


def family_of(data: Mapping[str, Any]) -> LockFamily[Any]:
    """Return the family of a lock subentry (KeyError for an unknown one)."""
    return FAMILIES[data.get(CONF_PROVIDER, DEFAULT_FAMILY)]


def create_provider(
    hass: HomeAssistant,
    lock_id: str,
    data: Mapping[str, Any],
    memories: dict[str, dict[CredentialRef, str]],
) -> LockProvider:
    """
    Return the provider of a lock subentry.

    ``memories`` holds what locks keep with the site (lock id -> ref -> code).
    """
    provider: LockProvider = family_of(data).create(
        LockSetup(hass, lock_id, data, memories)
    )
    return provider
