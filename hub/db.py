from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, asynccontextmanager, contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any, TypeVar

import orjson
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.checkpoint import BACKSTOP_PAGES, WalCheckpointer
from hub.errors import Unavailable

AfterCommit = Callable[[], Awaitable[None]]
T = TypeVar("T")
_HOOKS_KEY = "after_commit"
# Connections of background work (the outbox relay, the SLA timers, the case writer): a
# pool of their own, which client reads cannot exhaust however many sockets ask at once.
BACKGROUND_POOL = 5
# How long a client read waits for a connection before it is refused (503 / `busy`).
CLIENT_WAIT_S = 10.0
# Who is asking: a request (the default), a websocket, or background work.
_lane: ContextVar[str] = ContextVar("hub_db_lane", default="request")


class Busy(Unavailable):
    """Every client connection stayed in use for the whole bounded wait (503, Retry-After)."""

    code = "busy"


@contextmanager
def _in_lane(lane: str) -> Iterator[None]:
    token = _lane.set(lane)
    try:
        yield
    finally:
        _lane.reset(token)


def background_work() -> AbstractContextManager[None]:
    """Mark what starts inside (tasks created here inherit it) as background work: its
    sessions come from the background pool and never queue behind client reads."""
    return _in_lane("background")


def socket_work() -> AbstractContextManager[None]:
    """Mark a websocket's work: it may hold at most half the client connections, so a
    thousand sockets subscribing at once never leave a request waiting behind them."""
    return _in_lane("socket")


def on_commit(session: AsyncSession, hook: AfterCommit) -> None:
    """Run `hook` only once the session's transaction has committed."""
    session.info.setdefault(_HOOKS_KEY, []).append(hook)


def _json(value: Any) -> str:
    # JSON columns (the frozen ladder, event payloads and changes: kilobytes a new case)
    # were a sizeable part of the writer's time through the stdlib encoder. Same text for
    # these values; OPT_NON_STR_KEYS turns int keys into strings as json.dumps does.
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def sqlite_file(url: str) -> Path | None:
    prefix = "sqlite+aiosqlite:///"
    if not url.startswith(prefix) or ":memory:" in url:
        return None
    return Path(url[len(prefix) :].split("?", 1)[0])


