"""Group commit for new cases: requests build their case and events in memory, and one
writer task inserts whatever has queued up meanwhile in a single transaction — two
multi-row inserts however many cases wait. Under load that spreads the cost of a
transaction, SQLite's single write lock and every statement's round trip over the batch;
alone, a case goes in at once (the writer never waits to fill a batch). On a SQLite file
the batches run in the database's writer thread, which takes drafts itself, so a batch
never waits for the event loop between statements (see Database.run_in_writer)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import Connection, Table, bindparam, insert, text
from sqlalchemy import select as sa_select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlmodel import Session, select

from hub.cases.models import Case, CaseEvent
from hub.cases.timeline import seal
from hub.cases.unit import write_events
from hub.db import Database, background_work
from hub.outage import is_outage
from hub.sla.arming import DEADLINES, new_rows
from hub.sla.deadlines import Planned

if TYPE_CHECKING:
    from hub.realtime.frames import Frame

log = logging.getLogger(__name__)
MAX_BATCH = 100
CASES: Table = Case.__table__  # type: ignore[attr-defined]
Result = tuple[Case, bool] | BaseException


@dataclass
class Draft:
    case: Case
    events: list[CaseEvent]
    deadlines: list[Planned]
    future: asyncio.Future[tuple[Case, bool]] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class Outbox(Protocol):
    """The outbox relay, seen from the writer: on SQLite it numbers the batch's events in
    the batch's own transaction, which already holds the single write lock, instead of in
    a transaction of its own after it, a measurable part of every case's way to the
    screens (docs/benchmarks.md, Live push, session 4)."""

    def number(self, conn: Connection) -> list[Frame]: ...

    def numbered(self, frames: list[Frame]) -> None: ...


class CaseWriter:
    def __init__(
        self,
        db: Database,
        committed: Callable[[], None],
        outbox: Callable[[], Outbox | None] = lambda: None,
    ) -> None:
        self.db = db
        self.committed = committed  # events committed, not numbered: poke the relay
        self.outbox = outbox  # who numbers in the writer thread's transactions, if anyone
        # A deque, not an asyncio.Queue: on SQLite the writer thread takes drafts from it
        # directly (append and popleft are atomic), so it never waits for the event loop.
        self._pending: deque[Draft] = deque()
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    async def submit(
        self, case: Case, events: list[CaseEvent], deadlines: list[Planned] | None = None
    ) -> tuple[Case, bool]:
        """Insert a new case with its events; (the case, False) if its idempotency key was
        already used by the same caller — then the earlier case is returned."""
        if self._stopping:
            raise RuntimeError("the case writer has stopped")
        if self._task is None or self._task.done():
            with background_work():  # its connections are not the requests' to exhaust
                self._task = asyncio.create_task(self._run(), name="case-writer")
        draft = Draft(case, events, deadlines or [])
        self._pending.append(draft)
        self._wake.set()
        return await draft.future

    async def stop(self) -> None:
        self._stopping = True
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        while self._pending:
            draft = self._pending.popleft()
            if not draft.future.done():
                draft.future.set_exception(RuntimeError("the hub stopped before the write"))

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            if not self._pending:
                self._wake.clear()
                await self._wake.wait()
            if self.db.has_writer_thread:
                await self.db.run_in_writer(lambda: self._drain(loop))
            else:
                batch = self._take()
                self._deliver(batch, await self._write_async(batch))

    def _take(self) -> list[Draft]:
        batch: list[Draft] = []
        while self._pending and len(batch) < MAX_BATCH:
            batch.append(self._pending.popleft())
        return batch

    def _drain(self, loop: asyncio.AbstractEventLoop) -> None:
        """In SQLite's writer thread: one transaction per batch, back to back, until nothing
        waits or another writer of this process wants the lock."""
        while not self._stopping and (batch := self._take()):
            results: list[Result] = []
            outbox, frames = self.outbox(), None
            try:
                with self.db.writer_transaction() as conn:
                    results += _insert(conn, batch)
                    if outbox is not None:
                        frames = outbox.number(conn)
            except Exception as exc:
                if is_outage(exc):  # every draft would fail alone too (see _write_async)
                    results, frames = [exc] * len(batch), None
                else:
                    # One at a time, unnumbered: a bad draft fails alone; the relay numbers.
                    results, frames = [self._alone_in_thread(d) for d in batch], None
            loop.call_soon_threadsafe(self._deliver, batch, results, outbox, frames)
            if self.db.writers_waiting:
                break

    def _alone_in_thread(self, draft: Draft) -> Result:
        try:
            with self.db.writer_transaction() as conn:
                return _insert(conn, [draft])[0]
        except Exception as exc:
            return exc

    async def _write_async(self, batch: list[Draft]) -> list[Result]:
        try:
            return list(await self._insert_async(batch))
        except Exception as exc:
            if is_outage(exc):
                # The database is unreachable: each draft alone would only fail again, one
                # connection attempt after another — and a batch whose commit was cut off
                # may have been stored, so writing its keyless drafts again could store
                # them twice. Every request answers 503; a client retries with its key.
                return [exc] * len(batch)
            return [await self._alone_async(draft) for draft in batch]

    async def _alone_async(self, draft: Draft) -> Result:
        try:
            return (await self._insert_async([draft]))[0]
        except Exception as exc:
            return exc

    async def _insert_async(self, batch: list[Draft]) -> list[tuple[Case, bool]]:
        return await self.db.write_sync(lambda conn: _insert(conn, batch))

    def _deliver(
        self,
        batch: list[Draft],
        results: list[Result],
        outbox: Outbox | None = None,
        frames: list[Frame] | None = None,
    ) -> None:
        for draft, result in zip(batch, results, strict=True):
            if draft.future.done():
                continue
            if isinstance(result, BaseException):
                draft.future.set_exception(result)
            else:
                draft.future.set_result(result)
        # After the futures: their requests answer at once, before the relay's fan-out to
        # every wall holds the loop, not after it (docs/benchmarks.md, Live push).
        if outbox is not None and frames is not None:
            outbox.numbered(frames)
        else:
            self.committed()


def _insert(conn: Connection, batch: list[Draft]) -> list[tuple[Case, bool]]:
    """The batch's statements, synchronous: in SQLite's writer thread, or run on the async
    connection elsewhere (PostgreSQL)."""
    results: list[tuple[Case, bool] | None] = [None] * len(batch)
    claimed: dict[tuple[int, str], Case] = {}
    fresh: list[int] = []
    for i, draft in enumerate(batch):
        case = draft.case
        if case.idempotency_key is None:
            fresh.append(i)
            continue
        key = (case.created_by, case.idempotency_key)
        earlier = claimed.get(key) or _existing(conn, *key)
        if earlier is not None:
            results[i] = (earlier, False)
        else:
            claimed[key] = case
            fresh.append(i)
    ids = _next_ids(conn, len(fresh))
    case_rows: list[dict[str, Any]] = []
    for i, case_id in zip(fresh, ids, strict=True):
        draft = batch[i]
        draft.case.id = case_id
        seal(draft.case, draft.events)
        case_rows.append(_row(CASES, draft.case))
    if case_rows:
        if conn.dialect.name == "postgresql":
            fresh = _claim_keys(conn, batch, fresh, case_rows, results)
        else:
            # Every SQLite writer holds the write lock from BEGIN IMMEDIATE: the key
            # lookups above cannot have raced another writer.
            conn.execute(_INSERT_CASES, case_rows)
    events: list[CaseEvent] = []
    deadline_rows: list[dict[str, Any]] = []
    for i in fresh:
        draft = batch[i]
        assert draft.case.id is not None
        events += draft.events
        deadline_rows += new_rows(draft.case.id, draft.deadlines)
        results[i] = (draft.case, True)
    write_events(conn, events)
    if deadline_rows:
        conn.execute(_INSERT_DEADLINES, deadline_rows)
    return [r for r in results if r is not None]


def _claim_keys(
    conn: Connection,
    batch: list[Draft],
    fresh: list[int],
    case_rows: list[dict[str, Any]],
    results: list[tuple[Case, bool] | None],
) -> list[int]:
    """PostgreSQL: insert the cases, skipping any whose idempotency key another writer (a
    hub process of its own) committed since the lookup — PostgreSQL waits for that writer
    to end and then skips the row instead of failing the whole batch. A skipped draft is
    answered with the winner's case, as a sequential retry is. Returns the drafts stored."""
    conn.execute(_INSERT_CASES_PG, case_rows)
    if not any(batch[i].case.idempotency_key is not None for i in fresh):
        return fresh
    wanted = [batch[i].case.id for i in fresh]
    stored = set(conn.execute(_STORED_IDS, {"ids": wanted}).scalars())
    kept: list[int] = []
    winners: dict[int, Case] = {}  # id(skipped draft's case) -> the stored one
    for i in fresh:
        case = batch[i].case
        if case.id in stored:
            kept.append(i)
            continue
        assert case.idempotency_key is not None  # only a key's conflict skips a row
        # Read committed: this statement sees the row the conflict waited for.
        winner = _existing(conn, case.created_by, case.idempotency_key)
        if winner is None:  # cannot happen: the row that conflicted has committed
            raise RuntimeError(f"idempotency key {case.idempotency_key!r} skipped unseen")
        winners[id(case)] = winner
    # Drafts of this batch that shared a skipped draft's key were answered with its case.
    for i, result in enumerate(results):
        if result is not None and id(result[0]) in winners:
            results[i] = (winners[id(result[0])], False)
    for i in fresh:
        if id(batch[i].case) in winners:
            results[i] = (winners[id(batch[i].case)], False)
    return kept


