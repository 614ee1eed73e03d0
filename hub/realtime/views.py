"""`/ws`: authenticate with the first message, then subscribe, acknowledge, ping."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from pydantic import ValidationError

from hub.auth.ratelimit import TokenBuckets
from hub.auth.ws import authenticate_message, origin_allowed
from hub.cases import actions
from hub.cases.machine import Action
from hub.cases.schemas import Note
from hub.deps import Hub
from hub.errors import HubError
from hub.realtime.gateway import Connection
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

router = APIRouter()
AUTH_TIMEOUT_S = 10.0
INBOUND_PER_MIN = 600  # 10 messages a second per socket is far above any real client


@router.websocket("/ws")
async def websocket_endpoint(ws: WebSocket) -> None:
    hub: Hub = ws.app.state.hub
    realtime = hub.realtime
    if realtime is None or not origin_allowed(
        hub.settings, ws.headers.get("origin"), ws.headers.get("host")
    ):
        await ws.close(code=CloseCode.POLICY)  # before accept: the handshake is refused
        return
    await ws.accept()
    try:
        async with asyncio.timeout(AUTH_TIMEOUT_S):  # not wait_for: see Relay._run
            raw = await ws.receive_text()
        user = await authenticate_message(hub, _parse(raw))
    except TimeoutError:
        await ws.close(code=CloseCode.AUTH_TIMEOUT, reason="no auth message")
        return
    except (HubError, ValueError, KeyError):
        await ws.close(code=CloseCode.AUTH_FAILED, reason="authentication failed")
        return
    except WebSocketDisconnect:
        return
    conn = Connection(socket=ws, user=user, raw=raw_socket(ws.scope))
    gateway = realtime.gateway
    gateway.register(conn)
    limiter = TokenBuckets(hub.clock, per_min=INBOUND_PER_MIN)
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
            if limiter.take("in") is not None:
                close = (CloseCode.POLICY, "too many messages")
                break
            await _handle(hub, conn, text)
    except WebSocketDisconnect:
        pass
    finally:
        gateway.unregister(conn)
        if close is not None:
            with contextlib.suppress(Exception):
                await ws.close(code=close[0], reason=close[1])


def _parse(text: str) -> Any:
    if len(text.encode()) > MAX_FRAME_BYTES:
        raise ValueError("frame too large")
    return json.loads(text)


async def _handle(hub: Hub, conn: Connection, text: str) -> None:
    assert hub.realtime is not None
    gateway = hub.realtime.gateway
    try:
        msg = client_message.validate_python(json.loads(text))
    except (ValueError, ValidationError) as exc:
        detail = exc.errors(include_url=False)[:3] if isinstance(exc, ValidationError) else None
        gateway.send(
            conn,
            ErrorFrame(code="bad_message", message=str(detail or exc)[:500]).model_dump_json(),
            "error",
        )
        return
    if isinstance(msg, SubscribeMsg):
        await subscribe(hub, conn, msg)
    elif isinstance(msg, AckMsg):
        await _ack(hub, conn, msg)
    elif isinstance(msg, PingMsg):
        gateway.send(
            conn, PongFrame(nonce=msg.nonce, position=gateway.last_seen).model_dump_json(), "pong"
        )
    elif isinstance(msg, AuthMsg):
        gateway.send(
            conn,
            ErrorFrame(code="already_authenticated", message="send auth once").model_dump_json(),
            "error",
        )


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
