"""
Matter locks, driven through Home Assistant's own matter lock actions.

A Keyholder slot is a PIN credential index of the lock (1 to the lock's
number of PIN users). Codes are written with matter's ``set_lock_credential``:
into an empty index as a new credential, for which the lock creates a user of
its own (one call, so a failure never leaves a user without a code behind), and
into an occupied index by modifying that credential of its user. Clearing
removes the credential with ``matter.clear_lock_credential``, and the user
with ``matter.clear_lock_user`` when that was the user's only credential (the
lock usually drops such a user itself). ``matter.get_lock_info`` gives the
capacities and PIN lengths, ``matter.get_lock_users`` what the lock holds:
Matter never reveals a PIN, so occupied slots read back as ``None``.

Keypad use is the DoorLock cluster's LockOperation event (unlock or unlatch,
operation source keypad), followed on the lock's node (:mod:`.matter_events`);
the event names the user and usually the credential that opened the door.

Home Assistant records every action call with its data (the ``call_service``
event, kept by the recorder and repeated in debug logs). The one call that
carries a PIN therefore runs the lock entity's own handler of
``matter.set_lock_credential`` directly, exactly as the action would but
without that record; every other call is an ordinary action call.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
import logging
from typing import Any

from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError, ServiceNotFound
from homeassistant.helpers.event import async_track_state_change_event

from ..const import CONF_LOCK_ENTITY
from ..model.values import CredentialRef, KeyKind, LockCapabilities, SlotRange
from . import LockSetup, ProviderError, Validity, check_kind, platform_lock_entity
from .entity import LockEntityProvider
from .matter_events import MATTER_DOMAIN, NodeEvents

_LOGGER = logging.getLogger(__name__)

PROVIDER_MATTER = "matter"
PIN = "pin"
# Until get_lock_info answered (the first read asks).
DEFAULT_SLOTS = 10
DEFAULT_PIN_MIN = 4
DEFAULT_PIN_MAX = 8

# DoorLock LockOperationTypeEnum: unlock, unlatch.
OPENING_OPERATIONS = frozenset({1, 4})
KEYPAD_SOURCE = 3
PIN_CREDENTIAL_TYPE = 1

# set_lock_credential's status (besides success) -> Keyholder's reason.
# Matter DlStatus: 0x85 invalid field (the lock refused the PIN), 0x89
# resource exhausted (no free user left for a new credential).
STATUS_REASONS = {
    "duplicate": "code_duplicate",
    "occupied": "slot_occupied",
    "unknown(133)": "code_rejected",
    "unknown(137)": "lock_full",
}
# Errors Home Assistant's matter lock actions raise -> Keyholder's reason.
ERROR_KEYS = {
    "invalid_credential_data": "code_rejected",
    "credential_type_not_supported": "pins_not_supported",
}
ERROR_CLASSES = {
    "UsrFeatureNotSupportedError": "pins_not_supported",
    "NoAvailableUserSlotsError": "lock_full",
    "LockEndpointNotFoundError": "pins_not_supported",
}
# matter server errors that mean the lock did not answer (the SDK's own errors
# only when they are timeouts: a status the lock answered with is one too).
NOT_ANSWERING = frozenset({"NodeNotReady", "NodeNotResolving"})


def _pin(index: int) -> CredentialRef:
    return CredentialRef(KeyKind.PASSCODE, index)


def _reason(err: HomeAssistantError) -> str:
    """Return Keyholder's reason for an error of a matter action."""
    if err.translation_key == "set_credential_failed":
        status = str((err.translation_placeholders or {}).get("status"))
        return STATUS_REASONS.get(status, "lock_error")
    if err.translation_key in ERROR_KEYS:
        return ERROR_KEYS[err.translation_key]
    if type(err).__name__ in ERROR_CLASSES:
        return ERROR_CLASSES[type(err).__name__]
    cause = err.__cause__
    if type(cause).__name__ in NOT_ANSWERING or (
        type(cause).__name__ == "SDKStackError" and "timeout" in str(cause).lower()
    ):
        return "lock_not_answering"
    return "lock_error"


