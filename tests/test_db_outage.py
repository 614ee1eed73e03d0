"""A database outage answers every kind of HTTP endpoint with the JSON 503 (never a 500),
and the first request after the server is back succeeds, even on pooled connections that
died with the restart (pool_pre_ping)."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Iterator
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy import exc as sa_exc

from hub.auth.security import issue_token
from hub.clock import FrozenClock
from hub.config import Settings
from hub.db import Database
from hub.deps import Hub
from hub.main import create_app
from hub.migrate import upgrade_async
from hub.outage import is_outage
from tests import world as w
from tests.conftest import SECRET
from tests.helpers import GRID
from tests.servers import PostgresServer, free_port, start_postgres

_keys = itertools.count()


@pytest.fixture(scope="module")
def own_pg() -> Iterator[PostgresServer]:
    """A server of this module's own: the tests stop and start it."""
    server = start_postgres()
    yield server
    server.stop()


@pytest.fixture(scope="module")
async def seeded(own_pg: PostgresServer) -> str:
    own_pg.psql("CREATE DATABASE hub")
    url = own_pg.url("hub")
    await upgrade_async(url)
    db = Database(url)
    await w.seed(db)
    await db.dispose()
    return url


async def _hub(url: str) -> Hub:
    settings = Settings(
        database_url=url, secret_key=SECRET, mode="production", sla_in_process=False
    )
    return Hub(settings=settings, db=Database(url, client_wait_s=5.0), clock=FrozenClock(w.T0))


@pytest.fixture
async def live(seeded: str) -> AsyncIterator[tuple[Hub, httpx.AsyncClient]]:
    hub = await _hub(seeded)
    transport = httpx.ASGITransport(app=create_app(hub=hub))
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
        yield hub, client
    await hub.aclose()


def _bearer(hub: Hub, user_id: int) -> dict[str, str]:
    token = issue_token(
        user_id=user_id,
        token_version=0,
        secret=hub.settings.secret_key,
        now=hub.clock.now(),
        ttl_s=3600,
        kind="access",
    )
    return {"Authorization": f"Bearer {token}"}


async def _every_kind(
    client: httpx.AsyncClient, headers: dict[str, str], case: dict[str, Any]
) -> dict[str, httpx.Response]:
    """One request of each kind: a list, a read, a stream, a batched create, an action
    (a row-locking transaction), a login, the metrics."""
    body = {"title": "停电", "grid_code": GRID, "category_code": "T01"}
    key = {"Idempotency-Key": f"outage-{next(_keys)}"}
    return {
        "list": await client.get("/api/v1/cases", headers=headers),
        "read": await client.get(f"/api/v1/cases/{case['id']}", headers=headers),
        "export": await client.get("/api/v1/cases/export.csv", headers=headers),
        "create": await client.post("/api/v1/cases", json=body, headers={**headers, **key}),
        "action": await client.post(
            f"/api/v1/cases/{case['id']}/acknowledge",
            json={"version": case["version"]},
            headers=headers,
        ),
        "login": await client.post(
            "/api/v1/auth/token", data={"username": "dispatcher", "password": "wrong"}
        ),
        "metrics": await client.get("/metrics"),
    }


UP = {
    "list": 200,
    "read": 200,
    "export": 200,
    "create": 201,
    "login": 401,
    "metrics": 200,
}


def _assert_unavailable(replies: dict[str, httpx.Response]) -> None:
    for kind, r in replies.items():
        assert r.status_code == 503, f"{kind}: {r.status_code} {r.text}"
        assert r.headers["content-type"].startswith("application/json"), kind
        assert r.json()["error"] in {"unavailable", "busy"}, (kind, r.text)
        assert r.json()["message"], kind
        assert int(r.headers["retry-after"]) >= 1, kind


def _assert_up(replies: dict[str, httpx.Response]) -> None:
    for kind, want in UP.items():
        assert replies[kind].status_code == want, f"{kind}: {replies[kind].text}"
    # The action answers by the case's state (a 409 or 403 is fine), never unavailable.
    assert replies["action"].status_code < 500, replies["action"].text


async def _setup(hub: Hub, client: httpx.AsyncClient) -> tuple[dict[str, str], dict[str, Any]]:
    async with hub.db.read() as session:
        world = await w.load(session)
    headers = _bearer(hub, world.user["dispatcher"])
    r = await client.post(
        "/api/v1/cases",
        json={"title": "x", "grid_code": GRID, "category_code": "T01"},
        headers=headers,
    )
    assert r.status_code == 201, r.text
    return headers, r.json()


@pytest.mark.postgres
async def test_a_stopped_database_answers_503_and_the_restart_is_seamless(
    live: tuple[Hub, httpx.AsyncClient], own_pg: PostgresServer
) -> None:
    hub, client = live
    headers, case = await _setup(hub, client)
    _assert_up(await _every_kind(client, headers, case))

    own_pg.halt()
    try:
        _assert_unavailable(await _every_kind(client, headers, case))
    finally:
        own_pg.resume()
    _assert_up(await _every_kind(client, headers, case))

    # A restart nobody noticed: every pooled connection is dead, and the first requests
    # after it must not be the ones to find out (pre-ping replaces them at checkout).
    own_pg.halt()
    own_pg.resume()
    _assert_up(await _every_kind(client, headers, case))


async def test_a_database_on_a_closed_port_answers_503_everywhere() -> None:
    hub = await _hub(f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/hub")
    transport = httpx.ASGITransport(app=create_app(hub=hub))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
            replies = await _every_kind(client, _bearer(hub, 1), {"id": 1, "version": 1})
            _assert_unavailable(replies)
            health = await client.get("/healthz")
            assert health.status_code == 503 and health.json()["status"] == "down"
    finally:
        await hub.aclose()


class _Orig(Exception):
    pass


def _sqlite_error(message: str) -> sa_exc.OperationalError:
    import sqlite3

    return sa_exc.OperationalError("SELECT 1", {}, sqlite3.OperationalError(message))


@pytest.mark.parametrize(
    ("exc", "outage"),
    [
        (ConnectionRefusedError(111, "Connect call failed"), True),
        (asyncpg.exceptions.CannotConnectNowError("the database system is starting up"), True),
        (asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed"), True),
        (asyncpg.exceptions.InterfaceError("connection is closed"), True),
        (sa_exc.TimeoutError("QueuePool limit of size 10 overflow 10 reached"), True),
        (sa_exc.InterfaceError("SELECT 1", {}, _Orig("closed")), True),
        (sa_exc.DBAPIError("SELECT 1", {}, _Orig("gone"), connection_invalidated=True), True),
        (_sqlite_error("database is locked"), True),
        # Bugs and bad data stay 500s (or their own answers).
        (_sqlite_error("no such table: nope"), False),
        (sa_exc.IntegrityError("INSERT", {}, _Orig("duplicate key")), False),
        (asyncpg.exceptions.UniqueViolationError("duplicate key"), False),
        (RuntimeError("boom"), False),
        (ValueError("bad"), False),
    ],
)
def test_what_counts_as_an_outage(exc: BaseException, outage: bool) -> None:
    assert is_outage(exc) is outage
    wrapped = RuntimeError("while answering")
    wrapped.__cause__ = exc
    assert is_outage(wrapped) is outage
