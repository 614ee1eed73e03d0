"""The unit of work every change to a stored case runs in: one transaction that holds the
change, its events (written by the one event insert, `write_events`) and the deadline rows
that follow it; after commit, one wake-up for publishing. Creation takes the same shape in
the group-commit writer (`cases/writer.py`), which calls the same `write_events`.

    async with unit_of_work(db, wake) as unit:
        case = await lock_case(unit.session, ...)
        ctx = unit.ctx(actor, case, now, ref)
        ... decide, change the case, ctx.record(EventType.X, payload) ...
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table, insert
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.auth.principal import Principal
from hub.cases.context import Ctx
from hub.cases.models import Case, CaseEvent
from hub.cases.timeline import snapshot
from hub.db import Database, on_commit
from hub.dispatch.reference import Reference

EVENTS: Table = CaseEvent.__table__  # type: ignore[attr-defined]
# The only statement that inserts case events. Built once: a statement and its cache key
# cost more to build than to run, per batch.
INSERT_EVENTS = insert(EVENTS)


def event_rows(events: list[CaseEvent]) -> list[dict[str, Any]]:
    return [_row(e) for e in events]


def write_events(conn: Connection, events: list[CaseEvent]) -> None:
    """Insert events as plain rows, in one multi-row statement (synchronous: the case
    writer's batches run on a sync connection)."""
    if events:
        conn.execute(INSERT_EVENTS, event_rows(events))


@dataclass
class Unit:
    session: AsyncSession
    events: list[CaseEvent] = field(default_factory=list)

    def ctx(self, actor: Principal, case: Case, now: datetime, ref: Reference) -> Ctx:
        """What an action on `case` records through: its events join this unit's."""
        return Ctx(self.session, actor, case, now, snapshot(case), ref, self.events)

    async def flush(self) -> None:
        if self.events:
            conn = await self.session.connection()
            await conn.run_sync(write_events, self.events)
            self.events = []


@asynccontextmanager
async def unit_of_work(db: Database, wake: Callable[[], None]) -> AsyncIterator[Unit]:
    """Commit the unit's change and events together, then `wake` the publisher once."""
    async with db.transaction() as session:
        unit = Unit(session)
        yield unit
        await unit.flush()
        on_commit(session, _woken(wake))


def _woken(wake: Callable[[], None]) -> Callable[[], Any]:
    async def hook() -> None:
        wake()

    return hook


def _row(event: CaseEvent) -> dict[str, Any]:
    values = {name: getattr(event, name) for name in _COLUMNS}
    if values.get("id") is None:
        values.pop("id", None)
    return values


_COLUMNS: tuple[str, ...] = tuple(c.name for c in EVENTS.columns)
