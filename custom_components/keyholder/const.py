"""Constants for the Keyholder integration."""

from __future__ import annotations

import logging
from typing import Final

DOMAIN: Final = "keyholder"
LOGGER = logging.getLogger(__package__)

CONF_PASSCODE_LENGTH: Final = "passcode_length"
CONF_GRACE_MINUTES: Final = "booking_grace_minutes"

DEFAULT_PASSCODE_LENGTH: Final = 6
DEFAULT_GRACE_MINUTES: Final = 30
MIN_PASSCODE_LENGTH: Final = 4
MAX_PASSCODE_LENGTH: Final = 10
