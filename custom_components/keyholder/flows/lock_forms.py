"""The lock families' form fields and checks, for the lock flow and discovery."""

from __future__ import annotations

from collections.abc import Mapping
import json
from typing import Any

from homeassistant.const import CONF_NAME
from homeassistant.helpers.selector import (
    EntitySelector,
    EntitySelectorConfig,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    TextSelector,
    TextSelectorConfig,
)
import probatio as vol

from ..access.inputs import flow_finite_number, flow_whole_number
from ..const import (
    CONF_LOCK_ENTITY,
    CONF_PIN_MAX,
    CONF_PIN_MIN,
    CONF_PROVIDER,
    CONF_SLOTS,
    CONF_WRITE_DELAY,
    MAX_PASSCODE_LENGTH,
    MAX_SLOT_COUNT,
    MAX_WRITE_DELAY,
    MIN_PASSCODE_LENGTH,
)
from ..families.ttlock import (
    CONF_ADDRESS,
    CONF_EKEY,
    DEFAULT_SLOTS as TTLOCK_DEFAULT_SLOTS,
    MAX_SLOTS as TTLOCK_MAX_SLOTS,
    PROVIDER_TTLOCK,
    NotAdminKeyError,
    normalize_address,
    parse_ekey,
)
from ..families.zha import (
    CONF_FIRST_SLOT,
    DEFAULT_PIN_MAX as ZHA_DEFAULT_PIN_MAX,
    DEFAULT_PIN_MIN as ZHA_DEFAULT_PIN_MIN,
    DEFAULT_SLOTS as ZHA_DEFAULT_SLOTS,
)
from ..families.zigbee2mqtt import (
    CONF_BASE_TOPIC,
    CONF_DEVICE,
    DEFAULT_BASE_TOPIC,
    DEFAULT_SLOTS as Z2M_DEFAULT_SLOTS,
)
from ..families.zigbee2mqtt_wire import valid_topic_part

VIRTUAL_DEFAULT_SLOTS = 20


def box(minimum: int, maximum: int) -> vol.All[Any]:
    """Return a whole-number field between ``minimum`` and ``maximum``."""
    return vol.All(
        NumberSelector(
            NumberSelectorConfig(min=minimum, max=maximum, mode=NumberSelectorMode.BOX)
        ),
        flow_whole_number,
    )


def name_field(defaults: Mapping[str, Any]) -> dict[Any, Any]:
    """Return the lock's name field."""
    return {
        vol.Required(CONF_NAME, default=defaults.get(CONF_NAME, "")): TextSelector()
    }


def keypad_fields(
    defaults: Mapping[str, Any], *, slots: int, pin_min: int = 4, pin_max: int = 8
) -> dict[Any, Any]:
    """Return the form fields of a keypad: code slots and passcode lengths."""
    return {
        vol.Required(CONF_SLOTS, default=defaults.get(CONF_SLOTS, slots)): box(
            1, MAX_SLOT_COUNT
        ),
        vol.Required(CONF_PIN_MIN, default=defaults.get(CONF_PIN_MIN, pin_min)): box(
            MIN_PASSCODE_LENGTH, MAX_PASSCODE_LENGTH
        ),
        vol.Required(CONF_PIN_MAX, default=defaults.get(CONF_PIN_MAX, pin_max)): box(
            MIN_PASSCODE_LENGTH, MAX_PASSCODE_LENGTH
        ),
    }


def pin_range_error(user_input: Mapping[str, Any]) -> dict[str, str]:
    """Return an error when the longest passcode is shorter than the shortest."""
    if (
        CONF_PIN_MIN in user_input
        and user_input[CONF_PIN_MIN] > user_input[CONF_PIN_MAX]
    ):
        return {CONF_PIN_MAX: "pin_range"}
    return {}


def entity_fields(provider: str, defaults: Mapping[str, Any]) -> dict[Any, Any]:
    """Return the name and lock entity fields of a lock of the integration."""
    return {
        **name_field(defaults),
        vol.Required(
            CONF_LOCK_ENTITY, default=defaults.get(CONF_LOCK_ENTITY)
        ): EntitySelector(EntitySelectorConfig(integration=provider, domain="lock")),
    }


def zha_fields(defaults: Mapping[str, Any]) -> dict[Any, Any]:
    """Return a ZHA keypad's own fields: its first code slot, slots, lengths."""
    return {
        vol.Required(CONF_FIRST_SLOT, default=defaults.get(CONF_FIRST_SLOT, 1)): box(
            1, MAX_SLOT_COUNT
        ),
        **keypad_fields(
            defaults,
            slots=ZHA_DEFAULT_SLOTS,
            pin_min=ZHA_DEFAULT_PIN_MIN,
            pin_max=ZHA_DEFAULT_PIN_MAX,
        ),
    }


