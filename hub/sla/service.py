"""Keeping a case's deadline rows equal to what its clocks say (the shell around
`deadlines.plan`). Runs inside the transaction that changed the case."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.cases.machine import OPEN_STATES
from hub.cases.models import Case
from hub.catalogue.models import CatalogueEntry
from hub.sla.calendar import WorkCalendar
from hub.sla.deadlines import DUE_FIELD, RUNNING_IN, Planned, due_at, plan
from hub.sla.ladder import (
    Ladder,
    LadderOverride,
    Step,
    StepLimit,
    build_ladder,
    ladder_from_json,
    ladder_json,
)
from hub.sla.models import Deadline, DeadlineStatus

DEADLINES: Table = Deadline.__table__  # type: ignore[attr-defined]
RowKey = tuple[str, int, datetime]


def ladder_of(case: Case) -> Ladder | None:
    return ladder_from_json(case.sla_ladder) if case.sla_ladder else None


def planned_for(case: Case, calendar: WorkCalendar) -> list[Planned]:
    ladder = ladder_of(case)
    if ladder is None or case.state not in OPEN_STATES:
        return []
    return plan(case, ladder, calendar)


def set_due(case: Case, steps: Iterable[Step], calendar: WorkCalendar) -> None:
    """Write the named steps' deadlines onto the case (before its event is recorded, so
    the timeline carries them)."""
    ladder = ladder_of(case)
    for step in steps:
        value = due_at(case, ladder, step, calendar) if ladder is not None else None
        setattr(case, DUE_FIELD[step], value)


def start_clocks(
    case: Case, entry: CatalogueEntry | None, calendar: WorkCalendar, now: datetime
) -> None:
    """On (re)dispatch: freeze the entry's ladder onto the case and start the clocks of
    its new state — a department's three, or only the confirmation clock of a whistle
    waiting for the township leader. Every earlier clock of the case stops."""
    case.sla_ladder = ladder_json(ladder_for(entry)) if entry is not None else None
    case.clock_started_at = now if case.state in RUNNING_IN[Step.ACK] else None
    for field in DUE_FIELD.values():
        setattr(case, field, None)
    set_due(case, [s for s in Step if case.state in RUNNING_IN[s]], calendar)


def new_rows(case_id: int, planned: Sequence[Planned]) -> list[dict[str, Any]]:
    return [
        {
            "case_id": case_id,
            "step": p.step.value,
            "rung": p.rung,
            "kind": p.kind.value,
            "started_at": p.started_at,
            "due_at": p.due_at,
            "fire_at": p.fire_at,
            "status": DeadlineStatus.PENDING,
        }
        for p in planned
    ]


@dataclass
class SyncResult:
    inserted: int = 0
    cancelled: int = 0
    moved: int = 0


def reconcile(
    case_id: int, want: Sequence[Planned], rows: Sequence[Deadline]
) -> tuple[list[Planned], list[Deadline], SyncResult]:
    """Which rungs to insert and which rows changed. A fired row is never touched: a
    rung fires once per run of its clock."""
    wanted = {p.key: p for p in want}
    result = SyncResult()
    changed: list[Deadline] = []
    have: set[RowKey] = set()
    for row in rows:
        key = (row.step, row.rung, row.started_at)
        have.add(key)
        p = wanted.get(key)
        if row.status is DeadlineStatus.PENDING and p is None:
            row.status = DeadlineStatus.CANCELLED
            result.cancelled += 1
        elif p is not None and row.status is DeadlineStatus.CANCELLED:
            row.status = DeadlineStatus.PENDING  # the same clock runs again
        elif p is not None and row.status is DeadlineStatus.PENDING and row.fire_at != p.fire_at:
            result.moved += 1  # a corrected calendar moved it
        else:
            continue
        if p is not None:
            row.fire_at, row.due_at = p.fire_at, p.due_at
            row.claim_token = row.claimed_by = row.claimed_until = None
        changed.append(row)
    missing = [p for key, p in wanted.items() if key not in have]
    result.inserted = len(missing)
    return missing, changed, result


async def sync_deadlines(session: AsyncSession, case: Case, calendar: WorkCalendar) -> SyncResult:
    assert case.id is not None
    rows = (await session.exec(select(Deadline).where(Deadline.case_id == case.id))).all()
    missing, changed, result = reconcile(case.id, planned_for(case, calendar), rows)
    session.add_all(changed)
    if missing:
        conn = await session.connection()
        await conn.execute(DEADLINES.insert(), new_rows(case.id, missing))
    return result


async def case_deadlines(session: AsyncSession, case_id: int) -> list[Deadline]:
    stmt = (
        select(Deadline)
        .where(Deadline.case_id == case_id)
        .order_by(col(Deadline.fire_at), col(Deadline.id))
    )
    return list((await session.exec(stmt)).all())


def ladder_for(entry: CatalogueEntry) -> Ladder:
    """The ladder a case dispatched under this entry version freezes."""
    return build_ladder(
        ack=StepLimit(within=entry.ack_within, unit=entry.ack_unit),
        checkin=StepLimit(within=entry.checkin_within, unit=entry.checkin_unit),
        resolve=StepLimit(within=entry.resolve_within, unit=entry.resolve_unit),
        override=LadderOverride.model_validate(entry.sla) if entry.sla else None,
    )
