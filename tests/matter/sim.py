"""A Matter server with one keypad door lock, faked at the matter client's websocket.

Home Assistant's matter integration runs unchanged with the real
``MatterClient``; only its connection (the websocket to the Matter server) is
replaced. Every message goes through the library's own JSON (de)serialisation,
and the door lock behind it keeps its users and credentials the way the Matter
DoorLock cluster does (SetCredential / GetUser / GetCredentialStatus /
ClearCredential / ClearUser with their statuses), so a code written through
``matter.set_lock_credential`` is really there for ``matter.get_lock_users``.
"""

from __future__ import annotations

import asyncio
from base64 import b64decode
from collections.abc import Awaitable, Callable, Iterator
import copy
from dataclasses import dataclass, field
import json
from pathlib import Path
from typing import Any
from unittest.mock import patch

from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from matter_server.client import MatterClient
from matter_server.client.connection import parse_message
from matter_server.client.exceptions import ConnectionClosed
from matter_server.common.const import SCHEMA_VERSION
from matter_server.common.helpers.json import json_dumps, json_loads
from matter_server.common.models import (
    APICommand,
    CommandMessage,
    EventType,
    MessageType,
    ServerInfoMessage,
)
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

NODE_FIXTURE = Path(__file__).parent / "fixtures" / "door_lock.json"
NODE_ID = 42
LOCK_ENDPOINT = 1
DOOR_LOCK = 257
CLEAR_ALL = 0xFFFE

# DoorLock enums (Matter specification; checked against chip.clusters).
PIN = 1
ADD, MODIFY = 0, 2
OCCUPIED_ENABLED = 1
UNRESTRICTED = 0
SUCCESS, FAILURE, DUPLICATE, OCCUPIED = 0, 1, 2, 3
INVALID_FIELD, RESOURCE_EXHAUSTED = 0x85, 0x89
KEYPAD, MANUAL = 3, 1
UNLOCK = 1
LOCK_OPERATION = 2
# matter server error codes
NODE_NOT_READY, SDK_STACK_ERROR = 3, 7


class CommandRefusedError(Exception):
    """The lock answered a command with an error status (no response payload)."""


@dataclass
class _User:
    status: int = OCCUPIED_ENABLED
    user_type: int = UNRESTRICTED
    name: str | None = None
    creds: list[tuple[int, int]] = field(default_factory=list)


