from __future__ import annotations

import shutil
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import httpx
import pytest

from hub.auth.security import issue_token
from hub.clock import FrozenClock
from hub.config import Settings
from hub.db import Database
from hub.deps import Hub
from hub.main import create_app
from hub.migrate import upgrade_async
from tests import world as w
from tests.servers import PostgresServer, start_postgres

SECRET = "test-secret-that-is-long-enough-for-production-0123"


@pytest.fixture(scope="session")
def pg() -> Iterator[PostgresServer]:
    server = start_postgres()
    yield server
    server.stop()


@pytest.fixture(scope="session")
async def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    url = f"sqlite+aiosqlite:///{path}"
    await upgrade_async(url)
    db = Database(url)
    await w.seed(db)
    await db.dispose()
    return path


@pytest.fixture(scope="session")
async def pg_template(pg: PostgresServer) -> str:
    pg.psql("CREATE DATABASE hub_template")
    url = pg.url("hub_template")
    await upgrade_async(url)
    db = Database(url)
    await w.seed(db)
    await db.dispose()
    return "hub_template"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh copy of the seeded world on each backend, for every test."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        target = tmp_path / "hub.db"
        shutil.copy(template, target)
        yield f"sqlite+aiosqlite:///{target}"
        return
    pg: PostgresServer = request.getfixturevalue("pg")
    template_name: str = request.getfixturevalue("pg_template")
    name = f"t_{uuid.uuid4().hex[:12]}"
    pg.psql(f"CREATE DATABASE {name} TEMPLATE {template_name}")
    yield pg.url(name)
    pg.psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(w.T0)


@pytest.fixture
async def hub(db_url: str, clock: FrozenClock) -> AsyncIterator[Hub]:
    settings = Settings(
        database_url=db_url, secret_key=SECRET, mode="production", sla_in_process=False
    )
    the_hub = Hub(settings=settings, db=Database(db_url), clock=clock)
    yield the_hub
    await the_hub.aclose()


@pytest.fixture
async def world(hub: Hub) -> w.World:
    async with hub.db.read() as session:
        return await w.load(session)


@pytest.fixture
async def client(hub: Hub) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(hub=hub)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as c:
        yield c


@pytest.fixture
def auth(hub: Hub, world: w.World) -> Callable[[str], dict[str, str]]:
    """Bearer headers for a seeded user, without paying for argon2 on every test."""

    def headers(username: str) -> dict[str, str]:
        token = issue_token(
            user_id=world.user[username],
            token_version=0,
            secret=hub.settings.secret_key,
            now=hub.clock.now(),
            ttl_s=3600,
            kind="access",
        )
        return {"Authorization": f"Bearer {token}"}

    return headers
