"""Every HTTP request and websocket session gets an id: the caller's `X-Request-Id` when it
is well formed (a proxy's, so its log and ours line up), a fresh one otherwise. It is on
every log line written while the request runs and in the response's `X-Request-Id`."""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub.clock import perf_counter
from hub.trace import bind, unbind

HEADER = b"x-request-id"
# nginx's $request_id is 32 hex digits, a UUID has hyphens; nothing that could forge a log
# line or a header (no spaces, quotes or control characters).
WELL_FORMED = re.compile(rb"[A-Za-z0-9._-]{8,128}")

access_log = logging.getLogger("hub.access")
error_log = logging.getLogger("hub.errors")


def _incoming(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == HEADER:
            return value.decode("ascii") if WELL_FORMED.fullmatch(value) else None
    return None


# (method, route template, status, seconds): counts the request (hub.metrics).
Observe = Callable[[str, str, int, float], None]
UNMATCHED = "unmatched"  # no route: a 404, or refused before routing


class RequestId:
    """Pure ASGI middleware: sets the request id for the request's context, adds the
    header to the response (or the websocket handshake), writes one access log line and
    hands the outcome to `observe`."""

    def __init__(self, app: ASGIApp, observe: Observe | None = None) -> None:
        self.app = app
        self.observe = observe

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        request_id = _incoming(scope) or uuid.uuid4().hex
        header = (HEADER, request_id.encode("ascii"))
        token = bind(request_id)
        started = perf_counter()
        status: int | None = None

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] in ("http.response.start", "websocket.accept"):
                status = message.get("status", 101)
                message = {**message, "headers": [*message.get("headers", ()), header]}
            elif message["type"] == "websocket.close" and status is None:
                status = 403  # refused before the handshake completed
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            # Starlette answers the 500 outside every middleware; the traceback is logged
            # here, where the request's id is still set.
            status = status or 500
            error_log.exception("unhandled error in %s %s", scope.get("method"), scope["path"])
            raise
        finally:
            elapsed = perf_counter() - started
            if self.observe is not None:
                self.observe(
                    scope.get("method", "WEBSOCKET"), _route(scope), status or 500, elapsed
                )
            if access_log.isEnabledFor(logging.INFO):
                _log_access(scope, status, elapsed)
            unbind(token)


def _route(scope: Scope) -> str:
    # The matched route's template (`/api/v1/cases/{case_id}`), never the raw path: one
    # series per route, whatever ids and junk callers send. FastAPI leaves the route of an
    # included router in the scope without the router's prefix; the prefix is what the
    # path holds before the template's literal start (prefixes carry no parameters).
    route = scope.get("route")
    template = getattr(route, "path", None)
    if not isinstance(template, str):
        return UNMATCHED
    path = scope["path"]
    head = template.split("{", 1)[0]
    if head != "/":
        at = path.find(head)
        return path[:at] + template if at > 0 else template
    if ":path}" in template:
        return template
    # `/{code}`: the template's segments are the path's last ones.
    prefix = "/".join(path.split("/")[: -template.count("/")])
    return prefix + template


def _log_access(scope: Scope, status: int | None, elapsed_s: float) -> None:
    method = scope.get("method", "WEBSOCKET")
    access_log.info(
        "%s %s %s",
        method,
        scope["path"],
        status if status is not None else "-",
        extra={
            "method": method,
            "path": scope["path"],  # the query string is left out: it may carry filters
            "status": status,
            "duration_ms": round(elapsed_s * 1000, 2),
            "client": (scope.get("client") or ("-",))[0],
        },
    )
