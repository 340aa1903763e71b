"""Base entity of Keyholder: one device per lock and one per keyholder."""

from __future__ import annotations

from collections.abc import Callable

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import callback
from homeassistant.exceptions import Unauthorized, UnknownUser
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import DOMAIN
from .sync.runtime import KeyholderRuntime


class KeyholderEntity(Entity):
    """An entity that follows the site's runtime (pushed, never polled)."""

    _attr_has_entity_name = True
    _attr_should_poll = False

    def __init__(self, runtime: KeyholderRuntime, device_id: str, key: str) -> None:
        """Attach the entity to a lock's or keyholder's device."""
        self.runtime = runtime
        # What the entity shows: its lock or keyholder (written again when a
        # change concerns it); None for what the whole site makes up.
        self._scope: str | None = device_id
        self._attr_unique_id = f"{device_id}_{key}"
        self._attr_translation_key = key
        self._attr_device_info = DeviceInfo(identifiers={(DOMAIN, device_id)})
        # What was written last: available, state and attributes.
        self._shown: tuple[object, ...] | None = None

    async def async_added_to_hass(self) -> None:
        """Write a new state whenever the runtime reports a change."""
        self.async_on_remove(
            self.runtime.listeners.add(self._handle_update, self._scope)
        )

    def _handle_update(self) -> None:
        # A change in the site calls every entity of the scope it concerns;
        # only those whose state or attributes changed are written.
        shown = (
            self.available,
            self.state,
            self.state_attributes,
            self.extra_state_attributes,
        )
        if shown != self._shown:
            self._shown = shown
            self.async_write_ha_state()

    async def async_require_admin(self) -> None:
        """
        Refuse a change of access unless an administrator asked for it.

        Any user may call any entity's actions, so an entity that changes
        access checks the caller like Keyholder's actions do. Automations and
        scripts act without a user and may. The context is the one the action
        helper set just before calling the handler: read before any await.
        """
        context = self._context
        user_id = context.user_id if context else None
        if user_id is None:
            return
        user = await self.hass.auth.async_get_user(user_id)
        if user is None:
            raise UnknownUser(context=context, user_id=user_id)
        if not user.is_admin:
            raise Unauthorized(context=context, user_id=user_id)


def lock_device(runtime: KeyholderRuntime, lock_id: str) -> DeviceInfo:
    """Return the device of a lock."""
    return DeviceInfo(
        identifiers={(DOMAIN, lock_id)},
        name=runtime.locks[lock_id].name,
        manufacturer="Keyholder",
        model=runtime.locks[lock_id].provider.model,
    )


def keyholder_device(runtime: KeyholderRuntime, keyholder_id: str) -> DeviceInfo:
    """Return the device of a keyholder."""
    return DeviceInfo(
        identifiers={(DOMAIN, keyholder_id)},
        name=runtime.queries.keyholder(keyholder_id).name,
        manufacturer="Keyholder",
        model="Keyholder",
    )


class KeyholderPersonEntity(KeyholderEntity):
    """An entity on a keyholder's device."""

    def __init__(self, runtime: KeyholderRuntime, keyholder_id: str, key: str) -> None:
        """Attach the entity to the keyholder's device."""
        super().__init__(runtime, keyholder_id, key)
        self._keyholder_id = keyholder_id
        self._attr_device_info = keyholder_device(runtime, keyholder_id)

    @property
    def available(self) -> bool:
        """Return False once the keyholder is removed (the entity follows)."""
        return self._keyholder_id in self.runtime.site.keyholders


def async_add_keyholder_entities(
    entry: ConfigEntry[KeyholderRuntime],
    async_add_entities: AddConfigEntryEntitiesCallback,
    factory: Callable[[KeyholderRuntime, str], Entity],
) -> None:
    """Add an entity per keyholder, now and for keyholders added later."""
    runtime = entry.runtime_data

    @callback
    def add(keyholder_id: str) -> None:
        async_add_entities(
            [factory(runtime, keyholder_id)], config_subentry_id=keyholder_id
        )

    for keyholder_id in runtime.site.keyholders:
        add(keyholder_id)
    entry.async_on_unload(runtime.listeners.add_keyholder(add))
