from __future__ import annotations

import contextlib
import json
import logging
import re
from collections.abc import Sequence

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub.errors import unavailable_response
from hub.outage import is_outage

log = logging.getLogger("hub.errors")


class _TooLarge(Exception):
    pass


# Photo uploads (hub/attachments) carry up to 5 MiB plus the multipart envelope; every other
# route keeps the small JSON limit. The attachment view checks the photo's own size exactly.
LARGER_BODIES: tuple[tuple[re.Pattern[str], int], ...] = (
    (re.compile(r"^/api/v1/cases/\d{1,10}/attachments$"), 5 * 1024 * 1024 + 64 * 1024),
)


class BodyLimit:
    """Pure ASGI middleware: refuse request bodies over `max_bytes` with 413, whether the
    client declared the length or streamed it chunked. (FastAPI's own `max_body_size`
    answers a declared oversize with an empty body; clients here get the JSON error.)"""

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        larger: Sequence[tuple[re.Pattern[str], int]] = LARGER_BODIES,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.larger = tuple(larger)

    def limit_for(self, path: str) -> int:
        for pattern, limit in self.larger:
            if pattern.match(path):
                return max(limit, self.max_bytes)
        return self.max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        max_bytes = self.limit_for(scope["path"])
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    await self._reject(send, 400, "malformed Content-Length")
                    return
                if declared > max_bytes:
                    await self._reject(send, 413, f"body over {max_bytes} bytes")
                    return
        seen = 0
        rejected = False

        async def counted_receive() -> Message:
            nonlocal seen, rejected
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > max_bytes and not rejected:
                    # Answer now: frameworks turn errors raised while reading the body into
                    # their own 400, so the 413 must go out before the app can respond.
                    rejected = True
                    await self._reject(send, 413, f"body over {max_bytes} bytes")
                    raise _TooLarge
            return message

        async def guarded_send(message: Message) -> None:
            if not rejected:
                await send(message)

        with contextlib.suppress(_TooLarge):  # the 413 has already been sent
            await self.app(scope, counted_receive, guarded_send)

    @staticmethod
    async def _reject(send: Send, status: int, message: str) -> None:
        error = "body_too_large" if status == 413 else "bad_request"
        await _send_json(send, status, {"error": error, "message": message})


async def _send_json(send: Send, status: int, content: dict[str, str]) -> None:
    body = json.dumps(content).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


INTERNAL_ERROR = {"error": "internal", "message": "internal error; it has been logged"}


class CatchAll:
    """Pure ASGI middleware: an exception that no handler turned into a response is
    logged with its traceback and answered with the JSON error shape, a 500 that names
    nothing of the internals. Once a response has started (a streamed export) there is
    nothing left to answer, and the server is left to cut the connection."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracked_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracked_send)
        except Exception as exc:
            if started:
                raise
            if is_outage(exc):  # raised outside a route's handlers (a dependency, a middleware)
                await unavailable_response(exc)(scope, receive, send)
                return
            log.exception("unhandled error in %s %s", scope.get("method"), scope.get("path"))
            await _send_json(send, 500, INTERNAL_ERROR)
