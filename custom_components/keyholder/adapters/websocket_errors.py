"""How the panel's websocket commands answer a refusal (never echoing a value)."""

from __future__ import annotations

from homeassistant.components.websocket_api.connection import ActiveConnection
from homeassistant.components.websocket_api.const import (
    ERR_HOME_ASSISTANT_ERROR,
    ERR_INVALID_FORMAT,
    ERR_SERVICE_VALIDATION_ERROR,
)
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
import probatio as vol


def send_failure(connection: ActiveConnection, msg_id: int, err: Exception) -> None:
    """Send a refusal: the field refused, or Keyholder's translated message."""
    if isinstance(err, vol.Invalid):
        connection.send_error(msg_id, ERR_INVALID_FORMAT, invalid_message(err))
        return
    if not isinstance(err, HomeAssistantError):
        raise err
    code = (
        ERR_SERVICE_VALIDATION_ERROR
        if isinstance(err, ServiceValidationError)
        else ERR_HOME_ASSISTANT_ERROR
    )
    connection.send_error(
        msg_id,
        code,
        str(err),
        translation_domain=err.translation_domain,
        translation_key=err.translation_key,
        translation_placeholders=err.translation_placeholders,
    )


def invalid_message(err: vol.Invalid) -> str:
    """Name the field a value was refused for (never echo the value)."""
    errors = err.errors if isinstance(err, vol.MultipleInvalid) else [err]
    parts = []
    for error in errors:
        field = ".".join(str(p) for p in error.path) or "input"
        parts.append(f"{field}: {error.error_message}")
    return "Invalid " + "; ".join(parts)
