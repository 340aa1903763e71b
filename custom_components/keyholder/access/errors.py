"""The translated error a caller gets for bad input (HTTP 400, nothing changed)."""

from __future__ import annotations

from homeassistant.exceptions import ServiceValidationError

from ..const import DOMAIN


def validation_error(key: str, **placeholders: str) -> ServiceValidationError:
    """Return a translated validation error (``exceptions.<key>``)."""
    return ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key=key,
        translation_placeholders=placeholders or None,
    )