def zigbee2mqtt_fields(defaults: Mapping[str, Any]) -> dict[Any, Any]:
    """Return the fields of a Zigbee2MQTT lock: name, topics, keypad."""
    return {
        **name_field(defaults),
        vol.Required(
            CONF_BASE_TOPIC,
            default=defaults.get(CONF_BASE_TOPIC, DEFAULT_BASE_TOPIC),
        ): TextSelector(),
        vol.Required(CONF_DEVICE, default=defaults.get(CONF_DEVICE, "")): (
            TextSelector()
        ),
        **keypad_fields(defaults, slots=Z2M_DEFAULT_SLOTS),
    }


def zigbee2mqtt_problem(
    base: str, device: str, others: list[dict[str, Any]]
) -> dict[str, str]:
    """Return the first error of a Zigbee2MQTT lock's topics (field -> key)."""
    used = {(o.get(CONF_BASE_TOPIC), o.get(CONF_DEVICE)) for o in others}
    if not valid_topic_part(base):
        return {CONF_BASE_TOPIC: "invalid_topic"}
    if not valid_topic_part(device):
        return {CONF_DEVICE: "invalid_topic"}
    if (base, device) in used:
        return {CONF_DEVICE: "device_in_use"}
    return {}


def virtual_fields(defaults: Mapping[str, Any]) -> dict[Any, Any]:
    """Return the fields of a virtual keypad lock (with its simulated radio)."""
    return {
        **name_field(defaults),
        **keypad_fields(defaults, slots=VIRTUAL_DEFAULT_SLOTS),
        vol.Optional(
            CONF_WRITE_DELAY, default=defaults.get(CONF_WRITE_DELAY, 0)
        ): vol.All(
            NumberSelector(
                NumberSelectorConfig(
                    min=0,
                    max=MAX_WRITE_DELAY,
                    step=0.1,
                    unit_of_measurement="s",
                    mode=NumberSelectorMode.BOX,
                )
            ),
            flow_finite_number,
        ),
    }


def _load_ekey(text: str) -> dict[str, Any]:
    """Return the eKey object in pasted text; raise ValueError if there is none."""
    loaded = json.loads(text)
    if isinstance(loaded, list) and len(loaded) == 1:
        loaded = loaded[0]  # a keys.json holding this one lock
    if not isinstance(loaded, dict):
        raise ValueError("not an object")  # noqa: TRY004
    parse_ekey(loaded)
    return loaded


def ttlock_lock_data(
    user_input: dict[str, Any],
    others: list[dict[str, Any]],
    stored_ekey: dict[str, Any] | None = None,
) -> tuple[dict[str, Any], dict[str, str]]:
    """
    Check a TTLock's form; return (subentry data, field -> error key).

    An empty eKey keeps ``stored_ekey`` (reconfiguring without pasting it again).
    No error quotes what was entered.
    """
    text = (user_input.get(CONF_EKEY) or "").strip()
    ekey: dict[str, Any] | None = stored_ekey if not text else None
    errors: dict[str, str] = {}
    if text:
        try:
            ekey = _load_ekey(text)
        except NotAdminKeyError:
            errors[CONF_EKEY] = "ekey_not_admin"
        except ValueError:
            errors[CONF_EKEY] = "invalid_ekey"
    elif ekey is None:
        errors[CONF_EKEY] = "invalid_ekey"
    raw_address = (user_input.get(CONF_ADDRESS) or "").strip()
    if not raw_address and ekey is not None:
        raw_address = str(ekey.get("lockMac", ""))
    address = normalize_address(raw_address)
    if address is None:
        if CONF_EKEY not in errors:
            errors[CONF_ADDRESS] = "invalid_address"
    elif any(
        o.get(CONF_PROVIDER) == PROVIDER_TTLOCK and o.get(CONF_ADDRESS) == address
        for o in others
    ):
        errors[CONF_ADDRESS] = "ttlock_in_use"
    data = {
        CONF_NAME: user_input.get(CONF_NAME, "").strip(),
        CONF_PROVIDER: PROVIDER_TTLOCK,
        CONF_ADDRESS: address,
        CONF_EKEY: ekey,
        CONF_SLOTS: int(user_input.get(CONF_SLOTS, TTLOCK_DEFAULT_SLOTS)),
    }
    return data, errors


def ttlock_schema(
    defaults: dict[str, Any], *, with_address: bool = True
) -> dict[Any, Any]:
    """Return the fields of a TTLock (the eKey is never shown back)."""
    fields: dict[Any, Any] = name_field(defaults)
    if with_address:
        fields[vol.Optional(CONF_ADDRESS, default=defaults.get(CONF_ADDRESS) or "")] = (
            TextSelector()
        )
    return fields | {
        vol.Optional(CONF_EKEY, default=""): TextSelector(
            TextSelectorConfig(multiline=True)
        ),
        vol.Required(
            CONF_SLOTS, default=defaults.get(CONF_SLOTS, TTLOCK_DEFAULT_SLOTS)
        ): box(1, TTLOCK_MAX_SLOTS),
    }