class DoorLock:
    """A DoorLock cluster's user and credential tables (USR and PIN features)."""

    def __init__(
        self,
        *,
        users: int = 10,
        pins: int = 10,
        pin_min: int = 4,
        pin_max: int = 8,
        per_user: int = 2,
    ) -> None:
        """Create an empty lock."""
        self.max_users = users
        self.max_pins = pins
        self.pin_min = pin_min
        self.pin_max = pin_max
        self.per_user = per_user
        self.users: dict[int, _User] = {}
        # (credential type, index) -> (data, user index)
        self.creds: dict[tuple[int, int], tuple[str, int]] = {}
        self.commands: list[str] = []
        # Answer the next SetCredential with this status instead (a lock's
        # own rules the simulation does not model).
        self.next_set_status: int | None = None
        # command name -> the error the next such command fails with
        self.fail_next: dict[str, str] = {}

    # -- what tests do behind Keyholder's back ----------------------------

    def held(self) -> dict[int, str]:
        """Return PIN index -> PIN."""
        return {
            index: data
            for (kind, index), (data, _) in sorted(self.creds.items())
            if kind == PIN
        }

    def seed(self, index: int, pin: str, *, user: int | None = None) -> int:
        """Put a PIN on the lock as its own keypad menu would; return the user."""
        user = user or self._free_user()
        assert user is not None
        self.users.setdefault(user, _User(name="Kitchen keypad"))
        self.users[user].creds.append((PIN, index))
        self.creds[PIN, index] = (pin, user)
        return user

    def owner(self, index: int) -> int:
        """Return the user holding PIN ``index``."""
        return self.creds[PIN, index][1]

    # -- commands -----------------------------------------------------------

    def handle(self, name: str, payload: dict[str, Any]) -> Any:
        """Carry out a DoorLock command; return its response (or None)."""
        self.commands.append(name)
        if name in self.fail_next:
            raise CommandRefusedError(self.fail_next.pop(name))
        handlers: dict[str, Callable[[dict[str, Any]], Any]] = {
            "GetUser": self._get_user,
            "SetUser": self._set_user,
            "ClearUser": self._clear_user,
            "GetCredentialStatus": self._get_credential_status,
            "SetCredential": self._set_credential,
            "ClearCredential": self._clear_credential,
        }
        handler = handlers.get(name)
        if handler is None:
            return None  # lock / unlock: nothing to keep
        return handler(payload)

    def _free_user(self) -> int | None:
        return next(
            (i for i in range(1, self.max_users + 1) if i not in self.users), None
        )

    def _next_user(self, after: int) -> int | None:
        return next((i for i in sorted(self.users) if i > after), None)

    def _get_user(self, payload: dict[str, Any]) -> dict[str, Any]:
        index = payload["userIndex"]
        if not 1 <= index <= self.max_users:
            raise CommandRefusedError("InteractionModelError: InvalidCommand (0x85)")
        user = self.users.get(index)
        return {
            "userIndex": index,
            "userName": user.name if user else None,
            "userUniqueID": None,
            "userStatus": user.status if user else None,
            "userType": user.user_type if user else None,
            "credentialRule": 0 if user else None,
            "credentials": [
                {"credentialType": kind, "credentialIndex": cred}
                for kind, cred in user.creds
            ]
            if user
            else None,
            "creatorFabricIndex": 1 if user else None,
            "lastModifiedFabricIndex": 1 if user else None,
            "nextUserIndex": self._next_user(index),
        }

    def _set_user(self, payload: dict[str, Any]) -> None:
        index = payload["userIndex"]
        user = self.users.get(index)
        if payload["operationType"] == ADD:
            if user is not None:
                raise CommandRefusedError("InteractionModelError: Failure (0x1)")
            self.users[index] = _User(
                status=payload.get("userStatus") or OCCUPIED_ENABLED,
                user_type=payload.get("userType") or UNRESTRICTED,
                name=payload.get("userName"),
            )
            return
        if user is None:
            raise CommandRefusedError("InteractionModelError: InvalidCommand (0x85)")
        user.name = payload.get("userName")
        user.status = payload.get("userStatus") or user.status
        user.user_type = payload.get("userType") or user.user_type

    def _clear_user(self, payload: dict[str, Any]) -> None:
        index = payload["userIndex"]
        targets = list(self.users) if index == CLEAR_ALL else [index]
        for target in targets:
            user = self.users.pop(target, None)
            for cred in user.creds if user else []:
                self.creds.pop(cred, None)

    def _get_credential_status(self, payload: dict[str, Any]) -> dict[str, Any]:
        kind = payload["credential"]["credentialType"]
        index = payload["credential"]["credentialIndex"]
        held = self.creds.get((kind, index))
        later = [i for (k, i) in self.creds if k == kind and i > index]
        return {
            "credentialExists": held is not None,
            "userIndex": held[1] if held else None,
            "creatorFabricIndex": 1 if held else None,
            "lastModifiedFabricIndex": 1 if held else None,
            "nextCredentialIndex": min(later) if later else None,
        }

    def _set_answer(self, status: int, user: int | None = None) -> dict[str, Any]:
        return {"status": status, "userIndex": user, "nextCredentialIndex": None}

    def _set_credential(self, payload: dict[str, Any]) -> dict[str, Any]:
        kind = payload["credential"]["credentialType"]
        index = payload["credential"]["credentialIndex"]
        data = b64decode(payload["credentialData"]).decode()
        user_index = payload.get("userIndex")
        if self.next_set_status is not None:
            status, self.next_set_status = self.next_set_status, None
            return self._set_answer(status)
        if (
            kind != PIN
            or not 1 <= index <= self.max_pins
            or not self.pin_min <= len(data) <= self.pin_max
        ):
            return self._set_answer(INVALID_FIELD)
        held = self.creds.get((kind, index))
        if user_index is not None and (
            payload.get("userStatus") is not None or payload.get("userType") is not None
        ):
            # Status and type only describe a user the lock creates.
            return self._set_answer(INVALID_FIELD)
        if any(
            d == data and key != (kind, index) and key[0] == kind
            for key, (d, _) in self.creds.items()
        ):
            return self._set_answer(DUPLICATE)
        if payload["operationType"] == MODIFY:
            if held is None or user_index != held[1]:
                return self._set_answer(INVALID_FIELD)
            self.creds[kind, index] = (data, held[1])
            return self._set_answer(SUCCESS)
        if held is not None:
            return self._set_answer(OCCUPIED)
        if user_index is None:
            user_index = self._free_user()
            if user_index is None:
                return self._set_answer(RESOURCE_EXHAUSTED)
            self.users[user_index] = _User(
                status=payload.get("userStatus") or OCCUPIED_ENABLED,
                user_type=payload.get("userType") or UNRESTRICTED,
            )
        elif user_index not in self.users:
            # No credential for a user that does not exist.
            return self._set_answer(INVALID_FIELD)
        elif len(self.users[user_index].creds) >= self.per_user:
            return self._set_answer(RESOURCE_EXHAUSTED)
        self.users[user_index].creds.append((kind, index))
        self.creds[kind, index] = (data, user_index)
        return self._set_answer(SUCCESS, user_index)

    def _clear_credential(self, payload: dict[str, Any]) -> None:
        cred = payload["credential"]
        kind, index = cred["credentialType"], cred["credentialIndex"]
        if index != CLEAR_ALL and not 1 <= index <= self.max_pins:
            raise CommandRefusedError("InteractionModelError: InvalidCommand (0x85)")
        targets = (
            [key for key in self.creds if key[0] == kind]
            if index == CLEAR_ALL
            else [(kind, index)]
        )
        for key in targets:
            held = self.creds.pop(key, None)
            if held is None:
                continue
            user = self.users[held[1]]
            user.creds.remove(key)
            if not user.creds:
                # A user whose last credential is cleared is deleted with it.
                del self.users[held[1]]


