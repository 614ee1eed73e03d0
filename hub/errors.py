from __future__ import annotations

import json
import logging
import math
import re
from collections.abc import Mapping
from functools import cache
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path

from hub.outage import OUTAGE_TYPES, is_outage

log = logging.getLogger(__name__)


class HubError(Exception):
    """A domain error that maps to one HTTP status and a machine-readable `error` code."""

    status_code = 400
    code = "bad_request"

    def __init__(self, message: str, **detail: Any) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail

    def body(self) -> dict[str, Any]:
        return {"error": self.code, "message": self.message, **self.detail}


class Unauthorized(HubError):
    status_code = 401
    code = "unauthorized"


class Forbidden(HubError):
    status_code = 403
    code = "forbidden"


class NotFound(HubError):
    status_code = 404
    code = "not_found"


class Conflict(HubError):
    status_code = 409
    code = "conflict"


class Unprocessable(HubError):
    """Input that parses but names something that does not exist or may not be used."""

    status_code = 422
    code = "invalid"

    def __init__(self, field: str, message: str, **detail: Any) -> None:
        super().__init__(message, field=field, **detail)
        self.field = field

    def body(self) -> dict[str, Any]:
        # Also in FastAPI's validation-error shape, so every 422 reads the same way.
        loc = ["query" if self.field in _QUERY_FIELDS else "body", self.field]
        return {
            **super().body(),
            "detail": [{"loc": loc, "msg": self.message, "type": "value_error"}],
        }


_QUERY_FIELDS = frozenset({"cursor", "region"})


class ErrorOut(BaseModel):
    """The body of every error the hub answers (422 adds FastAPI's `detail` list)."""

    error: str
    message: str


class InvalidOut(ErrorOut):
    """A 422: `message` names the first place at fault, `detail` every one (at most 20)."""

    detail: list[dict[str, Any]]


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "missing, forged, expired or revoked credentials"},
    403: {"model": ErrorOut, "description": "the caller's role or grants do not allow this"},
    404: {"model": ErrorOut, "description": "no such object within the caller's scope"},
    409: {"model": ErrorOut, "description": "illegal in the current state, or stale version"},
    413: {"model": ErrorOut, "description": "body over the size limit"},
    422: {"model": InvalidOut, "description": "input that breaks the schema or names nothing"},
    429: {"model": ErrorOut, "description": "rate limited; see Retry-After"},
    503: {"model": ErrorOut, "description": "database unavailable or busy; see Retry-After"},
}


class Unavailable(HubError):
    """The database (or a pool of its connections) is unreachable for now: 503 with
    Retry-After, never a 500."""

    status_code = 503
    code = "unavailable"
    retry_after_s = 2


class TooMany(HubError):
    status_code = 429
    code = "rate_limited"

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message, retry_after_s=retry_after_s)
        self.retry_after_s = retry_after_s


async def _handle(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HubError)
    if isinstance(exc, Forbidden):
        await _audit_denied(request, exc)
    headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, Unauthorized) else None
    if isinstance(exc, TooMany | Unavailable):
        headers = {"Retry-After": str(exc.retry_after_s)}
    return SafeJSONResponse(exc.body(), status_code=exc.status_code, headers=headers)


UNAVAILABLE_MESSAGE = "the database is unavailable; try again shortly"


def unavailable_response(exc: BaseException) -> JSONResponse:
    """The answer to a database outage (see hub/outage.py), logged as one line."""
    log.warning("database unavailable: %s: %s", type(exc).__name__, str(exc)[:300])
    return _unavailable(Unavailable(UNAVAILABLE_MESSAGE))


def _unavailable(exc: Unavailable) -> JSONResponse:
    return SafeJSONResponse(
        exc.body(), status_code=503, headers={"Retry-After": str(exc.retry_after_s)}
    )


async def _handle_database(_request: Request, exc: Exception) -> JSONResponse:
    if not is_outage(exc):
        raise exc  # a bug or bad data: CatchAll logs it and answers 500
    return unavailable_response(exc)


async def _handle_http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400 and "parsing the body" in str(exc.detail):
        # Bytes that are not JSON (or not UTF-8), or a broken form, are invalid input.
        json_body = "json" in request.headers.get("content-type", "")
        message = "request body is not valid JSON" if json_body else "request body is malformed"
        return SafeJSONResponse(
            {
                "error": "invalid",
                "message": message,
                "detail": [{"loc": ["body"], "msg": message, "type": "json_invalid"}],
            },
            status_code=422,
        )
    headers = exc.headers
    if exc.status_code == 405:
        headers = {**(headers or {}), "Allow": _allowed_methods(request)}
    return SafeJSONResponse(
        {"error": _HTTP_CODES.get(exc.status_code, "http_error"), "message": str(exc.detail)},
        status_code=exc.status_code,
        headers=headers,
    )


