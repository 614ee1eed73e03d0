"""Request ids and JSON log lines: the id is the caller's when well formed, fresh otherwise,
in the response header and on every line logged while the request runs (the access line,
the handler's own, an unhandled error's traceback), and on no line after it."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route, WebSocketRoute
from starlette.types import Message
from starlette.websockets import WebSocket

from hub.logs import JsonFormatter, RequestIdFilter, config
from hub.requestid import RequestId
from hub.trace import current_request_id

app_log = logging.getLogger("tests.app")


async def _hello(request: Request) -> PlainTextResponse:
    app_log.info("inside the handler", extra={"case_id": 7})
    return PlainTextResponse("hello")


async def _boom(request: Request) -> PlainTextResponse:
    raise RuntimeError("kaput")


async def _socket(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_text(current_request_id() or "")
    await websocket.close()


APP = RequestId(
    Starlette(
        routes=[Route("/hello", _hello), Route("/boom", _boom), WebSocketRoute("/ws", _socket)]
    )
)


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []
        self.setFormatter(JsonFormatter())
        self.addFilter(RequestIdFilter())

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))

    def entries(self) -> list[dict[str, object]]:
        return [json.loads(line) for line in self.lines]


@pytest.fixture
def captured() -> Iterator[_Lines]:
    handler = _Lines()
    loggers = [logging.getLogger(n) for n in ("hub.access", "hub.errors", "tests.app")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.addHandler(handler)
        lg.setLevel(logging.INFO)
    yield handler
    for lg, level in zip(loggers, levels, strict=True):
        lg.removeHandler(handler)
        lg.setLevel(level)


def _client() -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=APP, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://hub.test")


async def test_a_fresh_id_on_the_response_and_every_line_of_the_request(
    captured: _Lines,
) -> None:
    async with _client() as client:
        r = await client.get("/hello")
        other = await client.get("/hello")
    request_id = r.headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", request_id)
    assert other.headers["x-request-id"] != request_id
    first = captured.entries()[:2]
    assert [e["request_id"] for e in first] == [request_id, request_id]
    handler_line, access_line = first
    assert handler_line["message"] == "inside the handler" and handler_line["case_id"] == 7
    assert handler_line["logger"] == "tests.app" and handler_line["level"] == "info"
    assert access_line["logger"] == "hub.access"
    assert (access_line["method"], access_line["path"], access_line["status"]) == (
        "GET",
        "/hello",
        200,
    )
    assert isinstance(access_line["duration_ms"], float)
    assert current_request_id() is None, "the id does not outlive its request"


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("0123456789abcdef0123456789abcdef", True),  # nginx's $request_id
        ("7c9e6679-7425-40de-944b-e07fc1f90ae7", True),
        ("edge.gw_01", True),
        ("short", False),
        ("x" * 129, False),
        ("has space in it", False),
        ('quote"d-value', False),
        ("新的请求编号-00001", False),
    ],
)
async def test_an_incoming_id_is_kept_only_when_well_formed(
    captured: _Lines, sent: str, kept: bool
) -> None:
    async with _client() as client:
        r = await client.get("/hello", headers={b"X-Request-Id": sent.encode()})
    answered = r.headers["x-request-id"]
    assert (answered == sent) is kept
    if not kept:
        assert re.fullmatch(r"[0-9a-f]{32}", answered)
    assert {e["request_id"] for e in captured.entries()} == {answered}


async def test_an_unhandled_error_is_logged_with_its_request_id(captured: _Lines) -> None:
    async with _client() as client:
        r = await client.get("/boom", headers={"X-Request-Id": "trace-0000000042"})
    assert r.status_code == 500
    error, access = captured.entries()
    assert error["request_id"] == access["request_id"] == "trace-0000000042"
    assert error["level"] == "error" and "RuntimeError: kaput" in str(error["exception"])
    assert access["status"] == 500


def test_lines_outside_a_request_carry_no_id_and_text_mode_shows_a_dash() -> None:
    record = logging.LogRecord("hub.x", logging.INFO, __file__, 1, "tick %d", (3,), None)
    RequestIdFilter().filter(record)
    entry = json.loads(JsonFormatter().format(record))
    assert entry["message"] == "tick 3" and "request_id" not in entry
    assert entry["time"].endswith("+00:00")
    text = logging.Formatter(config("info", "text")["formatters"]["hub"]["format"])
    assert text.format(record).endswith("INFO hub.x [-] tick 3")
    assert config("info", "json")["formatters"]["hub"] == {"()": JsonFormatter}


async def test_a_websocket_session_has_its_id_in_the_handshake(captured: _Lines) -> None:
    scope = {
        "type": "websocket",
        "path": "/ws",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"x-request-id", b"socket-00000001")],
    }
    incoming: list[Message] = [
        {"type": "websocket.connect"},
        {"type": "websocket.disconnect", "code": 1000},
    ]
    sent: list[Message] = []

    async def receive() -> Message:
        return incoming.pop(0)

    async def send(message: Message) -> None:
        sent.append(message)

    await APP(scope, receive, send)
    accept, text, _close = sent
    assert (b"x-request-id", b"socket-00000001") in accept["headers"]
    assert text["text"] == "socket-00000001"
    access = captured.entries()[-1]
    assert (access["method"], access["status"]) == ("WEBSOCKET", 101)