class _Closed:
    """Marks the end of the connection in the message queue."""


class MatterServerSim:
    """The websocket peer of matter's client: a Matter server with one lock node."""

    def __init__(self, lock: DoorLock) -> None:
        """Serve the fixture node with ``lock`` behind its DoorLock cluster."""
        self.lock = lock
        self.node: dict[str, Any] = json.loads(NODE_FIXTURE.read_text())
        self.server_info: ServerInfoMessage | None = None
        self._queue: asyncio.Queue[dict[str, Any] | _Closed] = asyncio.Queue()
        self._taken = False
        self._connected = False
        self._events = 0

    # -- MatterClientConnection's interface ---------------------------------

    def client(self, url: str, session: Any) -> MatterClient:
        """Build the real client, connected to this server instead of a socket."""
        client = MatterClient(url, session)
        client.connection = self  # type: ignore[assignment]
        return client

    @property
    def connected(self) -> bool:
        """Return whether the client is connected."""
        return self._connected

    async def connect(self) -> None:
        """Accept the client; the server introduces itself."""
        self._queue = asyncio.Queue()
        self._taken = False
        self._connected = True
        self.server_info = ServerInfoMessage(
            fabric_id=1,
            compressed_fabric_id=0xCAFE,
            schema_version=SCHEMA_VERSION,
            min_supported_schema_version=SCHEMA_VERSION,
            sdk_version="2026.1.0",
            wifi_credentials_set=False,
            thread_credentials_set=True,
            bluetooth_enabled=False,
        )

    async def disconnect(self) -> None:
        """Close the connection."""
        if self._connected:
            self._connected = False
            self._queue.put_nowait(_Closed())

    async def send_message(self, message: CommandMessage) -> None:
        """Receive a command (as JSON) and queue its answer."""
        raw = json_loads(json_dumps(message))
        msg_id, command, args = raw["message_id"], raw["command"], raw["args"] or {}
        reply: dict[str, Any]
        if command == APICommand.START_LISTENING:
            reply = {"message_id": msg_id, "result": [self._node_data()]}
        elif command == APICommand.DEVICE_COMMAND:
            reply = self._device_command(msg_id, args)
        else:
            reply = {"message_id": msg_id, "result": None}
        self._queue.put_nowait(reply)

    async def receive_message_or_raise(self) -> MessageType:
        """Hand the client the next message (the previous one is handled now)."""
        if self._taken:
            self._queue.task_done()
        item = await self._queue.get()
        self._taken = True
        if isinstance(item, _Closed):
            raise ConnectionClosed("Connection was closed.")
        return parse_message(json_loads(json_dumps(item)))

    # -- the server ---------------------------------------------------------

    def _device_command(self, msg_id: str, args: dict[str, Any]) -> dict[str, Any]:
        if not self.node["available"]:
            return {
                "message_id": msg_id,
                "error_code": NODE_NOT_READY,
                "details": f"Node {NODE_ID} is not (yet) available.",
            }
        assert args["node_id"] == NODE_ID
        assert args["endpoint_id"] == LOCK_ENDPOINT
        assert args["cluster_id"] == DOOR_LOCK
        try:
            result = self.lock.handle(args["command_name"], args["payload"])
        except CommandRefusedError as err:
            return {
                "message_id": msg_id,
                "error_code": SDK_STACK_ERROR,
                "details": str(err),
            }
        return {"message_id": msg_id, "result": result}

    def update_attribute(self, path: str, value: Any) -> None:
        """An attribute of the node changes; the server tells the client."""
        self.node["attributes"][path] = value
        self._push(EventType.ATTRIBUTE_UPDATED, [NODE_ID, path, value])

    def _node_data(self) -> dict[str, Any]:
        """Return the node as the server reports it, with the lock's capacities."""
        node = copy.deepcopy(self.node)
        prefix = f"{LOCK_ENDPOINT}/{DOOR_LOCK}"
        node["attributes"].update(
            {
                f"{prefix}/17": self.lock.max_users,
                f"{prefix}/18": self.lock.max_pins,
                f"{prefix}/23": self.lock.pin_max,
                f"{prefix}/24": self.lock.pin_min,
                f"{prefix}/28": self.lock.per_user,
            }
        )
        return node

    def _push(self, event: EventType, data: Any) -> None:
        self._queue.put_nowait({"event": event.value, "data": data})

    async def async_delivered(self) -> None:
        """Wait until the client handled every message sent to it."""
        await self._queue.join()

    def set_online(self, *, online: bool) -> None:
        """The node becomes (un)reachable; the server tells the client."""
        self.node["available"] = online
        self._push(EventType.NODE_UPDATED, self._node_data())

    def _lock_operation(self, data: dict[str, Any]) -> None:
        self._events += 1
        self._push(
            EventType.NODE_EVENT,
            {
                "node_id": NODE_ID,
                "endpoint_id": LOCK_ENDPOINT,
                "cluster_id": DOOR_LOCK,
                "event_id": LOCK_OPERATION,
                "event_number": self._events,
                "priority": 1,
                "timestamp": 1_767_600_000_000 + self._events,
                "timestamp_type": 1,
                "data": data,
            },
        )

    def press_keypad(
        self, index: int, *, name_credential: bool = True, operation: int = UNLOCK
    ) -> None:
        """Someone opens (or locks) the door at the keypad with PIN ``index``."""
        self._lock_operation(
            {
                "lockOperationType": operation,
                "operationSource": KEYPAD,
                "userIndex": self.lock.owner(index),
                "fabricIndex": None,
                "sourceNode": None,
                "credentials": [{"credentialType": PIN, "credentialIndex": index}]
                if name_credential
                else None,
            }
        )

    def unlock_by_hand(self, index: int) -> None:
        """The door is opened by hand; the lock still names the last user."""
        self._lock_operation(
            {
                "lockOperationType": UNLOCK,
                "operationSource": MANUAL,
                "userIndex": self.lock.owner(index),
                "fabricIndex": None,
                "sourceNode": None,
                "credentials": None,
            }
        )


