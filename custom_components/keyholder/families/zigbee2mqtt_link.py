"""
One Zigbee2MQTT device's topics, over Home Assistant's mqtt integration.

The plumbing of the Zigbee2MQTT provider (:mod:`.zigbee2mqtt`): subscribing to
the device's state, its availability and the bridge's state (once, until the
provider lets go), publishing commands on ``/set`` and ``/get``, whether the
broker, the bridge and the device are online, and asking the device a question
and waiting for its answer. What the messages say is read in
:mod:`.zigbee2mqtt_wire`; nothing here logs a payload.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
import contextlib
from functools import partial
import json
from typing import TYPE_CHECKING, Any

from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError

from . import ProviderError, zigbee2mqtt_wire as wire

if TYPE_CHECKING:
    from homeassistant.components.mqtt import ReceiveMessage

MQTT_DOMAIN = "mqtt"

# How long the lock may take to answer a question about one slot.
REPLY_TIMEOUT = 10.0
# How long to keep listening when the answer differs from what was just written
# (a report Zigbee2MQTT published before the write may still be on its way).
MISMATCH_GRACE = 2.0
SUBSCRIBE_TIMEOUT = 10.0
QOS = 1


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class Zigbee2MqttLink:
    """The topics of one Zigbee2MQTT device, and whether it can be reached."""

    def __init__(
        self,
        hass: HomeAssistant,
        *,
        topic: str,
        bridge_topic: str,
        on_state: Callable[[ReceiveMessage], None],
        on_change: Callable[[bool], None],
    ) -> None:
        """
        Reach the device at ``topic``; hand its state messages to ``on_state``.

        ``on_change(available)`` is called when the device becomes reachable or
        unreachable (broker, bridge or device).
        """
        self._hass = hass
        self.topic = topic
        self._bridge_topic = bridge_topic
        self._on_state = on_state
        self._on_change = on_change
        self._bridge_online: bool | None = None
        self._device_online: bool | None = None
        self._was_available = False
        self._news = asyncio.Event()
        self._unsubs: list[Callable[[], None]] = []
        self._subscribing = asyncio.Lock()

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

    async def async_ready(self) -> None:
        """Subscribe to the lock's topics (once) and make sure it is reachable."""
        if not self._unsubs:
            async with self._subscribing:
                if not self._unsubs:
                    await self._async_subscribe()
        if not self.available:
            raise ProviderError("lock_offline", f"{self.topic} is offline")

    async def async_ask(
        self,
        payload: dict[str, Any],
        *,
        answered: Callable[[], bool],
        expected: Callable[[], bool],
        about: str,
    ) -> None:
        """
        Ask the device (``payload`` on ``/get``) and wait for its answer.

        ``answered()`` tells whether a report arrived after the question and
        ``expected()`` whether it says what was written; an answer that does
        not is listened past for a short grace, then stands. Raises
        ``lock_offline`` or ``lock_not_answering`` (naming ``about``).
        """
        await self.async_publish("get", payload)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + REPLY_TIMEOUT
        got_answer = False
        while True:
            if not self.available:
                raise ProviderError("lock_offline", f"{self.topic} went offline")
            if answered():
                if expected():
                    return
                if not got_answer:
                    got_answer = True
                    deadline = min(deadline, loop.time() + MISMATCH_GRACE)
            news = self._news
            remaining = deadline - loop.time()
            if remaining <= 0:
                if got_answer:
                    return  # the lock's answer stands; the read-back judges it
                raise ProviderError(
                    "lock_not_answering", f"{self.topic} did not report {about}"
                )
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(remaining):
                    await news.wait()

    async def async_publish(self, kind: str, payload: dict[str, Any]) -> None:
        """Publish a command on ``<topic>/<kind>`` (``set`` or ``get``)."""
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
        # Subscribed from now on (again after a reconnect); release drops them.
        self._unsubs = subs
        if mqtt.is_connected(self._hass):
            # Ask the lock only once its answers can reach us.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(SUBSCRIBE_TIMEOUT):
                    await asyncio.gather(*done)
        for unwatch in watchers:
            unwatch()

    @callback
    def release(self) -> None:
        """Drop the subscriptions (nobody listens any more)."""
        for unsub in self._unsubs:
            unsub()
        self._unsubs = []
        self._bridge_online = self._device_online = None

    # -- MQTT callbacks ------------------------------------------------------

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
            self._on_change(now)
        self.wake()

    @callback
    def wake(self) -> None:
        """Wake questions waiting for news (a report, a change of availability)."""
        self._news.set()
        self._news = asyncio.Event()
