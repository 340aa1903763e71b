"""
Zigbee locks paired with Home Assistant's own ZHA integration.

Codes are written and cleared through ZHA's lock actions ``set_lock_user_code``
and ``clear_lock_user_code`` (``code_slot`` from 1; ZHA sends user ``slot - 1``
over the air). Clearing is an ordinary ``zha.clear_lock_user_code`` call; a code
is written by calling the zha lock entity's own handler of
``zha.set_lock_user_code``, because every action call is announced on the event
bus with its data (and recorded), which would leave the code there. ZHA offers no action that reads a code or a slot's status back,
so this provider cannot see what the lock holds: it keeps its own record of the
passcode slots it wrote (on disk, so a restart does not forget codes still on
the lock; version 1 of that file listed bare slot numbers) and reports those as
occupied with a hidden code (``can_read_back`` is False).
Codes programmed at the lock itself are therefore invisible to Keyholder: the
lock's settings give Keyholder a range of slots (first slot and count) that
must leave them alone, or Keyholder may overwrite them.

Keypad use arrives as ``zha_event`` with ``command: operation_event_notification``
from the DoorLock cluster (0x0101) and ``args`` ``{"source": "Keypad",
"operation": "Unlock", "code_slot": N}``, already numbered like the actions;
a wrong PIN as the operation ``UnlockFailureInvalidPINorID`` (or ``Lock...``).

Home Assistant skips unavailable entities in entity actions without an error,
so the provider checks the lock entity before and after every call. ZHA does
not look at the lock's answer to a PIN command either: a lock that refuses a
code with a failure status is not noticed (only a lock that does not answer or
cannot be reached is). Nothing here logs a code.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Mapping
from typing import Any, Final

from homeassistant.const import ATTR_DEVICE_ID, ATTR_ENTITY_ID
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError, ServiceNotFound
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.storage import Store

from ..const import CONF_LOCK_ENTITY, CONF_PIN_MAX, CONF_PIN_MIN, CONF_SLOTS
from ..model.values import CredentialRef, KeyKind, LockCapabilities, SlotRange
from . import (
    LockSetup,
    ProviderError,
    Refusal,
    Validity,
    check_kind,
    platform_lock_entity,
)
from .entity import LockEntityProvider

PROVIDER_ZHA: Final = "zha"
CONF_FIRST_SLOT: Final = "first_slot"
ZHA_DOMAIN: Final = "zha"
EVENT_ZHA: Final = "zha_event"
DOOR_LOCK_CLUSTER: Final = 0x0101
OPERATION_EVENT: Final = "operation_event_notification"
# Keypad operations refused for a wrong PIN (not for a right one out of schedule).
REFUSED_OPERATIONS: Final = frozenset(
    {"LockFailureInvalidPINorID", "UnlockFailureInvalidPINorID"}
)
DEFAULT_SLOTS: Final = 20
# The ZCL's PIN codes: at most 8 digits on most locks, at least 4.
DEFAULT_PIN_MIN: Final = 4
DEFAULT_PIN_MAX: Final = 8
STORAGE_VERSION: Final = 2
PASSCODE: Final = KeyKind.PASSCODE


class _WrittenFile(Store[dict[str, Any]]):
    """
    The passcode slots a ZHA provider wrote: ``{"entity_id", "written"}``.

    ``written`` maps a credential kind to its indices, e.g. ``{"passcode":
    [3, 10]}``; version 1 listed passcode slots as ``"slots"``.
    """

    async def _async_migrate_func(
        self, old_major_version: int, old_minor_version: int, old_data: Any
    ) -> dict[str, Any]:
        """Turn version 1's slot list into passcode indices."""
        if old_major_version == 1 and isinstance(old_data, dict):
            return {
                "entity_id": old_data.get("entity_id"),
                "written": {PASSCODE.value: old_data.get("slots", [])},
            }
        return dict(old_data)