def _tune_sqlite(engine: Engine, *, immediate: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Take transaction control from pysqlite so BEGIN IMMEDIATE can be issued below.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=10000")
        # Checkpoints run in their own thread (hub/checkpoint.py), not in a commit.
        cur.execute(f"PRAGMA wal_autocheckpoint={BACKSTOP_PAGES}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # A writer that starts deferred and upgrades later can fail with SQLITE_BUSY_SNAPSHOT
        # without waiting; IMMEDIATE takes the write lock up front and honours busy_timeout.
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


class Database:
    """Engines and sessions. SQLite gets a single-writer path. Client work (requests and
    sockets) and background work (`background_work`) draw on separate pools; client
    sessions wait at most `client_wait_s` for one of theirs and are then refused (`Busy`)."""

    def __init__(
        self, url: str, *, pool_size: int = 10, client_wait_s: float = CLIENT_WAIT_S
    ) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self.client_wait_s = client_wait_s
        path = sqlite_file(url) if self.is_sqlite else None
        if self.is_sqlite:
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
            self.engine = create_async_engine(
                url, pool_size=pool_size, max_overflow=0, json_serializer=_json
            )
            self.write_engine = create_async_engine(
                url, pool_size=1, max_overflow=0, json_serializer=_json
            )
            _tune_sqlite(self.engine.sync_engine, immediate=False)
            _tune_sqlite(self.write_engine.sync_engine, immediate=True)
            # Each connection to an in-memory database is a database of its own.
            self.background_engine = self.engine
            if path is not None:
                self.background_engine = create_async_engine(
                    url, pool_size=BACKGROUND_POOL, max_overflow=0, json_serializer=_json
                )
                _tune_sqlite(self.background_engine.sync_engine, immediate=False)
            # Client reads: the read pool. Writes wait for the process's write lock anyway.
            client_slots = pool_size
            if path is not None:
                # Batch writers run whole transactions in this thread (run_in_writer);
                # check_same_thread off as dispose() may close it from another thread.
                self._batch_engine: Engine | None = create_engine(
                    f"sqlite:///{path}",
                    pool_size=1,
                    max_overflow=0,
                    connect_args={"check_same_thread": False},
                    json_serializer=_json,
                )
                _tune_sqlite(self._batch_engine, immediate=True)
                self._checkpointer: WalCheckpointer | None = WalCheckpointer(path)
                self._batch_thread: ThreadPoolExecutor | None = ThreadPoolExecutor(
                    max_workers=1, thread_name_prefix="sqlite-batch-writer"
                )
            else:
                self._batch_engine, self._batch_thread, self._checkpointer = None, None, None
        else:
            self._batch_engine, self._batch_thread, self._checkpointer = None, None, None
            # pool_pre_ping: a pooled connection that died with a server restart is found
            # at checkout and replaced, instead of failing the request that drew it.
            self.engine = create_async_engine(
                url,
                pool_size=pool_size,
                max_overflow=pool_size,
                json_serializer=_json,
                pool_pre_ping=True,
            )
            self.write_engine = self.engine
            self.background_engine = create_async_engine(
                url,
                pool_size=BACKGROUND_POOL,
                max_overflow=0,
                json_serializer=_json,
                pool_pre_ping=True,
            )
            client_slots = 2 * pool_size  # reads and writes share the client pool
        self._read = async_sessionmaker(self.engine, class_=AsyncSession, expire_on_commit=False)
        self._write = async_sessionmaker(
            self.write_engine, class_=AsyncSession, expire_on_commit=False
        )
        self._background_read = async_sessionmaker(
            self.background_engine, class_=AsyncSession, expire_on_commit=False
        )
        self._background_write = (
            self._write
            if self.is_sqlite  # one writer connection, taken under the write lock
            else async_sessionmaker(
                self.background_engine, class_=AsyncSession, expire_on_commit=False
            )
        )
        # Never more client sessions than the client pool holds: the rest queue here, for
        # a bounded time, instead of in the pool (whose timeout fails the caller deep in a
        # query) — and the background pool is not theirs to take.
        self._client_slots = asyncio.Semaphore(client_slots)
        # What the client engines' pools hold (SQLite: the readers and the one writer).
        self.client_capacity = pool_size + 1 if self.is_sqlite else 2 * pool_size
        self._socket_slots = asyncio.Semaphore(max(1, client_slots // 2))
        self._client_writes_gated = not self.is_sqlite
        # One writer at a time inside this process; other processes wait on busy_timeout.
        self._write_lock = asyncio.Lock() if self.is_sqlite else None
        self._waiting = 0

    def pool_usage(self) -> tuple[int, int]:
        """Client connections checked out now, and how many the client pools can give."""
        in_use = self.engine.pool.checkedout()  # type: ignore[attr-defined]
        if self.write_engine is not self.engine:
            in_use += self.write_engine.pool.checkedout()  # type: ignore[attr-defined]
        return in_use, self.client_capacity

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        if _lane.get() == "background":
            async with self._background_read() as session:
                yield session
            return
        async with self._client_slot(), self._read() as session:
            yield session

    @asynccontextmanager
    async def _client_slot(self) -> AsyncIterator[None]:
        sockets = _lane.get() == "socket"
        held: list[asyncio.Semaphore] = []
        try:
            async with asyncio.timeout(self.client_wait_s):
                for slots in (self._socket_slots, self._client_slots)[0 if sockets else 1 :]:
                    await slots.acquire()
                    held.append(slots)
        except TimeoutError:
            for slots in held:
                slots.release()
            raise Busy("the database is busy; try again shortly") from None
        try:
            yield
        finally:
            for slots in held:
                slots.release()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A write transaction: commits on success, rolls back on error, then runs hooks."""
        background = _lane.get() == "background"
        async with contextlib.AsyncExitStack() as stack:
            if self._client_writes_gated and not background:
                await stack.enter_async_context(self._client_slot())
            if self._write_lock is not None:
                await self._acquire()
            try:
                maker = self._background_write if background else self._write
                async with maker() as session:
                    async with session.begin():
                        yield session
                    hooks: list[AfterCommit] = session.info.pop(_HOOKS_KEY, [])
            finally:
                if self._write_lock is not None:
                    self._write_lock.release()
        for hook in hooks:
            await hook()

    @property
    def has_writer_thread(self) -> bool:
        """A SQLite file: batch writers may run whole transactions in one thread call."""
        return self._batch_engine is not None

    @property
    def writers_waiting(self) -> int:
        """Coroutines waiting for this process's write lock (read from any thread)."""
        return self._waiting

    def writer_transaction(self) -> AbstractContextManager[Connection]:
        """A write transaction on the writer thread's connection: only inside a job given
        to run_in_writer."""
        assert self._batch_engine is not None, "no writer thread for this database"
        return self._batch_engine.begin()

    async def write_sync(self, work: Callable[[Connection], T]) -> T:
        """Run `work` (synchronous Core statements) in one write transaction: as one call in
        the writer thread on a SQLite file, else on the async connection (no after-commit
        hooks: the caller acts on the result)."""
        if not self.has_writer_thread:
            async with self.transaction() as session:
                conn = await session.connection()
                return await conn.run_sync(work)

        def job() -> T:
            with self.writer_transaction() as conn:
                return work(conn)

        return await self.run_in_writer(job)

    async def run_in_writer(self, job: Callable[[], T]) -> T:
        """Run `job` in SQLite's writer thread while holding the process's write lock.

        Through aiosqlite every statement is a hop to its thread and back through the event
        loop, and under load each hop waits for a whole loop iteration: a group commit of six
        statements held SQLite's single writer several times longer than its work took. A job
        here runs its transactions with no hop at all."""
        assert self._write_lock is not None and self._batch_thread is not None
        await self._acquire()
        try:
            task = asyncio.get_running_loop().run_in_executor(self._batch_thread, job)
            try:
                return await asyncio.shield(task)
            except asyncio.CancelledError:
                # Keep the write lock until the thread's transaction has really ended.
                await asyncio.wait([task])
                raise
        finally:
            self._write_lock.release()

    async def _acquire(self) -> None:
        assert self._write_lock is not None
        if self._checkpointer is not None:
            self._checkpointer.start()  # with the first write, not for read-only uses
        self._waiting += 1
        try:
            await self._write_lock.acquire()
        finally:
            self._waiting -= 1

    async def dispose(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.stop()
        if self._batch_thread is not None:
            self._batch_thread.shutdown(wait=True)
        if self._batch_engine is not None:
            self._batch_engine.dispose()
        await self.engine.dispose()
        if self.write_engine is not self.engine:
            await self.write_engine.dispose()
        if self.background_engine is not self.engine:
            await self.background_engine.dispose()
