"""Lock families Keyholder can drive, behind one small protocol."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from ..engine.model import LockCapabilities


class ProviderError(Exception):
    """
    A lock could not carry out an operation (offline, rejected...).

    ``reason`` is a translation key of the ``exceptions`` section.
    """

    def __init__(self, reason: str, message: str) -> None:
        """Store the reason key next to a developer-facing message."""
        super().__init__(message)
        self.reason = reason


class LockProvider(Protocol):
    """What Keyholder needs from one lock of a lock family."""

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
