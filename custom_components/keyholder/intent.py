"""
Assist intents: grant access for a day, block and unblock, who last unlocked.

The English sentences are in the repository's ``custom_sentences/en/``. Intents
that change access need an administrator in the conversation's context; a
request without a user (a voice satellite) is refused. A passcode is never
spoken: granting access reuses the passcode the keyholder already has.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any, override

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import (
    config_validation as cv,
    entity_registry as er,
    intent,
)
from homeassistant.util import dt as dt_util
import probatio as vol

from .access.keys import async_issue_key, async_set_blocked
from .access.resolve import resolve_keyholder, resolve_locks, sites_naming
from .adapters.action_fields import WEEKDAYS
from .const import (
    ATTR_LAST_UNLOCKED,
    ATTR_LAST_UNLOCKED_BY,
    CONF_PASSCODE_LENGTH,
    DEFAULT_PASSCODE_LENGTH,
    DOMAIN,
    SUBENTRY_BOOKING,
    site_setting,
)
from .model.passcode import taken_codes
from .model.status import TERMINAL_STATUSES
from .model.values import KeyKind, Schedule
from .sync.runtime import KeyholderRuntime

INTENT_GRANT = "KeyholderGrantAccess"
INTENT_BLOCK = "KeyholderBlock"
INTENT_UNBLOCK = "KeyholderUnblock"
INTENT_LAST_UNLOCK = "KeyholderLastUnlock"

SLOT_KEYHOLDER = "keyholder"
SLOT_LOCK = "lock"
SLOT_DAY = "day"
SLOT_START = "start"
SLOT_END = "end"
DAYS = ["today", "tomorrow", *WEEKDAYS]


class RefusedError(Exception):
    """A request Keyholder answers with an explanation instead of acting."""


class KeyholderIntent(intent.IntentHandler):
    """Answers in words: what was done, or why it was not."""

    response_type = intent.IntentResponseType.ACTION_DONE

    @override
    async def async_handle(self, intent_obj: intent.Intent) -> intent.IntentResponse:
        """Run the request; an expected refusal is spoken, not logged as a crash."""
        slots = self.async_validate_slots(intent_obj.slots)
        response = intent_obj.create_response()
        try:
            speech = await self._async_answer(intent_obj, slots)
        except RefusedError as refusal:
            response.async_set_error(
                intent.IntentResponseErrorCode.FAILED_TO_HANDLE, str(refusal)
            )
            return response
        response.response_type = self.response_type
        response.async_set_speech(speech)
        return response

    async def _async_answer(self, intent_obj: intent.Intent, slots: Any) -> str:
        raise NotImplementedError


async def async_setup_intents(hass: HomeAssistant) -> None:
    """Register Keyholder's intents."""
    intent.async_register(hass, GrantAccessIntent())
    intent.async_register(hass, BlockIntent(blocked=True))
    intent.async_register(hass, BlockIntent(blocked=False))
    intent.async_register(hass, LastUnlockIntent())


def _runtimes(hass: HomeAssistant) -> list[KeyholderRuntime]:
    return [
        entry.runtime_data for entry in hass.config_entries.async_loaded_entries(DOMAIN)
    ]


def _find_keyholder(
    hass: HomeAssistant, name: str, lock: str | None = None
) -> tuple[KeyholderRuntime, str]:
    """Return the one site with the keyholder called ``name`` (and the door)."""
    sites = sites_naming(hass, keyholder=name, locks=[lock] if lock else [])
    if not sites and lock and sites_naming(hass, keyholder=name):
        raise RefusedError(f"There is no door called {lock}")
    if not sites:
        raise RefusedError(f"There is no keyholder called {name}")
    if len(sites) > 1:
        titles = ", ".join(sorted(entry.title for entry in sites))
        raise RefusedError(f"{name} is a keyholder in several sites: {titles}")
    runtime: KeyholderRuntime = sites[0].runtime_data
    return runtime, resolve_keyholder(runtime, name)


async def _check_admin(intent_obj: intent.Intent) -> None:
    """Refuse a change of access unless an administrator asked for it."""
    user_id = intent_obj.context.user_id
    user = await intent_obj.hass.auth.async_get_user(user_id) if user_id else None
    if user is None or not user.is_admin:
        raise RefusedError(
            "Only an administrator signed in to Home Assistant can change access"
        )


def _day(value: str | None, today: date) -> date:
    """Return the date ``value`` names: today, tomorrow or the next weekday."""
    if value in (None, "today"):
        return today
    if value == "tomorrow":
        return today + timedelta(days=1)
    return today + timedelta(days=(WEEKDAYS.index(str(value)) - today.weekday()) % 7)


