"""The id of the request being served, for whatever runs on its behalf: log lines
(hub.logs) and the events it writes (cases/timeline.py). Set by the HTTP middleware
(hub.requestid); None outside a request (a timer's rung, the demo loader)."""

from __future__ import annotations

from contextvars import ContextVar, Token

_current: ContextVar[str | None] = ContextVar("request_id", default=None)


def current_request_id() -> str | None:
    return _current.get()


def bind(request_id: str) -> Token[str | None]:
    return _current.set(request_id)


def unbind(token: Token[str | None]) -> None:
    _current.reset(token)
