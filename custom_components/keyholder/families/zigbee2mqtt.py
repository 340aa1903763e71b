"""
Zigbee locks paired with Zigbee2MQTT, driven over Home Assistant's mqtt integration.

Zigbee2MQTT takes commands on ``<base>/<device>/set`` and ``/get`` and publishes
the lock's state on ``<base>/<device>`` (:mod:`.zigbee2mqtt_wire` reads and
writes those messages; :mod:`.zigbee2mqtt_link` subscribes, publishes and
waits for answers). It numbers users from 0 and Keyholder's passcode indices
are those numbers.

Zigbee2MQTT merges every report into its cached state, so a state message
carries every user it ever heard of, some possibly out of date. The provider
therefore asks the lock for each slot once (and again for every slot written,
and after the lock or the bridge was away) and trusts a slot only once the lock
answered after the question. Nothing here logs a payload.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from homeassistant.core import HomeAssistant, callback

from ..const import CONF_PIN_MAX, CONF_PIN_MIN, CONF_SLOTS
from ..model.values import CredentialRef, KeyKind, LockCapabilities, SlotRange
from . import (
    LockSetup,
    ProviderError,
    RefusesWhileWriting,
    Validity,
    check_credential,
    zigbee2mqtt_wire as wire,
)
from .zigbee2mqtt_link import Zigbee2MqttLink

if TYPE_CHECKING:
    from homeassistant.components.mqtt import ReceiveMessage

PROVIDER_ZIGBEE2MQTT = "zigbee2mqtt"
CONF_BASE_TOPIC = "base_topic"
CONF_DEVICE = "device"
DEFAULT_BASE_TOPIC = "zigbee2mqtt"
DEFAULT_SLOTS = 20
PASSCODE = KeyKind.PASSCODE


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
        self.topic = f"{base_topic}/{device}"
        self._link = Zigbee2MqttLink(
            hass,
            topic=self.topic,
            bridge_topic=f"{base_topic}/bridge/state",
            on_state=self._on_state,
            on_change=self._availability_changed,
        )
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
        self._usage: list[Callable[[CredentialRef], None]] = []
        self._back: list[Callable[[], None]] = []

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
        return self._link.available

    async def async_read_credentials(self) -> Mapping[CredentialRef, str | None]:
        """Return the codes the lock holds: ref -> code, or None where hidden."""
        await self._link.async_ready()
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
        await self._link.async_ready()
        # Whatever happens to the message, the slot must be asked about again.
        self._stale.add(slot)
        self._expect.pop(slot, None)
        await self._link.async_publish("set", payload)
        self._expect[slot] = code

    async def _async_ask(self, slot: int) -> None:
        """Ask the lock about one slot and wait for its answer."""
        asked = self._reports.get(slot, 0)
        await self._link.async_ask(
            wire.ask_pin(slot),
            answered=lambda: self._reports.get(slot, 0) > asked,
            expected=lambda: self._as_expected(slot),
            about=f"user {slot}",
        )
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

    # -- listeners -----------------------------------------------------------

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
        self._link.release()
        self._stale.update(self._slots)

    # -- what the lock reports -----------------------------------------------

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
        self._link.wake()

    @callback
    def _availability_changed(self, available: bool) -> None:
        """Ask everything anew after the lock (or bridge, or broker) came or went."""
        # Codes may have changed at the lock while it was away.
        self._stale.update(self._slots)
        if available:
            for on_back in list(self._back):
                on_back()


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
