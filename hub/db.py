from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

AfterCommit = Callable[[], Awaitable[None]]
_HOOKS_KEY = "after_commit"


def on_commit(session: AsyncSession, hook: AfterCommit) -> None:
    """Run `hook` only once the session's transaction has committed."""
    session.info.setdefault(_HOOKS_KEY, []).append(hook)


def _sqlite_file(url: str) -> Path | None:
    prefix = "sqlite+aiosqlite:///"
    if not url.startswith(prefix) or ":memory:" in url:
        return None
    return Path(url[len(prefix) :].split("?", 1)[0])


def _tune_sqlite(engine: AsyncEngine, *, immediate: bool) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Take transaction control from pysqlite so BEGIN IMMEDIATE can be issued below.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=10000")
        cur.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        # A writer that starts deferred and upgrades later can fail with SQLITE_BUSY_SNAPSHOT
        # without waiting; IMMEDIATE takes the write lock up front and honours busy_timeout.
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


class Database:
    """Engines and sessions. SQLite gets a single-writer path; PostgreSQL one pool for all."""

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        if self.is_sqlite:
            path = _sqlite_file(url)
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
            self.engine = create_async_engine(url, pool_size=pool_size, max_overflow=0)
            self.write_engine = create_async_engine(url, pool_size=1, max_overflow=0)
            _tune_sqlite(self.engine, immediate=False)
            _tune_sqlite(self.write_engine, immediate=True)
        else:
            self.engine = create_async_engine(url, pool_size=pool_size, max_overflow=pool_size)
            self.write_engine = self.engine
        self._read = async_sessionmaker(self.engine, class_=AsyncSession, expire_on_commit=False)
        self._write = async_sessionmaker(
            self.write_engine, class_=AsyncSession, expire_on_commit=False
        )
        # One writer at a time inside this process; other processes wait on busy_timeout.
        self._write_lock = asyncio.Lock() if self.is_sqlite else None

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        async with self._read() as session:
            yield session

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A write transaction: commits on success, rolls back on error, then runs hooks."""
        if self._write_lock is not None:
            await self._write_lock.acquire()
        try:
            async with self._write() as session:
                async with session.begin():
                    yield session
                hooks: list[AfterCommit] = session.info.pop(_HOOKS_KEY, [])
        finally:
            if self._write_lock is not None:
                self._write_lock.release()
        for hook in hooks:
            await hook()

    async def dispose(self) -> None:
        await self.engine.dispose()
        if self.write_engine is not self.engine:
            await self.write_engine.dispose()