class ZhaLock(LockEntityProvider):
    """A Zigbee door lock known to Home Assistant's zha integration."""

    model = "ZHA lock"
    # Nothing to read back: a write is done once ZHA's action returns.
    settle_seconds = 0.0

    def __init__(
        self,
        hass: HomeAssistant,
        entity_id: str,
        *,
        lock_id: str,
        slots: int,
        pin_min: int,
        pin_max: int,
        first_slot: int = 1,
    ) -> None:
        """Drive the zha lock entity ``entity_id`` (``slots`` from ``first_slot``)."""
        super().__init__(hass, entity_id)
        self._slots = range(first_slot, first_slot + slots)
        self._pin_min = pin_min
        self._pin_max = pin_max
        # The slots this provider wrote and did not clear (no codes), on disk.
        self._store = _WrittenFile(hass, STORAGE_VERSION, f"keyholder.zha.{lock_id}")
        self._written: set[CredentialRef] | None = None
        self._loading = asyncio.Lock()

    # -- protocol ------------------------------------------------------------

    @property
    def capabilities(self) -> LockCapabilities:
        """Return the configured slots and lengths; codes are never read back."""
        return LockCapabilities(
            slots={PASSCODE: SlotRange(self._slots.start, self._slots.stop - 1)},
            pin_min=self._pin_min,
            pin_max=self._pin_max,
            can_read_back=False,
            reports_slot=True,
            native_schedule=False,
        )

    async def async_read_credentials(self) -> Mapping[CredentialRef, str | None]:
        """Return the codes this provider wrote, each hidden."""
        self._ensure_available()
        written = await self._async_written()
        return dict.fromkeys(sorted(written))

    async def async_set_credential(
        self, ref: CredentialRef, secret: str, *, valid: Validity | None = None
    ) -> None:
        """Write a code into a slot (enabled, unrestricted user; ``valid`` None)."""
        check_kind(self.capabilities, ref)
        slot, code = ref.index, secret
        self._check_slot(slot)
        if not self._pin_min <= len(code) <= self._pin_max:
            raise ProviderError(
                "code_rejected",
                f"This lock takes codes of {self._pin_min} to {self._pin_max} digits",
            )
        written = await self._async_written()
        await self._async_set_on_entity(slot, code)
        written.add(ref)
        await self._async_save(written)

    async def async_clear_credential(self, ref: CredentialRef) -> None:
        """Empty a slot (one written earlier even if the slot count shrank since)."""
        check_kind(self.capabilities, ref)
        written = await self._async_written()
        if ref not in written:
            self._check_slot(ref.index)
        await self._call("clear_lock_user_code", ref.index, {})
        written.discard(ref)
        await self._async_save(written)

    @callback
    def async_listen_usage(
        self, on_use: Callable[[CredentialRef], None]
    ) -> Callable[[], None]:
        """Call ``on_use(ref)`` for each keypad unlock the lock reports."""
        registry = er.async_get(self._hass)

        @callback
        def _on_event(event: Event) -> None:
            args = self._keypad_operation(registry, event.data)
            slot = args.get("code_slot")
            if (
                args.get("operation") == "Unlock"
                and isinstance(slot, int)
                and not isinstance(slot, bool)
            ):
                on_use(CredentialRef(PASSCODE, slot))

        return self._hass.bus.async_listen(EVENT_ZHA, _on_event)

    @callback
    def async_listen_refused(
        self, on_refused: Callable[[Refusal], None]
    ) -> Callable[[], None]:
        """Call ``on_refused(Refusal.WRONG_CODE)`` for each wrong keypad code the lock reports."""
        registry = er.async_get(self._hass)

        @callback
        def _on_event(event: Event) -> None:
            args = self._keypad_operation(registry, event.data)
            if args.get("operation") in REFUSED_OPERATIONS:
                on_refused(Refusal.WRONG_CODE)

        return self._hass.bus.async_listen(EVENT_ZHA, _on_event)

    def _keypad_operation(
        self, registry: er.EntityRegistry, data: Mapping[str, Any]
    ) -> Mapping[str, Any]:
        """Return the arguments of a keypad operation event of this lock, or {}."""
        if (
            data.get("command") != OPERATION_EVENT
            or data.get("cluster_id") != DOOR_LOCK_CLUSTER
        ):
            return {}
        entity = registry.async_get(self.entity_id)
        if entity is None or data.get(ATTR_DEVICE_ID) != entity.device_id:
            return {}
        args = data.get("args")
        if not isinstance(args, dict) or args.get("source") != "Keypad":
            return {}
        return args

    # -- helpers -------------------------------------------------------------

    def _check_slot(self, slot: int) -> None:
        if slot not in self._slots:
            raise ProviderError("slot_out_of_range", f"Slot {slot} is not managed")

    async def _async_set_on_entity(self, slot: int, code: str) -> None:
        """
        Run what ``zha.set_lock_user_code`` runs, without the action call.

        Every action call is announced on the event bus with its data (and kept
        by the recorder), which would put the code there; this calls the zha
        lock entity's own handler of that action instead.
        """
        self._ensure_available()
        entity = platform_lock_entity(self._hass, self.entity_id, ZHA_DOMAIN)
        handler = entity.async_set_lock_user_code
        await self._guarded(
            "set_lock_user_code", slot, handler(code_slot=slot, user_code=code)
        )

    async def _call(self, service: str, slot: int, data: dict[str, Any]) -> None:
        self._ensure_available()
        call = self._hass.services.async_call(
            ZHA_DOMAIN,
            service,
            {ATTR_ENTITY_ID: self.entity_id, "code_slot": slot, **data},
            blocking=True,
        )
        await self._guarded(service, slot, call)

    async def _guarded(
        self, service: str, slot: int, call: Coroutine[Any, Any, Any]
    ) -> None:
        """Await a zha call and turn its failure into a ProviderError."""
        try:
            await call
        except ServiceNotFound as err:
            raise ProviderError(
                "integration_not_loaded", f"zha.{service} is not available"
            ) from err
        except HomeAssistantError as err:
            # Only the error's type: ZHA's text repeats zigpy's, which is not ours
            # to vouch for.
            cause = err.__cause__
            if isinstance(cause, TimeoutError) or any(
                # zigpy's: the radio could not get the frame to the lock.
                kind.__name__ == "DeliveryError"
                for kind in type(cause).__mro__
            ):
                raise ProviderError(
                    "lock_not_answering",
                    f"{self.entity_id} did not answer zha.{service} for slot {slot}",
                ) from err
            raise ProviderError(
                "lock_error",
                f"zha.{service} for slot {slot} failed ({type(cause or err).__name__})",
            ) from err
        # An entity that became unavailable meanwhile was skipped without a word.
        if not self.available:
            raise ProviderError(
                "lock_offline", f"{self.entity_id} went unavailable during a write"
            )

    async def _async_written(self) -> set[CredentialRef]:
        """Return the codes written so far (loaded from disk on first use)."""
        if self._written is None:
            async with self._loading:
                if self._written is None:
                    stored = await self._store.async_load() or {}
                    # A record of another lock (the lock was pointed at another
                    # entity) says nothing about this one.
                    same = stored.get("entity_id") == self.entity_id
                    written = stored.get("written", {}) if same else {}
                    self._written = {
                        CredentialRef(PASSCODE, slot)
                        for slot in written.get(PASSCODE.value, [])
                        if isinstance(slot, int) and not isinstance(slot, bool)
                    }
        return self._written

    async def _async_save(self, written: set[CredentialRef]) -> None:
        indices = sorted(ref.index for ref in written if ref.kind is PASSCODE)
        await self._store.async_save(
            {"entity_id": self.entity_id, "written": {PASSCODE.value: indices}}
        )


def from_subentry(setup: LockSetup) -> ZhaLock:
    """Drive the subentry's zha lock entity, with the keypad it describes."""
    data = setup.data
    return ZhaLock(
        setup.hass,
        data[CONF_LOCK_ENTITY],
        lock_id=setup.lock_id,
        slots=int(data[CONF_SLOTS]),
        pin_min=int(data[CONF_PIN_MIN]),
        pin_max=int(data[CONF_PIN_MAX]),
        first_slot=int(data.get(CONF_FIRST_SLOT, 1)),
    )
