"""
Lock families Keyholder can drive, behind one small protocol.

A lock holds credentials of the kinds its capabilities list, each numbered on
its own (:class:`~..engine.model.CredentialRef`: kind and index). Today only
passcodes go to locks; the protocol carries tags (and any later kind) alike.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from ..model.values import CredentialRef, LockCapabilities

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant


CODE_REFUSALS = frozenset({"code_duplicate"})
"""Reasons a working lock refuses one code (it already holds it for someone else).

Such a refusal is not a failure of the lock: the key is reported as not on that
lock, and that code is not sent to it again.
"""


class ProviderError(Exception):
    """
    A lock could not carry out an operation (offline, rejected...).

    ``reason`` is a translation key of the ``exceptions`` section. Raised by
    ``async_set_credential`` with a reason of :data:`CODE_REFUSALS`, it means
    that the lock refused this secret for this credential only.
    """

    def __init__(self, reason: str, message: str) -> None:
        """Store the reason key next to a developer-facing message."""
        super().__init__(message)
        self.reason = reason

    @property
    def refuses_code(self) -> bool:
        """Return True when the lock refused one code, not the operation as such."""
        return self.reason in CODE_REFUSALS


type Validity = tuple[datetime, datetime | None]
"""When a written credential works: from ``start`` until ``end`` (None: for good)."""


class LockProvider(Protocol):
    """What Keyholder needs from one lock of a lock family."""

    model: str
    """How the lock's device describes the lock family."""

    settle_seconds: float
    """How long the lock's report may trail a write (0: reads are immediate).

    Writes are read back after this time; one the lock did not take is a failure.
    """

    @property
    def capabilities(self) -> LockCapabilities:
        """Return what the lock can hold and report."""

    @property
    def available(self) -> bool:
        """Return True when the lock can be reached right now."""

    async def async_read_credentials(self) -> Mapping[CredentialRef, str | None]:
        """Return ref -> secret (None where the lock masks it) of what it holds."""

    async def async_set_credential(
        self, ref: CredentialRef, secret: str, *, valid: Validity | None = None
    ) -> None:
        """
        Write a credential (raise ProviderError on failure).

        ``valid`` is the key's current window, given to locks whose capabilities
        say they hold schedules (``native_schedule``) so the lock stops taking
        the credential at its end by itself; None for every other lock. A kind
        the lock does not hold raises ``kind_not_held``.
        """

    async def async_clear_credential(self, ref: CredentialRef) -> None:
        """Remove a credential (raise ProviderError on failure)."""

    def refusal(self, ref: CredentialRef) -> str | None:
        """
        Return why the lock refused the secret last written to ``ref``, if it said.

        For locks that acknowledge a write and report a refusal afterwards (a
        reason of :data:`CODE_REFUSALS`); None when the lock reported none. A lock
        that refuses at once raises it from ``async_set_credential`` instead.
        """

    def async_listen_usage(
        self, on_use: Callable[[CredentialRef], None]
    ) -> Callable[[], None]:
        """Call ``on_use(ref)`` whenever the lock reports an unlock with ``ref``."""

    def async_listen_available(self, on_back: Callable[[], None]) -> Callable[[], None]:
        """Call ``on_back()`` when the lock becomes reachable again."""


class Refusal(StrEnum):
    """What a lock reported refusing."""

    WRONG_CODE = "wrong_code"
    LOCKED_OUT = "locked_out"
    """The keypad refuses every code for a while, after too many wrong ones."""


@runtime_checkable
class RefusalReporter(Protocol):
    """A lock family that reports codes its lock refused (for wrong-code alerts)."""

    def async_listen_refused(
        self, on_refused: Callable[[Refusal], None]
    ) -> Callable[[], None]:
        """Call ``on_refused`` for each refusal the lock reports (never the code)."""


class RefusesWhileWriting:
    """For locks that report a refusal, if at all, as the write's own error."""

    def refusal(self, ref: CredentialRef) -> str | None:
        """Return None: nothing is refused after the write was acknowledged."""
        return None


def check_kind(caps: LockCapabilities, ref: CredentialRef) -> None:
    """Refuse a credential of a kind the lock does not hold (``kind_not_held``)."""
    if ref.kind not in caps.slots:
        raise ProviderError(
            "kind_not_held", f"The lock holds no {ref.kind.value} credentials"
        )


def check_credential(caps: LockCapabilities, ref: CredentialRef) -> None:
    """
    Refuse a credential the lock cannot hold: not its kind, or out of its range.

    Raises ProviderError ``kind_not_held`` or ``slot_out_of_range``.
    """
    check_kind(caps, ref)
    slots = caps.slots[ref.kind]
    if not slots.first <= ref.index <= slots.last:
        raise ProviderError("slot_out_of_range", f"There is no {ref} on the lock")


def platform_lock_entity(hass: HomeAssistant, entity_id: str, platform: str) -> Any:
    """
    Return the lock entity object of ``entity_id``, provided by ``platform``.

    A code goes to such a lock through the entity's own handler of the action,
    never through the action itself: Home Assistant records the data of every
    action call (the ``call_service`` event, kept by the recorder).
    """
    from homeassistant.components.lock.const import (  # noqa: PLC0415
        DATA_COMPONENT,
    )

    component = hass.data.get(DATA_COMPONENT)
    entity = component.get_entity(entity_id) if component else None
    if entity is None or entity.platform is None:
        raise ProviderError("integration_not_loaded", f"{entity_id} is not loaded")
    if entity.platform.platform_name != platform:
        raise ProviderError(
            "integration_not_loaded", f"{entity_id} is not a {platform} lock"
        )
    return entity


@dataclass(frozen=True, slots=True)
class LockSetup:
    """What a lock family builds the provider of one lock subentry from."""

    hass: HomeAssistant
    lock_id: str
    data: Mapping[str, Any]
    """The subentry's data, as the family's flow step stored it."""
    memories: dict[str, dict[CredentialRef, str]]
    """Lock id -> ref -> secret, kept with the site for the locks that need it."""

    def memory(self) -> dict[CredentialRef, str]:
        """
        Return what this lock keeps with the site (created on first use).

        A virtual lock stores its credentials there; a lock that numbers no
        slots (TTLock) keeps the provider's numbering there.
        """
        return self.memories.setdefault(self.lock_id, {})
