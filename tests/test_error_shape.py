"""Every error leaves as `{"error": ..., "message": ...}` JSON: the hub's own, those the
framework raises before a route runs, and an exception nobody expected."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi.responses import StreamingResponse

from hub.deps import Hub
from hub.main import create_app
from tests.helpers import GRID, Auth


def _is_error_shape(r: httpx.Response) -> bool:
    if not r.headers.get("content-type", "").startswith("application/json"):
        return False
    body = r.json()
    return isinstance(body, dict) and {"error", "message"} <= body.keys()


async def test_framework_errors_are_json(client: httpx.AsyncClient, auth: Auth) -> None:
    headers = auth("admin")
    json_type = {**headers, "Content-Type": "application/json"}
    boundary = {**headers, "Content-Type": "multipart/form-data; boundary=b"}
    requests = [
        (404, client.build_request("GET", "/no/such/path", headers=headers)),
        (404, client.build_request("GET", "/api/v1/no-such-thing", headers=headers)),
        (405, client.build_request("DELETE", "/api/v1/cases", headers=headers)),
        (405, client.build_request("PUT", "/healthz")),
        (422, client.build_request("POST", "/api/v1/cases", content=b"{", headers=json_type)),
        (422, client.build_request("POST", "/api/v1/cases", content=b"\xff", headers=json_type)),
        (422, client.build_request("POST", "/api/v1/cases", content=b"[]", headers=json_type)),
        (
            422,
            client.build_request(
                "POST",
                "/api/v1/cases",
                content=b'{"title": "x", "grid_code": "%s"}' % GRID.encode(),
                headers={**headers, "Content-Type": "text/plain"},
            ),
        ),
        (422, client.build_request("POST", "/api/v1/cases", headers=headers)),
        (
            413,
            client.build_request("POST", "/api/v1/cases", content=b"x" * 70_000, headers=json_type),
        ),
        (
            400,
            client.build_request(
                "POST", "/api/v1/cases", headers={**json_type, "Content-Length": "many"}
            ),
        ),
        (
            400,
            client.build_request(
                "POST",
                "/api/v1/cases/1/attachments",
                content=b"--b\r\nnot a part",
                headers=boundary,
            ),
        ),
        (
            422,
            client.build_request(
                "POST", "/api/v1/auth/token", content=b"--b\r\ngarbage", headers=boundary
            ),
        ),
        (401, client.build_request("GET", "/api/v1/cases")),
    ]
    for status, request in requests:
        r = await client.send(request)
        what = f"{request.method} {request.url.path}"
        assert r.status_code == status, (what, r.status_code, r.text)
        assert _is_error_shape(r), (what, r.headers, r.text)
    r = await client.options("/api/v1/cases", headers=headers)
    assert r.status_code == 405 and _is_error_shape(r)
    # Allow names the methods of every route on the path, not only the first one's.
    r = await client.patch("/api/v1/catalogue/T01", headers=headers)
    assert r.status_code == 405 and _is_error_shape(r)
    assert {m.strip() for m in r.headers["allow"].split(",")} >= {"GET", "PUT", "DELETE"}
    r = await client.request("POST", "/api/v1/cases", content=b"\x00", headers=json_type)
    assert "not valid JSON" in r.json()["message"]
    r = await client.post(
        "/api/v1/cases",
        content=b'{"title": "x"}',
        headers={**headers, "Content-Type": "text/plain"},
    )
    assert "Content-Type: application/json" in r.json()["message"]


async def test_an_unexpected_exception_is_logged_and_answered_as_json(
    hub: Hub, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(hub=hub)

    async def boom() -> None:
        raise RuntimeError("secret detail from deep inside")

    app.add_api_route("/api/v1/boom", boom)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
        with caplog.at_level(logging.ERROR, logger="hub.errors"):
            r = await client.get("/api/v1/boom")
    assert r.status_code == 500
    assert r.json() == {"error": "internal", "message": "internal error; it has been logged"}
    assert "secret" not in r.text
    (record,) = [rec for rec in caplog.records if rec.name == "hub.errors"]
    assert record.exc_info is not None and "/api/v1/boom" in record.getMessage()
    assert "secret detail" in caplog.text  # the traceback is in the log, not the answer


async def test_an_exception_after_the_response_started_is_left_to_the_server(
    hub: Hub,
) -> None:
    app = create_app(hub=hub)

    async def half() -> StreamingResponse:
        async def rows() -> AsyncIterator[bytes]:
            yield b"id\n"
            raise RuntimeError("the database went away mid-export")

        return StreamingResponse(rows(), media_type="text/csv")

    app.add_api_route("/api/v1/half", half)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
        # No second response start is attempted: the error reaches the server, which
        # cuts the connection (here the test transport raises it).
        with pytest.raises(RuntimeError, match="mid-export"):
            await client.get("/api/v1/half")
