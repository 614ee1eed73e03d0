"""`/ws`: authenticate with the first message, then subscribe, acknowledge, ping.

Whatever a client sends gets an answer or a documented close code (docs/realtime.md):
a message that is not valid gets an `error` frame and the socket stays usable; binary,
oversized and flooding frames close it with 1008; invalid UTF-8 is closed by the protocol
layer (1007). Nothing a client sends raises out of the handler."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import orjson
from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from pydantic import ValidationError

from hub.auth.ws import authenticate_message, origin_allowed
from hub.cases import actions
from hub.cases.machine import Action
from hub.cases.schemas import Note
from hub.db import Busy, socket_work
from hub.deps import Hub
from hub.errors import HubError, TooMany
from hub.realtime.gateway import Connection
from hub.realtime.limits import (
    INBOUND_BURST,
    INBOUND_PER_S,
    SUBSCRIBE_BURST,
    SUBSCRIBES_PER_S,
    Bucket,
)
from hub.realtime.protocol import (
    MAX_FRAME_BYTES,
    AckMsg,
    AckResultFrame,
    AuthMsg,
    CloseCode,
    ErrorFrame,
    PingMsg,
    PongFrame,
    SubscribeMsg,
    WelcomeFrame,
    client_message,
)
from hub.realtime.session import subscribe
from hub.realtime.wire import raw_socket

log = logging.getLogger(__name__)
router = APIRouter()
AUTH_TIMEOUT_S = 10.0


@router.websocket("/ws")
async def websocket_endpoint(ws: WebSocket) -> None:
    with socket_work():  # this socket's task only: its reads leave requests room
        await _serve(ws)


async def _serve(ws: WebSocket) -> None:
    hub: Hub = ws.app.state.hub
    realtime = hub.realtime
    if realtime is None or not origin_allowed(
        hub.settings, ws.headers.get("origin"), ws.headers.get("host")
    ):
        await _close(ws, CloseCode.POLICY)  # before accept: the handshake is refused
        return
    try:
        await ws.accept()
    except (WebSocketDisconnect, OSError):  # the client left during the handshake
        return
    try:
        async with asyncio.timeout(AUTH_TIMEOUT_S):  # not wait_for: see Relay._run
            raw = await ws.receive_text()
        # At most ADMIT_AT_ONCE sockets authenticate or subscribe at a time: a thousand walls
        # connecting at once otherwise filled every turn of the event loop with their
        # queries and snapshots, and each step of a case's request waited behind them all.
        async with realtime.admission:
            user = await authenticate_message(hub, _parse(raw))
    except TimeoutError:
        await _close(ws, CloseCode.AUTH_TIMEOUT, "no auth message")
        return
    except Busy:  # not the credential's fault: the client must not log in again
        await _close(ws, CloseCode.TRY_AGAIN_LATER, "busy: try again shortly")
        return
    except (HubError, ValueError, KeyError):
        await _close(ws, CloseCode.AUTH_FAILED, "authentication failed")
        return
    except WebSocketDisconnect:
        return
    except Exception:  # ours or the database's (a restart), not the credential's
        log.warning("websocket authentication could not be checked", exc_info=True)
        await _close(ws, CloseCode.TRY_AGAIN_LATER, "try again shortly")
        return
    conn = Connection(socket=ws, user=user, raw=raw_socket(ws.scope))
    gateway = realtime.gateway
    gateway.register(conn)
    inbound = Bucket(hub.clock, per_s=INBOUND_PER_S, burst=INBOUND_BURST)
    subscribes = Bucket(hub.clock, per_s=SUBSCRIBES_PER_S, burst=SUBSCRIBE_BURST)
    gateway.send(
        conn,
        WelcomeFrame(
            user=user.username, role=user.role.value, position=gateway.last_seen
        ).model_dump_json(),
        "welcome",
    )
    close: tuple[int, str] | None = None
    try:
        while not conn.closed:
            message = await ws.receive()
            if message["type"] == "websocket.disconnect":
                break
            text = message.get("text")
            if text is None or len(text.encode()) > MAX_FRAME_BYTES:
                close = (CloseCode.POLICY, "text frames of at most 64 KiB only")
                break
            if inbound.take() is not None:
                close = (CloseCode.POLICY, "too many messages")
                break
            await _handle(hub, conn, text, subscribes)
    except WebSocketDisconnect:
        pass
    finally:
        gateway.unregister(conn)
        if close is not None:
            await _close(ws, *close)


async def _close(ws: WebSocket, code: int, reason: str | None = None) -> None:
    """Close, whether or not the client is still there: one that already left (it sent a
    bad credential and disconnected at once) makes the close raise `ClientDisconnected`
    or `WebSocketDisconnect`, which must not escape `/ws` as an unhandled error."""
    with contextlib.suppress(Exception):
        await ws.close(code=code, reason=reason)


def _parse(text: str) -> Any:
    """JSON of at most MAX_FRAME_BYTES. orjson refuses nesting deeper than 1,024 levels,
    integers beyond 64 bits and NaN with a ValueError (the stdlib's parser recursed into a
    RecursionError on a deeply nested frame well under the size limit)."""
    if len(text.encode()) > MAX_FRAME_BYTES:
        raise ValueError("frame too large")
    return orjson.loads(text)


def _error(hub: Hub, conn: Connection, code: str, message: str) -> None:
    assert hub.realtime is not None
    frame = ErrorFrame(code=code, message=message[:500]).model_dump_json()
    hub.realtime.gateway.send(conn, frame, "error")


async def _handle(hub: Hub, conn: Connection, text: str, subscribes: Bucket) -> None:
    try:
        msg = client_message.validate_python(_parse(text))
    except ValidationError as exc:
        # Neither the input (it may be nested 1,000 deep) nor the context is echoed back.
        detail = exc.errors(include_url=False, include_input=False, include_context=False)
        _error(hub, conn, "bad_message", str(detail[:3]))
        return
    except (ValueError, TypeError, RecursionError) as exc:
        _error(hub, conn, "bad_message", f"not a JSON message: {exc}")
        return
    try:
        await _dispatch(hub, conn, msg, subscribes)
    except HubError as exc:
        _error(hub, conn, exc.code, exc.message)
    except Exception:
        # A bug of ours, not the client's: say so, keep the socket.
        log.exception("websocket message failed")
        _error(hub, conn, "internal", "the message could not be handled")


async def _dispatch(hub: Hub, conn: Connection, msg: Any, subscribes: Bucket) -> None:
    assert hub.realtime is not None
    gateway = hub.realtime.gateway
    if isinstance(msg, SubscribeMsg):
        wait_s = subscribes.take()
        if wait_s is not None:
            raise TooMany(
                f"at most {SUBSCRIBES_PER_S:g} subscribes a second", retry_after_s=int(wait_s) + 1
            )
        await subscribe(hub, conn, msg)
    elif isinstance(msg, AckMsg):
        await _ack(hub, conn, msg)
    elif isinstance(msg, PingMsg):
        gateway.send(
            conn, PongFrame(nonce=msg.nonce, position=gateway.last_seen).model_dump_json(), "pong"
        )
    elif isinstance(msg, AuthMsg):
        _error(hub, conn, "already_authenticated", "send auth once")


async def _ack(hub: Hub, conn: Connection, msg: AckMsg) -> None:
    """An acknowledgement is a database write and a case event, not a delivered frame."""
    assert hub.realtime is not None
    if (denied := conn.user.denial(Action.ACKNOWLEDGE)) is not None:
        result = AckResultFrame(
            case_id=msg.case_id, ok=False, error={"error": "forbidden", "message": denied}
        )
    else:
        try:
            case = await actions.perform(
                hub,
                conn.user,
                msg.case_id,
                Action.ACKNOWLEDGE,
                Note(version=msg.version, note=msg.note),
            )
            result = AckResultFrame(case_id=msg.case_id, ok=True, version=case.version)
        except HubError as exc:
            result = AckResultFrame(case_id=msg.case_id, ok=False, error=exc.body())
    with contextlib.suppress(Exception):
        hub.realtime.gateway.send(conn, result.model_dump_json(), "ack_result")
