"""Group commit for new cases: requests build their case and events in memory, and one
writer task inserts whatever has queued up meanwhile in a single transaction — two
multi-row inserts however many cases wait. Under load that spreads the cost of a
transaction, SQLite's single write lock and every statement's round trip over the batch;
alone, a case goes in at once (the writer never waits to fill a batch)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table, insert, text
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.cases.models import Case, CaseEvent
from hub.cases.timeline import seal
from hub.db import Database
from hub.sla.deadlines import Planned
from hub.sla.service import DEADLINES, new_rows

log = logging.getLogger(__name__)
MAX_BATCH = 100
CASES: Table = Case.__table__  # type: ignore[attr-defined]
EVENTS: Table = CaseEvent.__table__  # type: ignore[attr-defined]


@dataclass
class Draft:
    case: Case
    events: list[CaseEvent]
    deadlines: list[Planned]
    future: asyncio.Future[tuple[Case, bool]] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class CaseWriter:
    def __init__(self, db: Database, committed: Callable[[], None]) -> None:
        self.db = db
        self.committed = committed
        self._queue: asyncio.Queue[Draft] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    async def submit(
        self, case: Case, events: list[CaseEvent], deadlines: list[Planned] | None = None
    ) -> tuple[Case, bool]:
        """Insert a new case with its events; (the case, False) if its idempotency key was
        already used by the same caller — then the earlier case is returned."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="case-writer")
        draft = Draft(case, events, deadlines or [])
        await self._queue.put(draft)
        return await draft.future

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < MAX_BATCH and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            results: list[tuple[Case, bool] | BaseException]
            try:
                results = list(await self._write(batch))
            except Exception:
                results = [await self._write_alone(d) for d in batch]
            self.committed()
            for draft, result in zip(batch, results, strict=True):
                if draft.future.done():
                    continue
                if isinstance(result, BaseException):
                    draft.future.set_exception(result)
                else:
                    draft.future.set_result(result)

    async def _write_alone(self, draft: Draft) -> tuple[Case, bool] | BaseException:
        try:
            return (await self._write([draft]))[0]
        except Exception as exc:
            return exc

    async def _write(self, batch: list[Draft]) -> list[tuple[Case, bool]]:
        async with self.db.transaction() as session:
            results: list[tuple[Case, bool] | None] = [None] * len(batch)
            claimed: dict[tuple[int, str], Case] = {}
            fresh: list[int] = []
            for i, draft in enumerate(batch):
                case = draft.case
                if case.idempotency_key is None:
                    fresh.append(i)
                    continue
                key = (case.created_by, case.idempotency_key)
                earlier = claimed.get(key) or await _existing(session, *key)
                if earlier is not None:
                    results[i] = (earlier, False)
                else:
                    claimed[key] = case
                    fresh.append(i)
            ids = await _next_ids(session, len(fresh))
            case_rows: list[dict[str, Any]] = []
            event_rows: list[dict[str, Any]] = []
            deadline_rows: list[dict[str, Any]] = []
            for i, case_id in zip(fresh, ids, strict=True):
                draft = batch[i]
                draft.case.id = case_id
                seal(draft.case, draft.events)
                case_rows.append(_row(CASES, draft.case))
                event_rows += [event_row(e) for e in draft.events]
                deadline_rows += new_rows(case_id, draft.deadlines)
                results[i] = (draft.case, True)
            if case_rows:
                conn = await session.connection()
                await conn.execute(insert(CASES), case_rows)
                await conn.execute(insert(EVENTS), event_rows)
            if deadline_rows:
                await conn.execute(insert(DEADLINES), deadline_rows)
        return [r for r in results if r is not None]


async def _existing(session: AsyncSession, created_by: int, key: str) -> Case | None:
    stmt = select(Case).where(Case.created_by == created_by, Case.idempotency_key == key)
    return (await session.exec(stmt)).first()


async def _next_ids(session: AsyncSession, n: int) -> list[int]:
    if n == 0:
        return []
    conn = await session.connection()
    if conn.dialect.name == "sqlite":
        # Safe: every writer holds SQLite's write lock from BEGIN IMMEDIATE to commit.
        top = int((await conn.execute(text("SELECT COALESCE(MAX(id), 0) FROM cases"))).scalar_one())
        return list(range(top + 1, top + n + 1))
    rows = await conn.execute(
        text("SELECT nextval(pg_get_serial_sequence('cases', 'id')) FROM generate_series(1, :n)"),
        {"n": n},
    )
    return [int(r[0]) for r in rows]


def event_row(event: CaseEvent) -> dict[str, Any]:
    return _row(EVENTS, event)


def _row(table: Table, obj: object) -> dict[str, Any]:
    values = {c.name: getattr(obj, c.name) for c in table.columns}
    if values.get("id") is None:
        values.pop("id", None)
    return values