def _spoken_time(when: datetime) -> str:
    return when.strftime("%H:%M")


def _only_passcode(runtime: KeyholderRuntime, holder_id: str, name: str) -> str:
    """
    Return the one passcode of the keyholder's keys that still work.

    Never one of a cancelled, used-up or expired key: it may have been withdrawn.
    """
    codes = {
        key.secret
        for key in runtime.site.keys_of(holder_id)
        if key.kind is KeyKind.PASSCODE
        and key.secret
        and runtime.queries.key_status(key) not in TERMINAL_STATUSES
    }
    if not codes:
        raise RefusedError(
            f"{name} has no passcode yet: give them a key in Keyholder first"
        )
    if len(codes) > 1:
        raise RefusedError(
            f"{name} has more than one passcode: give this key in Keyholder"
        )
    (code,) = codes
    return code


def _day_window(
    runtime: KeyholderRuntime, slots: Any
) -> tuple[datetime, datetime, date]:
    """Return the start and end the request names (wall clock) and its day."""
    start_hour = slots.get(SLOT_START, {}).get("value", 0)
    end_hour = slots.get(SLOT_END, {}).get("value", 24)
    if end_hour <= start_hour:
        raise RefusedError("The end must be after the start")
    now = dt_util.now(runtime.tz)
    day = _day(slots.get(SLOT_DAY, {}).get("value"), now.date())
    midnight = datetime.combine(day, time(0), tzinfo=runtime.tz)
    valid_from = midnight + timedelta(hours=start_hour)  # wall clock
    valid_until = midnight + timedelta(hours=end_hour)  # 24: the next midnight
    if valid_until <= now:
        raise RefusedError("That time has already passed")
    return valid_from, valid_until, day


def _check_code_free(
    runtime: KeyholderRuntime, code: str, lock_id: str, name: str, door: str
) -> None:
    """Refuse when another key or a code Keyholder does not manage has ``code``."""
    if code in taken_codes(runtime.site, [lock_id]):
        raise RefusedError(
            f"{name}'s passcode is already in use on {door} by another "
            "key: change that key in Keyholder instead"
        )
    if code in runtime.queries.foreign_codes([lock_id]):
        raise RefusedError(
            f"{name}'s passcode is already on {door} as a code Keyholder "
            "does not manage: give them another passcode in Keyholder"
        )


class GrantAccessIntent(KeyholderIntent):
    """Let a keyholder open a door on one day, with the passcode they have."""

    intent_type = INTENT_GRANT
    description = (
        "Lets a Keyholder keyholder open a door on one day (today, tomorrow or a "
        "weekday), optionally only between two hours, with their existing passcode"
    )

    @property
    @override
    def slot_schema(self) -> dict[Any, Any]:
        return {
            vol.Required(SLOT_KEYHOLDER): cv.string,
            vol.Required(SLOT_LOCK): cv.string,
            vol.Optional(SLOT_DAY): vol.In(DAYS),
            vol.Optional(SLOT_START): vol.All(vol.Coerce(int), vol.Range(0, 23)),
            vol.Optional(SLOT_END): vol.All(vol.Coerce(int), vol.Range(1, 24)),
        }

    @override
    async def _async_answer(self, intent_obj: intent.Intent, slots: Any) -> str:
        """Issue a key for the day with the keyholder's latest passcode."""
        await _check_admin(intent_obj)
        hass = intent_obj.hass
        runtime, holder_id = _find_keyholder(
            hass, slots[SLOT_KEYHOLDER]["value"], slots[SLOT_LOCK]["value"]
        )
        (lock_id,) = resolve_locks(hass, runtime, [slots[SLOT_LOCK]["value"]])
        holder = runtime.site.keyholders[holder_id]
        door = runtime.locks[lock_id].name
        entry = hass.config_entries.async_get_entry(runtime.entry_id)
        assert entry is not None
        sub = entry.subentries.get(holder_id)
        if sub is not None and sub.subentry_type == SUBENTRY_BOOKING:
            raise RefusedError(f"{holder.name} are booking guests: use the calendar")
        code = _only_passcode(runtime, holder_id, holder.name)
        valid_from, valid_until, day = _day_window(runtime, slots)
        _check_code_free(runtime, code, lock_id, holder.name, door)
        try:
            await async_issue_key(
                runtime,
                keyholder_id=holder_id,
                lock_ids=frozenset({lock_id}),
                kind=KeyKind.PASSCODE,
                schedule=Schedule(
                    valid_from=dt_util.as_utc(valid_from),
                    valid_until=dt_util.as_utc(valid_until),
                ),
                max_uses=None,
                passcode=code,
                tag=None,
                passcode_length=site_setting(
                    entry, CONF_PASSCODE_LENGTH, DEFAULT_PASSCODE_LENGTH
                ),
                name="Voice",
            )
        except HomeAssistantError as err:
            # Its text names the problem (a length the door does not take), never
            # the code.
            raise RefusedError(
                f"{holder.name} cannot get access to {door}: {err}"
            ) from err
        until = (
            "midnight" if valid_until.time() == time(0) else _spoken_time(valid_until)
        )
        return (
            f"{holder.name} can open {door} on {day.strftime('%A')} from "
            f"{_spoken_time(valid_from)} to {until} with their passcode"
        )


