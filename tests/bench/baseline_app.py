"""The ingest baseline: a minimal FastAPI endpoint that parses the same JSON body, inserts
one row and commits, on the hub's own engine settings (`hub.db.Database`: SQLite WAL with
synchronous=NORMAL and one writer via aiosqlite, or the asyncpg pool on PostgreSQL).

Run: BENCH_DATABASE_URL=... uvicorn tests.bench.baseline_app:create_app --factory"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from fastapi import FastAPI
from pydantic import BaseModel
from sqlalchemy import text

from hub.db import Database

TABLE = "bench_rows"
DDL = {
    "sqlite": f"CREATE TABLE IF NOT EXISTS {TABLE} (id INTEGER PRIMARY KEY, title TEXT NOT NULL,"
    " grid_code TEXT NOT NULL, category_code TEXT, created_at TEXT NOT NULL)",
    "postgresql": f"CREATE TABLE IF NOT EXISTS {TABLE} (id BIGSERIAL PRIMARY KEY,"
    " title TEXT NOT NULL, grid_code TEXT NOT NULL, category_code TEXT,"
    " created_at TIMESTAMPTZ NOT NULL)",
}
INSERT = text(
    f"INSERT INTO {TABLE} (title, grid_code, category_code, created_at)"
    " VALUES (:title, :grid_code, :category_code, :created_at)"
)


class RowIn(BaseModel):
    title: str
    grid_code: str
    category_code: str | None = None
    description: str = ""


def create_app() -> FastAPI:
    db = Database(os.environ["BENCH_DATABASE_URL"])

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        async with db.transaction() as session:
            await (await session.connection()).execute(text(DDL[db.dialect]))
        yield
        await db.dispose()

    app = FastAPI(lifespan=lifespan)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/api/v1/cases", status_code=201)
    async def insert_one(row: RowIn) -> dict[str, str]:
        now = datetime.now(UTC)
        created_at = now.isoformat() if db.is_sqlite else now
        async with db.transaction() as session:
            conn = await session.connection()
            await conn.execute(
                INSERT,
                {
                    "title": row.title,
                    "grid_code": row.grid_code,
                    "category_code": row.category_code,
                    "created_at": created_at,
                },
            )
        return {"status": "created"}

    return app
