"""Prepared frames: a broadcast frame is encoded once and its bytes written to every socket.

Through ASGI, each socket's send builds a message dict, goes through Starlette's and
uvicorn's checks and has websockets frame the same text again: about 17 µs a socket, so
one event to 1,000 walls held the event loop for 17 ms. A server-to-client frame without
compression is the same bytes for every socket (it is not masked), so it is framed once
(`Frame.wire`) and written straight to each socket's transport, as gorilla/websocket's
`PreparedMessage` does (websockets' own `broadcast` encodes the text once but still frames
it per socket).

Only uvicorn's sans-io websocket protocol (what `hub serve` runs) with no extension
negotiated qualifies; anything else (a browser that negotiated permessage-deflate, the test
client, another server) keeps the ASGI path. So does a socket whose transport is paused or
that is closing: the caller then falls back to the ordinary send, which waits or raises."""

from __future__ import annotations

import logging
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.frames import Frame, Opcode
from websockets.protocol import State

SCOPE_KEY = "hub.raw_send"  # where RawSendTap leaves uvicorn's own `send` for the endpoint


def encode_text(text: str) -> bytes:
    """One unmasked, uncompressed text frame (RFC 6455 section 5.2), as a server sends it."""
    return Frame(Opcode.TEXT, text.encode()).serialize(mask=False)


def frame_header(length: int) -> bytes:
    """The header of that frame for a payload of `length` bytes (FIN, text, no mask): the
    payload may then follow in parts, without joining them."""
    if length < 126:
        return bytes((0x81, length))
    if length < 1 << 16:
        return bytes((0x81, 126)) + length.to_bytes(2, "big")
    return bytes((0x81, 127)) + length.to_bytes(8, "big")


class RawSocket:
    """Writes prepared frames to one uvicorn sans-io websocket, bypassing ASGI `send`."""

    __slots__ = ("proto",)

    def __init__(self, proto: Any) -> None:
        self.proto = proto  # uvicorn's WebSocketsSansIOProtocol

    def write(self, wire: bytes) -> bool:
        """Write the frame now if the socket is open and its transport takes data without
        waiting; False (nothing written) otherwise, for the caller's ordinary send."""
        p = self.proto
        if (
            p.disconnected
            or p.close_sent
            or not p.writable.is_set()
            or p.conn.state is not State.OPEN
            or p.transport.is_closing()
        ):
            return False
        p.transport.write(wire)
        return True

    def write_parts(self, *parts: bytes) -> bool:
        """`write` of one frame given in parts (a large shared tail is not copied to join)."""
        if not self.write(parts[0]):
            return False
        for part in parts[1:]:
            self.proto.transport.write(part)
        return True


def raw_socket(scope: Scope) -> RawSocket | None:
    """The direct writer for a websocket scope if its connection qualifies (see above)."""
    send = scope.get(SCOPE_KEY)
    proto = getattr(send, "__self__", None)
    if type(proto) is not WebSocketsSansIOProtocol:
        return None
    conn = getattr(proto, "conn", None)
    if conn is None or conn.extensions:  # permessage-deflate compresses per socket
        return None
    return RawSocket(proto)


class RawSendTap:
    """Pure ASGI middleware, outermost: leaves the server's `send` of a websocket scope in
    the scope, before middleware wraps it, so the endpoint can find the connection."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            scope[SCOPE_KEY] = send
        await self.app(scope, receive, send)


class ClientUtf8Errors(logging.Filter):
    """uvicorn's sans-io protocol closes a text frame that is not UTF-8 with 1007, as it
    should, then logs it as a server error with a traceback. It is the client's error: it
    is kept, as a warning without the traceback."""

    MESSAGE = "Invalid UTF-8 sequence received from client."

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.ERROR and record.getMessage() == self.MESSAGE:
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.exc_info = record.exc_text = None
        return True


def quiet_client_utf8_errors() -> None:
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, ClientUtf8Errors) for f in logger.filters):
        logger.addFilter(ClientUtf8Errors())