@dataclass
class MatterHarness:
    """A running matter integration with the simulated lock."""

    hass: HomeAssistant
    server: MatterServerSim
    entry: MockConfigEntry
    entity_id: str

    @property
    def lock(self) -> DoorLock:
        """Return the simulated lock."""
        return self.server.lock

    async def async_delivered(self) -> None:
        """Wait until Home Assistant handled what the server sent."""
        await self.server.async_delivered()
        await self.hass.async_block_till_done()


type MatterFactory = Callable[..., Awaitable[MatterHarness]]


@pytest.fixture
def matter_server() -> Iterator[MatterServerSim]:
    """Patch matter's client so that it talks to a simulated server."""
    server = MatterServerSim(DoorLock())
    with patch("homeassistant.components.matter.MatterClient", new=server.client):
        yield server


@pytest.fixture
async def matter_lock(
    hass: HomeAssistant, matter_server: MatterServerSim
) -> MatterFactory:
    """Return a factory that sets up matter with the simulated lock."""

    async def _make(**lock: Any) -> MatterHarness:
        if lock:
            matter_server.lock = DoorLock(**lock)
        entry = MockConfigEntry(domain="matter", data={"url": "ws://127.0.0.1:5580/ws"})
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        entity_id = next(
            e.entity_id
            for e in er.async_entries_for_config_entry(
                er.async_get(hass), entry.entry_id
            )
            if e.domain == "lock"
        )
        return MatterHarness(hass, matter_server, entry, entity_id)

    return _make
