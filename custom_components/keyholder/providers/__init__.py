"""Lock families Keyholder can drive, behind one small protocol."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from ..engine.model import LockCapabilities

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
    ``async_set_code`` with a reason of :data:`CODE_REFUSALS`, it means that the
    lock refused this code for this slot only.
    """

    def __init__(self, reason: str, message: str) -> None:
        """Store the reason key next to a developer-facing message."""
        super().__init__(message)
        self.reason = reason

    @property
    def refuses_code(self) -> bool:
        """Return True when the lock refused one code, not the operation as such."""
        return self.reason in CODE_REFUSALS


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

    async def async_read_slots(self) -> Mapping[int, str | None]:
        """Return slot -> code (None when the lock masks it) for occupied slots."""

    async def async_set_code(self, slot: int, code: str) -> None:
        """Write a code into a slot (raise ProviderError on failure)."""

    async def async_clear_code(self, slot: int) -> None:
        """Empty a slot (raise ProviderError on failure)."""

    def refusal(self, slot: int) -> str | None:
        """
        Return why the lock refused the code last written to ``slot``, if it said.

        For locks that acknowledge a write and report a refusal afterwards (a
        reason of :data:`CODE_REFUSALS`); None when the lock reported none. A lock
        that refuses at once raises it from ``async_set_code`` instead.
        """

    def async_listen_usage(self, on_use: Callable[[int], None]) -> Callable[[], None]:
        """Call ``on_use(slot)`` whenever the lock reports a keypad unlock."""

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

    def refusal(self, slot: int) -> str | None:
        """Return None: nothing is refused after the write was acknowledged."""
        return None


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


type Validity = tuple[datetime, datetime | None]
"""When a written code works: from ``start`` until ``end`` (None: for good)."""


class ScheduledLockProvider(LockProvider, Protocol):
    """
    A lock that enforces a code's window itself (``native_schedule``).

    Keyholder passes the key's current window with every write, so the lock
    stops accepting the code at its end even while Home Assistant is down, and
    writes a code again when its window changed. Other providers never get
    ``valid``.
    """

    async def async_set_code(
        self, slot: int, code: str, *, valid: Validity | None = None
    ) -> None:
        """Write a code into a slot, working only within ``valid``."""
