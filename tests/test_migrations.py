"""The schema is only made by migrations: empty -> head -> base -> head, on both databases,
and head matches the models."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, inspect
from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel import SQLModel

import hub.models  # noqa: F401
from hub.migrate import downgrade_async, upgrade_async
from tests.servers import PostgresServer


def _tables(conn: Connection) -> set[str]:
    return set(inspect(conn).get_table_names()) - {"alembic_version"}


def _diff(conn: Connection) -> list[object]:
    ctx = MigrationContext.configure(conn, opts={"compare_type": False})
    return list(compare_metadata(ctx, SQLModel.metadata))


async def _check_cycle(url: str) -> None:
    engine = create_async_engine(url)
    try:
        await upgrade_async(url)
        async with engine.connect() as conn:
            assert await conn.run_sync(_tables) == set(SQLModel.metadata.tables)
            assert await conn.run_sync(_diff) == []
        await downgrade_async(url, "base")
        async with engine.connect() as conn:
            assert await conn.run_sync(_tables) == set()
        await upgrade_async(url)
        async with engine.connect() as conn:
            assert await conn.run_sync(_tables) == set(SQLModel.metadata.tables)
    finally:
        await engine.dispose()


async def test_migration_cycle_sqlite(tmp_path: Path) -> None:
    await _check_cycle(f"sqlite+aiosqlite:///{tmp_path}/m.db")


@pytest.mark.postgres
async def test_migration_cycle_postgres(pg: PostgresServer) -> None:
    name = f"m_{uuid.uuid4().hex[:10]}"
    pg.psql(f"CREATE DATABASE {name}")
    await _check_cycle(pg.url(name))
