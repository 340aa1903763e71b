"""Build the provider of a lock subentry, by its lock family."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..const import (
    CONF_LOCK_ENTITY,
    CONF_PIN_MAX,
    CONF_PIN_MIN,
    CONF_PROVIDER,
    CONF_SLOTS,
    CONF_WRITE_DELAY,
)
from . import LockProvider

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant


def create_provider(
    hass: HomeAssistant,
    lock_id: str,
    data: Mapping[str, Any],
    virtual_memory: dict[str, dict[int, str]],
) -> LockProvider:
    """
    Return the provider of a lock subentry.

    ``virtual_memory`` holds what each virtual lock stores (lock id -> codes).
    """
    # Looked up at each call: a test may swap a family's class for its own.
    from .matter import PROVIDER_MATTER, MatterLock  # noqa: PLC0415
    from .virtual import PROVIDER_VIRTUAL, VirtualLock  # noqa: PLC0415
    from .zha import CONF_FIRST_SLOT, PROVIDER_ZHA, ZhaLock  # noqa: PLC0415
    from .zigbee2mqtt import (  # noqa: PLC0415
        CONF_BASE_TOPIC,
        CONF_DEVICE,
        PROVIDER_ZIGBEE2MQTT,
        Zigbee2MqttLock,
    )
    from .zwave_js import ZwaveJSLock  # noqa: PLC0415

    provider = data.get(CONF_PROVIDER, PROVIDER_VIRTUAL)
    if provider == "ttlock":
        from .ttlock import (  # noqa: PLC0415
            CONF_ADDRESS,
            CONF_EKEY,
            TTLockLock,
            parse_ekey,
        )

        # The lock numbers no slots: the provider's numbering is kept like a
        # virtual lock's memory (saved with the site).
        return TTLockLock(
            hass,
            address=data[CONF_ADDRESS],
            key=parse_ekey(data[CONF_EKEY]),
            slots=int(data[CONF_SLOTS]),
            slot_map=virtual_memory.setdefault(lock_id, {}),
        )
    if provider == PROVIDER_ZIGBEE2MQTT:
        return Zigbee2MqttLock(
            hass,
            base_topic=data[CONF_BASE_TOPIC],
            device=data[CONF_DEVICE],
            slots=int(data[CONF_SLOTS]),
            pin_min=int(data[CONF_PIN_MIN]),
            pin_max=int(data[CONF_PIN_MAX]),
        )
    if provider == PROVIDER_MATTER:
        return MatterLock(hass, data[CONF_LOCK_ENTITY])
    if provider == PROVIDER_ZHA:
        return ZhaLock(
            hass,
            data[CONF_LOCK_ENTITY],
            lock_id=lock_id,
            slots=int(data[CONF_SLOTS]),
            pin_min=int(data[CONF_PIN_MIN]),
            pin_max=int(data[CONF_PIN_MAX]),
            first_slot=int(data.get(CONF_FIRST_SLOT, 1)),
        )
    if provider == PROVIDER_VIRTUAL:
        return VirtualLock(
            slots=int(data[CONF_SLOTS]),
            pin_min=int(data[CONF_PIN_MIN]),
            pin_max=int(data[CONF_PIN_MAX]),
            codes=virtual_memory.setdefault(lock_id, {}),
            write_delay=float(data.get(CONF_WRITE_DELAY, 0)),
        )
    return ZwaveJSLock(hass, data[CONF_LOCK_ENTITY])
