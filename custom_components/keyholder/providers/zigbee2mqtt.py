"""
Zigbee locks paired with Zigbee2MQTT, driven over Home Assistant's mqtt integration.

Zigbee2MQTT takes commands on ``<base>/<device>/set`` and ``/get`` and publishes
the lock's state on ``<base>/<device>`` (:mod:`.zigbee2mqtt_wire` reads and
writes those messages). It numbers users from 0 and Keyholder's passcode
indices are those numbers.

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

from ..const import CONF_PIN_MAX, CONF_PIN_MIN, CONF_SLOTS
from ..engine.model import CredentialRef, KeyKind, LockCapabilities, SlotRange
from . import (
    LockSetup,
    ProviderError,
    RefusesWhileWriting,
    Validity,
    check_credential,
    zigbee2mqtt_wire as wire,
)

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
PASSCODE = KeyKind.PASSCODE


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


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
        self._users: dict[int, wire.UserReport] = {}
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
        self._usage: list[Callable[[CredentialRef], None]] = []
        self._back: list[Callable[[], None]] = []
        self._unsubs: list[Callable[[], None]] = []
        self._subscribing = asyncio.Lock()

    # -- protocol ------------------------------------------------------------

    @property
    def capabilities(self) -> LockCapabilities:
        """Return what the lock can hold (codes readable unless they came hidden)."""
        return LockCapabilities(
            slots={PASSCODE: SlotRange(self._slots.start, self._slots.stop - 1)},
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

    async def async_read_credentials(self) -> Mapping[CredentialRef, str | None]:
        """Return the codes the lock holds: ref -> code, or None where hidden."""
        await self._async_ready()
        for slot in sorted(self._stale):
            await self._async_ask(slot)
        return {
            CredentialRef(PASSCODE, slot): code
            for slot, (occupied, code) in sorted(self._users.items())
            if occupied
        }

    async def async_set_credential(
        self, ref: CredentialRef, secret: str, *, valid: Validity | None = None
    ) -> None:
        """Write a code (the next read asks the lock whether it took it)."""
        check_credential(self.capabilities, ref)
        if not self._pin_min <= len(secret) <= self._pin_max:
            raise ProviderError(
                "code_rejected",
                f"This lock takes codes of {self._pin_min} to {self._pin_max} digits",
            )
        await self._async_write(ref.index, secret, wire.set_pin(ref.index, secret))

    async def async_clear_credential(self, ref: CredentialRef) -> None:
        """Empty a slot."""
        check_credential(self.capabilities, ref)
        await self._async_write(ref.index, None, wire.clear_pin(ref.index))

    @callback
    def async_listen_usage(
        self, on_use: Callable[[CredentialRef], None]
    ) -> Callable[[], None]:
        """Call ``on_use(ref)`` when the lock reports a keypad unlock."""
        self._usage.append(on_use)
        return self._remover(self._usage, on_use)

    @callback
    def async_listen_available(self, on_back: Callable[[], None]) -> Callable[[], None]:
        """Call ``on_back()`` when the lock (or bridge, or broker) is back."""
        self._back.append(on_back)
        return self._remover(self._back, on_back)

    # -- reading and writing -------------------------------------------------

    async def _async_write(
        self, slot: int, code: str | None, payload: dict[str, Any]
    ) -> None:
        await self._async_ready()
        # Whatever happens to the message, the slot must be asked about again.
        self._stale.add(slot)
        self._expect.pop(slot, None)
        await self._async_publish("set", payload)
        self._expect[slot] = code

    async def _async_ask(self, slot: int) -> None:
        """Ask the lock about one slot and wait for its answer."""
        asked = self._reports.get(slot, 0)
        await self._async_publish("get", wire.ask_pin(slot))
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
        if (data := wire.state_of(msg.payload)) is None:
            return
        users = data.get("users")
        if isinstance(users, dict):
            self._take_users(users)
        user = wire.action_user(data)
        if msg.retain or user is None:
            return  # a retained state replays an old action
        if wire.keypad_unlock(data):
            for on_use in list(self._usage):
                on_use(CredentialRef(PASSCODE, user))
        elif data.get("action") in wire.PROGRAMMING_ACTIONS and user in self._slots:
            # Someone changed a code at the lock itself: ask again next time.
            self._stale.add(user)

    def _take_users(self, users: dict[str, Any]) -> None:
        reports, hidden = wire.read_users(users, self._slots)
        self._masks = self._masks or hidden
        for slot, report in reports.items():
            self._users[slot] = report
            self._reports[slot] = self._reports.get(slot, 0) + 1
        self._wake()

    @callback
    def _on_device_availability(self, msg: ReceiveMessage) -> None:
        self._device_online = wire.online(msg.payload)
        self._availability_changed()

    @callback
    def _on_bridge_state(self, msg: ReceiveMessage) -> None:
        self._bridge_online = wire.online(msg.payload)
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