def _allowed_methods(request: Request) -> str:
    # Starlette names only the first route whose path matched; GET and DELETE on one
    # path are two routes, and Allow must list both.
    path = request.url.path
    methods: set[str] = set()
    for route in iter_route_contexts(request.app.routes):
        if route.path and route.methods and _path_regex(route.path).match(path):
            methods |= route.methods
    return ", ".join(sorted(methods))


@cache
def _path_regex(template: str) -> re.Pattern[str]:
    regex, _format, _convertors = compile_path(template)
    return regex


async def _handle_invalid(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    detail = [_detail_entry(e) for e in exc.errors()[:MAX_DETAIL]]
    first: dict[str, Any] = detail[0] if detail else {"loc": [], "msg": "invalid request"}
    where = ".".join(str(part) for part in first["loc"])
    message = f"{where}: {first['msg']}" if where else str(first["msg"])
    if first.get("type") == "json_invalid":
        ctx = first.get("ctx")
        error = ctx.get("error", "") if isinstance(ctx, dict) else ""
        message = f"request body is not valid JSON: {error}".rstrip(": ")
    elif first.get("type") == "model_attributes_type" and isinstance(first.get("input"), str):
        # FastAPI hands a body it did not read as JSON (another Content-Type) on as text.
        message = "body: expected a JSON object sent as Content-Type: application/json"
    return SafeJSONResponse({"error": "invalid", "message": message, "detail": detail}, 422)


def _detail_entry(error: Mapping[str, Any]) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "type": error.get("type", "value_error"),
        "loc": list(error.get("loc", ())),
        "msg": error.get("msg", ""),
    }
    for key in ("input", "ctx"):
        if key in error:
            entry[key] = _echo(error[key])
    return entry


_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    404: "not_found",
    405: "method_not_allowed",
    413: "body_too_large",
}
MAX_DETAIL = 20
ECHO_CHARS = 200  # how much of an offending string a 422 shows back
_ECHO_ITEMS = 20
_ECHO_DEPTH = 4


def _echo(value: object, depth: int = 0) -> object:
    """What a 422 shows of the client's input: long text and big or deep values cut."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if isinstance(value, str):
        return value[:ECHO_CHARS] + ("…" if len(value) > ECHO_CHARS else "")
    if isinstance(value, Mapping | list | tuple) and depth >= _ECHO_DEPTH:
        return "…"
    if isinstance(value, Mapping):
        return {k: _echo(v, depth + 1) for k, v in list(value.items())[:_ECHO_ITEMS]}
    if isinstance(value, list | tuple):
        return [_echo(v, depth + 1) for v in value[:_ECHO_ITEMS]]
    return value


def json_safe(value: object) -> Any:
    """`value` made encodable as strict UTF-8 JSON: NaN and Infinity become text, a lone
    surrogate its escape, anything else unknown its `str`."""
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, Mapping):
        return {json_safe(str(k)): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return json_safe(str(value))


class SafeJSONResponse(JSONResponse):
    """Every error body goes out through this: it cannot fail to encode what it echoes."""

    def render(self, content: Any) -> bytes:
        return json.dumps(
            json_safe(content), ensure_ascii=False, allow_nan=False, separators=(",", ":")
        ).encode("utf-8")


def install(app: FastAPI) -> None:
    app.add_exception_handler(HubError, _handle)
    app.add_exception_handler(StarletteHTTPException, _handle_http)
    app.add_exception_handler(RequestValidationError, _handle_invalid)
    for kind in OUTAGE_TYPES:
        app.add_exception_handler(kind, _handle_database)


async def _audit_denied(request: Request, exc: Forbidden) -> None:
    from hub.audit.chains import record  # the audit store sits above this module

    hub = request.app.state.hub
    principal = getattr(request.state, "principal", None)
    await record(
        hub.db,
        kind="denied",
        at=hub.clock.now(),
        username=getattr(principal, "username", None),
        user_id=getattr(principal, "user_id", None),
        address=request.client.host if request.client else None,
        detail={"method": request.method, "path": request.url.path, "reason": exc.message},
    )
