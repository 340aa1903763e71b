"""
Zigbee locks paired with Zigbee2MQTT, driven over Home Assistant's mqtt integration.

Zigbee2MQTT publishes a lock's state on ``<base>/<device>`` and takes commands on
``<base>/<device>/set`` and ``<base>/<device>/get``:

* a code is written with ``{"pin_code": {"user": N, "user_type": "unrestricted",
  "user_enabled": true, "pin_code": "1234"}}`` and cleared with
  ``{"pin_code": {"user": N, "pin_code": null}}``;
* ``{"pin_code": {"user": N}}`` on ``/get`` makes the lock report user N, which
  arrives in the state's ``users`` map as ``{"N": {"status": "enabled",
  "pin_code": "1234"}}`` (the code only with the device option ``expose_pin``);
* keypad use arrives as ``action`` (``unlock`` with ``action_source_name``
  ``keypad``, or ``keypad_unlock``) with ``action_user``;
* ``<base>/<device>/availability`` and ``<base>/bridge/state`` say whether the
  lock and Zigbee2MQTT are online (``{"state": "online"}``).

Zigbee2MQTT numbers users from 0 and Keyholder's slots are those numbers.

Zigbee2MQTT merges every report into its cached state, so a state message
carries every user it ever heard of, some possibly out of date. The provider
therefore asks the lock for each slot once (and again for every slot written,
and after the lock or the bridge was away) and trusts a slot only once the lock
answered after the question. Nothing here logs a payload.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
import contextlib
from functools import partial
import json
from typing import TYPE_CHECKING, Any

from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.util.json import json_loads

from ..const import CONF_PIN_MAX, CONF_PIN_MIN, CONF_SLOTS
from ..engine.model import KeyKind, LockCapabilities
from . import LockSetup, ProviderError, RefusesWhileWriting

if TYPE_CHECKING:
    from homeassistant.components.mqtt import ReceiveMessage

PROVIDER_ZIGBEE2MQTT = "zigbee2mqtt"
CONF_BASE_TOPIC = "base_topic"
CONF_DEVICE = "device"
DEFAULT_BASE_TOPIC = "zigbee2mqtt"
DEFAULT_SLOTS = 20
MQTT_DOMAIN = "mqtt"

# How long the lock may take to answer a question about one slot.
REPLY_TIMEOUT = 10.0
# How long to keep listening when the answer differs from what was just written
# (a report Zigbee2MQTT published before the write may still be on its way).
MISMATCH_GRACE = 2.0
SUBSCRIBE_TIMEOUT = 10.0
QOS = 1

OCCUPIED = frozenset({"enabled", "disabled"})
PROGRAMMING_ACTIONS = frozenset(
    {"pin_code_added", "pin_code_deleted", "pin_code_changed"}
)


def valid_topic_part(value: str) -> bool:
    """Return True when ``value`` can be part of an MQTT topic Zigbee2MQTT uses."""
    return (
        bool(value)
        and not value.startswith("/")
        and not value.endswith("/")
        and not any(char in value for char in "+#\0")
        and len(value.encode()) < 65000
    )


def _online(payload: object) -> bool | None:
    """Read ``{"state": "online"}`` (or the legacy bare ``online``); None if unclear."""
    text = payload.decode() if isinstance(payload, bytes | bytearray) else str(payload)
    state: object
    try:
        state = json_loads(text)
    except ValueError:
        state = text.strip()
    if isinstance(state, dict):
        state = state.get("state")
    return (
        {"online": True, "offline": False}.get(state)
        if isinstance(state, str)
        else None
    )


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _keypad_unlock(data: Mapping[str, Any]) -> bool:
    action = data.get("action")
    return action == "keypad_unlock" or (
        action == "unlock" and data.get("action_source_name") == "keypad"
    )


class Zigbee2MqttLock(RefusesWhileWriting):
    """A lock device of Zigbee2MQTT, reached through Home Assistant's mqtt."""

    model = "Zigbee2MQTT lock"
    # Zigbee2MQTT handles a write before a later question about the same user,
    # so read-backs need little time; slow answers are waited for when reading.
    settle_seconds = 1.0

    def __init__(
        self,
        hass: HomeAssistant,
        *,
        base_topic: str,
        device: str,
        slots: int,
        pin_min: int,
        pin_max: int,
    ) -> None:
        """Drive the Zigbee2MQTT device ``device`` under ``base_topic``."""
        self._hass = hass
        self.topic = f"{base_topic}/{device}"
        self._bridge_topic = f"{base_topic}/bridge/state"
        self._slots = range(slots)
        self._pin_min = pin_min
        self._pin_max = pin_max
        self._masks = False
        # slot -> (occupied, code or None when hidden), as last reported
        self._users: dict[int, tuple[bool, str | None]] = {}
        # slot -> number of reports received, to tell answers from older news
        self._reports: dict[int, int] = {}
        # Slots to ask the lock about before trusting what is known of them.
        self._stale: set[int] = set(self._slots)
        # slot -> what was written (None: cleared), until the lock answers
        self._expect: dict[int, str | None] = {}
        self._bridge_online: bool | None = None
        self._device_online: bool | None = None
        self._was_available = False
        self._news = asyncio.Event()
        self._usage: list[Callable[[int], None]] = []
        self._back: list[Callable[[], None]] = []
        self._unsubs: list[Callable[[], None]] = []
        self._subscribing = asyncio.Lock()

    # -- protocol ------------------------------------------------------------

    @property
    def capabilities(self) -> LockCapabilities:
        """Return what the lock can hold (codes readable unless they came hidden)."""
        return LockCapabilities(
            credential_kinds=frozenset({KeyKind.PASSCODE}),
            slot_min=self._slots.start,
            slot_max=self._slots.stop - 1,
            pin_min=self._pin_min,
            pin_max=self._pin_max,
            can_read_back=not self._masks,
            reports_slot=True,
            native_schedule=False,
        )

    @property
    def available(self) -> bool:
        """Return True while MQTT is connected and neither lock nor bridge is offline."""
        if MQTT_DOMAIN not in self._hass.config.components:
            return False
        from homeassistant.components import mqtt  # noqa: PLC0415

        try:
            connected = mqtt.is_connected(self._hass)
        except KeyError:  # the mqtt integration is not set up
            return False
        return (
            connected
            and self._bridge_online is not False
            and self._device_online is not False
        )

    async def async_read_slots(self) -> Mapping[int, str | None]:
        """Return the occupied slots: slot -> code, or None where hidden."""
        await self._async_ready()
        for slot in sorted(self._stale):
            await self._async_ask(slot)
        return {
            slot: code
            for slot, (occupied, code) in sorted(self._users.items())
            if occupied
        }

    async def async_set_code(self, slot: int, code: str) -> None:
        """Write a code into a slot (the next read asks the lock whether it took it)."""
        self._check_slot(slot)
        if not self._pin_min <= len(code) <= self._pin_max:
            raise ProviderError(
                "code_rejected",
                f"This lock takes codes of {self._pin_min} to {self._pin_max} digits",
            )
        await self._async_write(
            slot,
            code,
            {
                "user": slot,
                "user_type": "unrestricted",
                "user_enabled": True,
                "pin_code": code,
            },
        )

    async def async_clear_code(self, slot: int) -> None:
        """Empty a slot."""
        self._check_slot(slot)
        await self._async_write(slot, None, {"user": slot, "pin_code": None})

    @callback
    def async_listen_usage(self, on_use: Callable[[int], None]) -> Callable[[], None]:
        """Call ``on_use(slot)`` when the lock reports a keypad unlock."""
        self._usage.append(on_use)
        return self._remover(self._usage, on_use)

    @callback
    def async_listen_available(self, on_back: Callable[[], None]) -> Callable[[], None]:
        """Call ``on_back()`` when the lock (or bridge, or broker) is back."""
        self._back.append(on_back)
        return self._remover(self._back, on_back)

    # -- reading and writing -------------------------------------------------

    def _check_slot(self, slot: int) -> None:
        if slot not in self._slots:
            raise ProviderError("slot_out_of_range", f"User {slot} is not managed")

    async def _async_write(
        self, slot: int, code: str | None, pin_code: dict[str, Any]
    ) -> None:
        await self._async_ready()
        # Whatever happens to the message, the slot must be asked about again.
        self._stale.add(slot)
        self._expect.pop(slot, None)
        await self._async_publish("set", {"pin_code": pin_code})
        self._expect[slot] = code

    async def _async_ask(self, slot: int) -> None:
        """Ask the lock about one slot and wait for its answer."""
        asked = self._reports.get(slot, 0)
        await self._async_publish("get", {"pin_code": {"user": slot}})
        loop = asyncio.get_running_loop()
        deadline = loop.time() + REPLY_TIMEOUT
        answered = False
        while True:
            if not self.available:
                raise ProviderError("lock_offline", f"{self.topic} went offline")
            if self._reports.get(slot, 0) > asked:
                if self._as_expected(slot):
                    break
                if not answered:
                    answered = True
                    deadline = min(deadline, loop.time() + MISMATCH_GRACE)
            news = self._news
            remaining = deadline - loop.time()
            if remaining <= 0:
                if answered:
                    break  # the lock's answer stands; the read-back judges it
                raise ProviderError(
                    "lock_not_answering", f"{self.topic} did not report user {slot}"
                )
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(remaining):
                    await news.wait()
        self._stale.discard(slot)
        self._expect.pop(slot, None)

    def _as_expected(self, slot: int) -> bool:
        if slot not in self._expect:
            return True
        wanted = self._expect[slot]
        occupied, code = self._users.get(slot, (False, None))
        if wanted is None:
            return not occupied
        return occupied and code in (wanted, None)

    async def _async_publish(self, kind: str, payload: dict[str, Any]) -> None:
        from homeassistant.components import mqtt  # noqa: PLC0415

        try:
            await mqtt.async_publish(
                self._hass, f"{self.topic}/{kind}", json.dumps(payload), qos=QOS
            )
        except HomeAssistantError as err:
            # Only the error's type: its text may quote the payload.
            raise ProviderError(
                "lock_error",
                f"Publishing to {self.topic}/{kind} failed ({type(err).__name__})",
            ) from err

    # -- subscriptions -------------------------------------------------------

    async def _async_ready(self) -> None:
        """Subscribe to the lock's topics (once) and make sure it is reachable."""
        if not self._unsubs:
            async with self._subscribing:
                if not self._unsubs:
                    await self._async_subscribe()
        if not self.available:
            raise ProviderError("lock_offline", f"{self.topic} is offline")

    async def _async_subscribe(self) -> None:
        # Not waiting for an MQTT entry still being set up: Keyholder starts after
        # mqtt (after_dependencies), and a failed read is retried anyway.
        if MQTT_DOMAIN not in self._hass.config.components or not (
            self._hass.config_entries.async_loaded_entries(MQTT_DOMAIN)
        ):
            raise ProviderError("integration_not_loaded", "MQTT is not set up")
        from homeassistant.components import mqtt  # noqa: PLC0415

        topics: dict[str, Callable[[ReceiveMessage], None]] = {
            self.topic: self._on_state,
            f"{self.topic}/availability": self._on_device_availability,
            self._bridge_topic: self._on_bridge_state,
        }
        # What the retained availability messages are compared with.
        self._was_available = self.available
        loop = asyncio.get_running_loop()
        subs = [mqtt.async_subscribe_connection_status(self._hass, self._on_connection)]
        watchers: list[Callable[[], None]] = []
        done: list[asyncio.Future[None]] = []
        try:
            for topic, handler in topics.items():
                subs.append(await mqtt.async_subscribe(self._hass, topic, handler, QOS))
                future: asyncio.Future[None] = loop.create_future()
                done.append(future)
                watchers.append(
                    mqtt.async_on_subscribe_done(
                        self._hass, topic, QOS, partial(_resolve, future)
                    )
                )
        except HomeAssistantError as err:
            for unsub in (*subs, *watchers):
                unsub()
            raise ProviderError(
                "integration_not_loaded", f"Cannot subscribe ({type(err).__name__})"
            ) from err
        # Subscribed from now on (again after a reconnect); _release drops them.
        self._unsubs = subs
        if mqtt.is_connected(self._hass):
            # Ask the lock only once its answers can reach us.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(SUBSCRIBE_TIMEOUT):
                    await asyncio.gather(*done)
        for unwatch in watchers:
            unwatch()

    def _remover(
        self, listeners: list[Any], listener: Callable[..., None]
    ) -> Callable[[], None]:
        @callback
        def _remove() -> None:
            listeners.remove(listener)
            if not self._usage and not self._back:
                self._release()

        return _remove

    @callback
    def _release(self) -> None:
        """Drop the subscriptions once nobody listens (the lock was unloaded)."""
        for unsub in self._unsubs:
            unsub()
        self._unsubs = []
        self._bridge_online = self._device_online = None
        self._stale.update(self._slots)

    # -- MQTT callbacks ------------------------------------------------------

    @callback
    def _on_state(self, msg: ReceiveMessage) -> None:
        try:
            data = json_loads(msg.payload)
        except ValueError:
            return
        if not isinstance(data, dict):
            return
        users = data.get("users")
        if isinstance(users, dict):
            self._take_users(users)
        user = data.get("action_user")
        if msg.retain or not isinstance(user, int) or isinstance(user, bool):
            return  # a retained state replays an old action
        if _keypad_unlock(data):
            for on_use in list(self._usage):
                on_use(user)
        elif data.get("action") in PROGRAMMING_ACTIONS and user in self._slots:
            # Someone changed a code at the lock itself: ask again next time.
            self._stale.add(user)

    def _take_users(self, users: dict[str, Any]) -> None:
        for key, info in users.items():
            if (
                not (isinstance(key, str) and key.isdigit())
                or int(key) not in self._slots
            ):
                continue
            if not isinstance(info, dict):
                continue
            slot = int(key)
            # A cleared user keeps its old pin_code in Zigbee2MQTT's merged
            # state: only the status tells whether the slot holds a code.
            occupied = info.get("status") in OCCUPIED
            pin = info.get("pin_code")
            code = str(pin) if occupied and pin not in (None, "") else None
            if occupied and code is None and info.get("status") == "enabled":
                self._masks = True
            self._users[slot] = (occupied, code)
            self._reports[slot] = self._reports.get(slot, 0) + 1
        self._wake()

    @callback
    def _on_device_availability(self, msg: ReceiveMessage) -> None:
        self._device_online = _online(msg.payload)
        self._availability_changed()

    @callback
    def _on_bridge_state(self, msg: ReceiveMessage) -> None:
        self._bridge_online = _online(msg.payload)
        self._availability_changed()

    @callback
    def _on_connection(self, connected: bool) -> None:
        if not connected:
            # Retained availability is sent again on reconnecting.
            self._bridge_online = self._device_online = None
        self._availability_changed()

    @callback
    def _availability_changed(self) -> None:
        now = self.available
        if now != self._was_available:
            self._was_available = now
            # Codes may have changed at the lock while it was away.
            self._stale.update(self._slots)
            if now:
                for on_back in list(self._back):
                    on_back()
        self._wake()

    @callback
    def _wake(self) -> None:
        """Wake readers waiting for news."""
        self._news.set()
        self._news = asyncio.Event()


def from_subentry(setup: LockSetup) -> Zigbee2MqttLock:
    """Drive the subentry's Zigbee2MQTT device."""
    data = setup.data
    return Zigbee2MqttLock(
        setup.hass,
        base_topic=data[CONF_BASE_TOPIC],
        device=data[CONF_DEVICE],
        slots=int(data[CONF_SLOTS]),
        pin_min=int(data[CONF_PIN_MIN]),
        pin_max=int(data[CONF_PIN_MAX]),
    )