class MatterLock(LockEntityProvider):
    """A lock known to Home Assistant's matter integration."""

    model = "Matter lock"
    # Every action waits for the lock's answer; a read asks the lock itself.
    settle_seconds = 0.0

    def __init__(self, hass: HomeAssistant, entity_id: str) -> None:
        """Drive the matter lock entity ``entity_id``."""
        super().__init__(hass, entity_id)
        self._slots = DEFAULT_SLOTS
        self._pin_min = DEFAULT_PIN_MIN
        self._pin_max = DEFAULT_PIN_MAX
        self._info_known = False
        # user index -> every credential (type, index) it had at the last read
        self._users: dict[int, set[tuple[str, int]]] = {}

    @property
    def capabilities(self) -> LockCapabilities:
        """Return what the lock reported (known after a first read)."""
        return LockCapabilities(
            slots={KeyKind.PASSCODE: SlotRange(1, self._slots)},
            pin_min=self._pin_min,
            pin_max=self._pin_max,
            can_read_back=False,
            reports_slot=True,
            native_schedule=False,
        )

    async def _call(
        self, service: str, data: dict[str, Any], *, response: bool = False
    ) -> dict[str, Any]:
        self._ensure_available()
        try:
            result = await self._hass.services.async_call(
                MATTER_DOMAIN,
                service,
                {ATTR_ENTITY_ID: self.entity_id, **data},
                blocking=True,
                return_response=response,
            )
        except ServiceNotFound as err:
            raise ProviderError("integration_not_loaded", str(err)) from err
        except HomeAssistantError as err:
            # Only the kind of error: the action's data holds the PIN.
            reason = _reason(err)
            raise ProviderError(
                reason, f"matter.{service} on {self.entity_id} failed ({reason})"
            ) from err
        answer = (result or {}).get(self.entity_id) if response else None
        return answer if isinstance(answer, dict) else {}

    async def _async_info(self) -> None:
        """Learn the lock's PIN capacity and lengths."""
        info = await self._call("get_lock_info", {}, response=True)
        if not info.get("supports_user_management") or PIN not in info.get(
            "supported_credential_types", []
        ):
            raise ProviderError(
                "pins_not_supported", f"{self.entity_id} does not manage PIN users"
            )
        slots = info.get("max_pin_users") or info.get("max_users")
        if isinstance(slots, int) and slots > 0:
            self._slots = slots
        if isinstance(pin_min := info.get("min_pin_length"), int):
            self._pin_min = pin_min
        if isinstance(pin_max := info.get("max_pin_length"), int):
            self._pin_max = pin_max
        self._info_known = True

    async def async_read_credentials(self) -> Mapping[CredentialRef, str | None]:
        """Return the PINs the lock holds (Matter never reveals one: all None)."""
        await self._async_info()
        answer = await self._call("get_lock_users", {}, response=True)
        users: dict[int, set[tuple[str, int]]] = {}
        slots: dict[int, str | None] = {}
        for user in answer.get("users") or []:
            index = user.get("user_index")
            if not isinstance(index, int):
                continue
            creds = {
                (str(cred.get("type")), cred["index"])
                for cred in user.get("credentials") or []
                if isinstance(cred.get("index"), int)
            }
            users[index] = creds
            slots.update(
                {slot: None for kind, slot in creds if kind == PIN and slot >= 1}
            )
        self._users = users
        return {_pin(slot): None for slot in sorted(slots)}

    async def _async_check_slot(self, ref: CredentialRef) -> int:
        """Return the PIN index of ``ref``, once it is known to exist on the lock."""
        check_kind(self.capabilities, ref)
        slot = ref.index
        if not self._info_known:
            await self._async_info()
        if not 1 <= slot <= self._slots:
            raise ProviderError("slot_out_of_range", f"PIN slot {slot} does not exist")
        return slot

    async def _async_status(self, slot: int) -> dict[str, Any]:
        return await self._call(
            "get_lock_credential_status",
            {"credential_type": PIN, "credential_index": slot},
            response=True,
        )

    async def async_set_credential(
        self, ref: CredentialRef, secret: str, *, valid: Validity | None = None
    ) -> None:
        """Write a PIN (a new user for an empty index); ``valid`` is None here."""
        slot, code = await self._async_check_slot(ref), secret
        if not self._pin_min <= len(code) <= self._pin_max:
            raise ProviderError(
                "code_rejected",
                f"This lock takes PINs of {self._pin_min} to {self._pin_max} digits",
            )
        status = await self._async_status(slot)
        data: dict[str, Any] = {
            "credential_type": PIN,
            "credential_data": code,
            "credential_index": slot,
        }
        if status.get("credential_exists") and isinstance(
            user := status.get("user_index"), int
        ):
            data["user_index"] = user  # a new PIN for the slot's user
        else:
            data["user_status"] = "occupied_enabled"
            data["user_type"] = "unrestricted_user"
        result = await self._async_set_credential(data)
        if isinstance(user := result.get("user_index"), int):
            self._users.setdefault(user, set()).add((PIN, slot))

    async def _async_set_credential(self, data: dict[str, Any]) -> dict[str, Any]:
        """Run matter's set_lock_credential without recording the PIN."""
        self._ensure_available()
        entity = platform_lock_entity(self._hass, self.entity_id, MATTER_DOMAIN)
        try:
            # The handler the action runs, with the same checks and errors.
            result = await entity.async_set_lock_credential(**data)
        except HomeAssistantError as err:
            reason = _reason(err)
            raise ProviderError(
                reason, f"Setting a PIN on {self.entity_id} failed ({reason})"
            ) from err
        return dict(result)

    async def async_clear_credential(self, ref: CredentialRef) -> None:
        """Remove a PIN, and its user if the PIN was all it had."""
        slot = await self._async_check_slot(ref)
        status = await self._async_status(slot)
        if not status.get("credential_exists"):
            return
        await self._call(
            "clear_lock_credential", {"credential_type": PIN, "credential_index": slot}
        )
        user = status.get("user_index")
        if not isinstance(user, int):
            return
        if self._users.get(user) == {(PIN, slot)}:
            del self._users[user]
            try:
                await self._call("clear_lock_user", {"user_index": user})
            except ProviderError as err:
                # The slot is empty; a user without credentials opens nothing
                # (and most locks have dropped it already).
                _LOGGER.debug("User %s of %s stays: %s", user, self.entity_id, err)
        else:
            self._users.get(user, set()).discard((PIN, slot))

    def _slot_of(self, data: Mapping[str, Any]) -> int | None:
        """Return the PIN slot a LockOperation event names, if it names one."""
        for cred in data.get("credentials") or []:
            if isinstance(cred, Mapping) and (
                cred.get("credentialType") == PIN_CREDENTIAL_TYPE
                and isinstance(index := cred.get("credentialIndex"), int)
            ):
                return index
        # Without the credential: the user's only PIN, as last read.
        pins = [
            index
            for kind, index in self._users.get(data.get("userIndex") or 0, set())
            if kind == PIN
        ]
        return pins[0] if len(pins) == 1 else None

    @callback
    def async_listen_usage(
        self, on_use: Callable[[CredentialRef], None]
    ) -> Callable[[], None]:
        """Call ``on_use(ref)`` for each keypad unlock the lock reports."""

        @callback
        def _on_operation(data: Mapping[str, Any]) -> None:
            if (
                data.get("operationSource") != KEYPAD_SOURCE
                or data.get("lockOperationType") not in OPENING_OPERATIONS
            ):
                return
            if (slot := self._slot_of(data)) is not None:
                on_use(_pin(slot))

        watch = NodeEvents(self._hass, self.entity_id, _on_operation)
        unsub_state = async_track_state_change_event(
            self._hass, self.entity_id, watch.changed
        )
        watch.refresh()

        @callback
        def _unsub() -> None:
            unsub_state()
            watch.stop()

        return _unsub


def from_subentry(setup: LockSetup) -> MatterLock:
    """Drive the subentry's matter lock entity."""
    return MatterLock(setup.hass, setup.data[CONF_LOCK_ENTITY])
