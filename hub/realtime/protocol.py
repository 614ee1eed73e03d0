"""The websocket wire contract, shared by the server, the tests and web/ (JSON Schema in
docs/realtime.schema.json is generated from these models)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from hub.schemas import MAX_ID

PROTOCOL_VERSION = 1
MAX_FRAME_BYTES = 64 * 1024
MAX_TOPICS = 50


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- client -> server -------------------------------------------------------------------
class AuthMsg(_In):
    type: Literal["auth"]
    token: str | None = Field(default=None, max_length=4096)
    api_key: str | None = Field(default=None, max_length=200)


class Topic(_In):
    kind: Literal["region", "case", "department", "inbox"]
    # region: its code; case and department: the id; inbox: none (the caller's own tasks)
    key: str | None = Field(default=None, max_length=20, pattern=r"^\d{1,15}$")


class SubscribeMsg(_In):
    type: Literal["subscribe"]
    topics: list[Topic] = Field(min_length=1, max_length=MAX_TOPICS)
    # The last stream position the client has applied; omit for a fresh snapshot.
    since: int | None = Field(default=None, ge=0)


class AckMsg(_In):
    type: Literal["ack"]
    case_id: int = Field(ge=1, le=MAX_ID)
    version: int = Field(ge=1, le=MAX_ID)
    note: str = Field(default="", max_length=2000)


class PingMsg(_In):
    type: Literal["ping"]
    nonce: str | None = Field(default=None, max_length=64)


ClientMsg = Annotated[SubscribeMsg | AckMsg | PingMsg | AuthMsg, Field(discriminator="type")]
client_message = TypeAdapter(ClientMsg)


# -- server -> client -------------------------------------------------------------------
class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WelcomeFrame(_Out):
    type: Literal["welcome"] = "welcome"
    protocol: int = PROTOCOL_VERSION
    user: str
    role: str
    position: int


class EventFrame(_Out):
    type: Literal["event"] = "event"
    position: int
    event: dict[str, Any]  # id, case_id, seq, type, actor, at, payload
    case: dict[str, Any]  # the case as stored when published (version-ordered)


class SnapshotFrame(_Out):
    type: Literal["snapshot"] = "snapshot"
    position: int  # events after this position follow as event frames
    topic: Topic
    cases: list[dict[str, Any]]
    truncated: bool = False


class TasksFrame(_Out):
    type: Literal["tasks"] = "tasks"
    position: int
    tasks: list[dict[str, Any]]  # the caller's dispatched, unacknowledged cases


class CountersFrame(_Out):
    type: Literal["counters"] = "counters"
    region: str
    as_of: str
    counters: dict[str, Any]


class SubscribedFrame(_Out):
    type: Literal["subscribed"] = "subscribed"
    topics: list[Topic]
    mode: Literal["resume", "snapshot"]
    position: int


class ResyncFrame(_Out):
    type: Literal["resync"] = "resync"
    reason: str
    position: int


class AckResultFrame(_Out):
    type: Literal["ack_result"] = "ack_result"
    case_id: int
    ok: bool
    version: int | None = None
    error: dict[str, Any] | None = None


class PongFrame(_Out):
    type: Literal["pong"] = "pong"
    nonce: str | None = None
    position: int


class ErrorFrame(_Out):
    type: Literal["error"] = "error"
    code: str
    message: str


ServerFrame = Annotated[
    WelcomeFrame
    | EventFrame
    | SnapshotFrame
    | TasksFrame
    | CountersFrame
    | SubscribedFrame
    | ResyncFrame
    | AckResultFrame
    | PongFrame
    | ErrorFrame,
    Field(discriminator="type"),
]


class CloseCode:
    """Websocket close codes the hub uses; 4xxx are the hub's own."""

    NORMAL = 1000
    GOING_AWAY = 1001
    POLICY = 1008  # malformed or oversized frames, too many messages, bad Origin
    BAD_DATA = 1007  # a text frame that is not UTF-8 (closed by the protocol layer)
    TOO_BIG = 1009
    TRY_AGAIN_LATER = 1013  # the database stayed busy during authentication
    AUTH_FAILED = 4001  # first message was not a valid auth
    AUTH_TIMEOUT = 4002
    REVOKED = 4003  # the session ended (logout, disabled user)
    SLOW_CONSUMER = 4008  # send queue full: reconnect with `since` to resume
    SHUTDOWN = 4010  # server restarting: reconnect with `since`


def json_schema() -> dict[str, Any]:
    return {
        "title": "Hub realtime protocol",
        "version": PROTOCOL_VERSION,
        "client": TypeAdapter(ClientMsg).json_schema(),
        "server": TypeAdapter(ServerFrame).json_schema(),
    }
