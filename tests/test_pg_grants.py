"""On PostgreSQL the application's role cannot rewrite history: the timeline and audit log
are insert-only for it, while the whole lifecycle still works through it."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from hub.auth.security import issue_token
from hub.clock import FrozenClock
from hub.config import Settings
from hub.db import Database
from hub.deps import Hub
from hub.main import create_app
from tests.conftest import SECRET
from tests.helpers import Api
from tests.servers import PostgresServer
from tests.world import T0, World, load

SQL = Path(__file__).parent.parent / "deploy" / "postgres" / "app-role.sql"
pytestmark = pytest.mark.postgres


@pytest.fixture
async def app_hub(pg: PostgresServer, pg_template: str) -> AsyncIterator[Hub]:
    name = f"g_{uuid.uuid4().hex[:10]}"
    pg.psql(f"CREATE DATABASE {name} TEMPLATE {pg_template}")
    subprocess.run(  # noqa: ASYNC221 - a fixture, before anything runs concurrently
        [
            "psql",
            "-h",
            "127.0.0.1",
            "-p",
            str(pg.port),
            "-U",
            "postgres",
            "-d",
            name,
            "-v",
            "ON_ERROR_STOP=1",
            "-q",
            "-f",
            str(SQL),
        ],
        check=True,
        capture_output=True,
    )
    url = pg.url(name).replace("postgres@", "hub_app@")
    hub = Hub(
        settings=Settings(database_url=url, secret_key=SECRET, mode="production"),
        db=Database(url),
        clock=FrozenClock(T0),
    )
    yield hub
    await hub.aclose()
    pg.psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


async def test_app_role_runs_the_lifecycle_but_cannot_rewrite_events(app_hub: Hub) -> None:
    async with app_hub.db.read() as session:
        world: World = await load(session)
    app = create_app(hub=app_hub)

    def auth(username: str) -> dict[str, str]:
        token = issue_token(
            user_id=world.user[username],
            token_version=0,
            secret=SECRET,
            now=app_hub.clock.now(),
            ttl_s=600,
            kind="access",
        )
        return {"Authorization": f"Bearer {token}"}

    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://hub.test"
    ) as client:
        api = Api(client, auth)
        case = await api.create(category_code="T01")
        case = await api.act("admin", case, "acknowledge")
        r = await client.post("/api/v1/auth/token", data={"username": "x", "password": "y"})
        assert r.status_code == 401  # writes an audit entry as the app role

    for statement in (
        "UPDATE case_events SET actor = 'x'",
        "DELETE FROM case_events",
        "TRUNCATE case_events",
        "UPDATE audit_log SET kind = 'x'",
        "DELETE FROM audit_log",
    ):
        with pytest.raises(DBAPIError, match="permission denied"):  # noqa: PT012
            async with app_hub.db.transaction() as session:
                conn = await session.connection()
                await conn.execute(text(statement))