class BlockIntent(KeyholderIntent):
    """Block or unblock a keyholder."""

    def __init__(self, *, blocked: bool) -> None:
        """Handle blocking (or, with ``blocked=False``, unblocking)."""
        self._blocked = blocked
        self.intent_type = INTENT_BLOCK if blocked else INTENT_UNBLOCK
        self.description = (
            "Blocks a Keyholder keyholder: all their codes leave the locks"
            if blocked
            else "Unblocks a Keyholder keyholder: their keys work again"
        )

    @property
    @override
    def slot_schema(self) -> dict[Any, Any]:
        return {vol.Required(SLOT_KEYHOLDER): cv.string}

    @override
    async def _async_answer(self, intent_obj: intent.Intent, slots: Any) -> str:
        """Block or unblock the named keyholder."""
        await _check_admin(intent_obj)
        runtime, holder_id = _find_keyholder(
            intent_obj.hass, slots[SLOT_KEYHOLDER]["value"]
        )
        name = runtime.site.keyholders[holder_id].name
        try:
            await async_set_blocked(runtime, holder_id, blocked=self._blocked)
        except HomeAssistantError as err:
            raise RefusedError(f"{name} stays as they are: {err}") from err
        return f"{name} is blocked" if self._blocked else f"{name} can open doors again"


class LastUnlockIntent(KeyholderIntent):
    """Tell who last unlocked a door (from the door's access event entity)."""

    intent_type = INTENT_LAST_UNLOCK
    description = "Tells who last unlocked a door managed by Keyholder, and when"
    response_type = intent.IntentResponseType.QUERY_ANSWER

    @property
    @override
    def slot_schema(self) -> dict[Any, Any]:
        return {vol.Required(SLOT_LOCK): cv.string}

    @override
    async def _async_answer(self, intent_obj: intent.Intent, slots: Any) -> str:
        """Answer from the door's last access event."""
        hass = intent_obj.hass
        name = slots[SLOT_LOCK]["value"]
        for runtime in _runtimes(hass):
            try:
                (lock_id,) = resolve_locks(hass, runtime, [name])
            except HomeAssistantError:
                continue
            return self._answer(hass, runtime, lock_id)
        raise RefusedError(f"There is no door called {name}")

    @staticmethod
    def _answer(hass: HomeAssistant, runtime: KeyholderRuntime, lock_id: str) -> str:
        """
        Name the last unlock the door's event entity keeps.

        The entity's state is the last attempt, which may be a refused try made
        after the unlock: that try is mentioned only when nobody unlocked yet.
        """
        door = runtime.locks[lock_id].name
        entity_id = er.async_get(hass).async_get_entity_id(
            "event", DOMAIN, f"{lock_id}_access"
        )
        state = hass.states.get(entity_id) if entity_id else None
        if state is None:
            return f"Nobody has opened {door} with a code yet"
        unlocked = _when(state.attributes.get(ATTR_LAST_UNLOCKED))
        if unlocked is not None:
            who = (
                state.attributes.get(ATTR_LAST_UNLOCKED_BY)
                or "Someone Keyholder does not know"
            )
            return f"{who} unlocked {door} at {_spoken(unlocked)}"
        tried = _when(state.state)
        if tried is None:
            return f"Nobody has opened {door} with a code yet"
        return (
            f"Nobody has unlocked {door} with a code yet; the last try, at "
            f"{_spoken(tried)}, was refused"
        )


def _when(value: Any) -> datetime | None:
    """Return the instant of an event entity's time stamp (None if none)."""
    return dt_util.parse_datetime(value) if isinstance(value, str) else None


def _spoken(when: datetime) -> str:
    """Say the time of today's event, or its day and time."""
    at = dt_util.as_local(when)
    if at.date() == dt_util.now().date():
        return _spoken_time(at)
    return f"{at:%A %d %B} at {_spoken_time(at)}"