def _existing(conn: Connection, created_by: int, key: str) -> Case | None:
    with Session(bind=conn) as session:
        stmt = select(Case).where(Case.created_by == created_by, Case.idempotency_key == key)
        return session.exec(stmt).first()


def _next_ids(conn: Connection, n: int) -> list[int]:
    if n == 0:
        return []
    if conn.dialect.name == "sqlite":
        # Safe: every writer holds SQLite's write lock from BEGIN IMMEDIATE to commit.
        top = int(conn.execute(_TOP_CASE_ID).scalar_one())
        return list(range(top + 1, top + n + 1))
    rows = conn.execute(_NEXT_CASE_IDS, {"n": n})
    return [int(r[0]) for r in rows]


def _row(table: Table, obj: object) -> dict[str, Any]:
    values = {name: getattr(obj, name) for name in _column_names(table)}
    if values.get("id") is None:
        values.pop("id", None)
    return values


@cache
def _column_names(table: Table) -> tuple[str, ...]:
    return tuple(c.name for c in table.columns)


# Built once: a statement and its cache key cost more to build than to run, per batch.
_INSERT_CASES = insert(CASES)
_INSERT_CASES_PG = pg_insert(CASES).on_conflict_do_nothing(constraint="uq_case_idempotency")
_STORED_IDS = sa_select(CASES.c.id).where(CASES.c.id.in_(bindparam("ids", expanding=True)))
_INSERT_DEADLINES = insert(DEADLINES)
_TOP_CASE_ID = text("SELECT COALESCE(MAX(id), 0) FROM cases")
_NEXT_CASE_IDS = text(
    "SELECT nextval(pg_get_serial_sequence('cases', 'id')) FROM generate_series(1, :n)"
)
