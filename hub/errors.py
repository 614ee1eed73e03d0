from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException


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


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "missing, forged, expired or revoked credentials"},
    403: {"model": ErrorOut, "description": "the caller's role or grants do not allow this"},
    404: {"model": ErrorOut, "description": "no such object within the caller's scope"},
    409: {"model": ErrorOut, "description": "illegal in the current state, or stale version"},
    413: {"model": ErrorOut, "description": "body over the size limit"},
    429: {"model": ErrorOut, "description": "rate limited; see Retry-After"},
}


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
    if isinstance(exc, TooMany):
        headers = {"Retry-After": str(exc.retry_after_s)}
    return JSONResponse(exc.body(), status_code=exc.status_code, headers=headers)


async def _handle_http(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400 and "parsing the body" in str(exc.detail):
        # Bytes that are not JSON (or not UTF-8) are invalid input like any other.
        message = "request body is not valid JSON"
        return JSONResponse(
            {
                "error": "invalid",
                "message": message,
                "detail": [{"loc": ["body"], "msg": message, "type": "json_invalid"}],
            },
            status_code=422,
        )
    return JSONResponse(
        {"error": _HTTP_CODES.get(exc.status_code, "http_error"), "message": str(exc.detail)},
        status_code=exc.status_code,
        headers=exc.headers,
    )


_HTTP_CODES = {
    401: "unauthorized",
    404: "not_found",
    405: "method_not_allowed",
    413: "body_too_large",
}


def install(app: FastAPI) -> None:
    app.add_exception_handler(HubError, _handle)
    app.add_exception_handler(StarletteHTTPException, _handle_http)


async def _audit_denied(request: Request, exc: Forbidden) -> None:
    from hub.audit.service import record  # the audit store sits above this module

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
