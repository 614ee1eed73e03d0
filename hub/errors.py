from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse


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


def install(app: FastAPI) -> None:
    app.add_exception_handler(HubError, _handle)


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
