"""Keeping a case's deadline rows equal to what its clocks say (the shell around
`deadlines.plan`). Runs inside the transaction that changed the case."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Table, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from hub.cases.machine import OPEN_STATES
from hub.cases.models import Case
from hub.catalogue.models import CatalogueEntry
from hub.sla.assessment import ORIGINAL_FIELD, keep_originals
from hub.sla.calendar import WorkCalendar
from hub.sla.deadlines import (
    DUE_FIELD,
    RUNNING_IN,
    Limit,
    Planned,
    due_of,
    estimated,
    plan,
    step_start,
)
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
    if not case.sla_ladder:
        return None
    # A handful of distinct ladders serve every case: parse each once.
    key = orjson.dumps(case.sla_ladder, option=orjson.OPT_SORT_KEYS)
    ladder = _LADDERS.get(key)
    if ladder is None:
        if len(_LADDERS) > 1_000:
            _LADDERS.clear()
        ladder = _LADDERS[key] = ladder_from_json(case.sla_ladder)
    return ladder


_LADDERS: dict[bytes, Ladder] = {}


def planned_for(case: Case, calendar: WorkCalendar, ladder: Ladder | None = None) -> list[Planned]:
    """Every rung of the case's running clocks (`ladder`: its own, if already parsed)."""
    ladder = ladder or ladder_of(case)
    if ladder is None or case.state not in OPEN_STATES:
        return []
    return plan(case, ladder, calendar)


def clocked_open_cases(after: int, limit: int) -> SelectOfScalar[Case]:
    """Open cases with a clock running, a page at a time in id order."""
    return (
        select(Case)
        .where(
            col(Case.id) > after,
            col(Case.state).in_(OPEN_STATES),
            or_(
                col(Case.clock_started_at).is_not(None),
                col(Case.verify_due_at).is_not(None),
                col(Case.confirm_due_at).is_not(None),
            ),
        )
        .order_by(col(Case.id))
        .limit(limit)
    )


def set_due(
    case: Case, steps: Iterable[Step], calendar: WorkCalendar, *, recount: bool = False
) -> None:
    """Write the named steps' deadlines onto the case (before its event is recorded, so
    the timeline carries them). A step's first due time is kept as its original; a
    `recount` (a corrected calendar, same clock) moves an original still equal to it."""
    ladder = ladder_of(case)
    for step in steps:
        found = due_of(case, ladder, step, calendar) if ladder is not None else None
        value = found[0] if found is not None else None
        field = DUE_FIELD[step]
        original = ORIGINAL_FIELD.get(step)
        if recount and original is not None and getattr(case, original) == getattr(case, field):
            setattr(case, original, value)
        setattr(case, field, value)
    keep_originals(case)
    case.deadlines_estimated = _any_estimated(case, ladder, calendar)


def _any_estimated(case: Case, ladder: Ladder | None, calendar: WorkCalendar) -> bool:
    """Whether a due time the case shows was counted through a year nobody knows."""
    if ladder is None:
        return False
    for step, field in DUE_FIELD.items():
        due: datetime | None = getattr(case, field)
        limit = ladder.limits.get(step)
        start = step_start(case, step)
        if due is None or limit is None or start is None:
            continue
        if estimated(start, due, Limit(limit.within, limit.unit), calendar):
            return True
    return False


def start_clocks(
    case: Case,
    entry: CatalogueEntry | None,
    calendar: WorkCalendar,
    now: datetime,
    *,
    keep_resolve: bool = False,
) -> None:
    """On (re)dispatch: freeze the entry's ladder onto the case and start the clocks of
    its new state — a department's three, or only the confirmation clock of a whistle
    waiting for the township leader. Every earlier clock stops, except that
    `keep_resolve` (the same department keeps the case) lets a running resolve clock go
    on: the new holder must sign and report on site, but gets no new time to resolve."""
    case.sla_ladder = frozen_ladder(entry) if entry is not None else None
    running = case.state in RUNNING_IN[Step.ACK]
    case.clock_started_at = now if running else None
    if not (keep_resolve and running and case.resolve_started_at is not None):
        case.resolve_started_at = now if running else None
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
            "estimated": p.estimated,
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
        elif p is None or row.status is not DeadlineStatus.PENDING or row.estimated == p.estimated:
            continue  # unchanged (a year that became known may only change the flag)
        if p is not None:
            row.fire_at, row.due_at, row.estimated = p.fire_at, p.due_at, p.estimated
            row.claim_token = row.claimed_by = row.claimed_until = None
        changed.append(row)
    missing = [p for key, p in wanted.items() if key not in have]
    result.inserted = len(missing)
    return missing, changed, result


async def sync_deadlines(session: AsyncSession, case: Case, calendar: WorkCalendar) -> SyncResult:
    return await sync_cases(session, [case], calendar)


async def sync_cases(
    session: AsyncSession,
    cases: Sequence[Case],
    calendar: WorkCalendar,
    rows: Sequence[Deadline] | None = None,
) -> SyncResult:
    """One query for all the cases' rows (or `rows`, already loaded: all of these cases'
    rows), one multi-row insert for what is missing."""
    ids = [c.id for c in cases if c.id is not None]
    if rows is None:
        stmt = select(Deadline).where(col(Deadline.case_id).in_(ids))
        rows = (await session.exec(stmt)).all() if ids else []
    by_case: dict[int, list[Deadline]] = {i: [] for i in ids}
    for row in rows:
        by_case.setdefault(row.case_id, []).append(row)
    total = SyncResult()
    inserts: list[dict[str, Any]] = []
    for case in cases:
        assert case.id is not None
        missing, changed, result = reconcile(case.id, planned_for(case, calendar), by_case[case.id])
        session.add_all(changed)
        inserts += new_rows(case.id, missing)
        total.inserted += result.inserted
        total.cancelled += result.cancelled
        total.moved += result.moved
    if inserts:
        conn = await session.connection()
        await conn.execute(DEADLINES.insert(), inserts)
    return total


async def case_deadlines(session: AsyncSession, case_id: int) -> list[Deadline]:
    stmt = (
        select(Deadline)
        .where(Deadline.case_id == case_id)
        .order_by(col(Deadline.fire_at), col(Deadline.id))
    )
    return list((await session.exec(stmt)).all())


def frozen_ladder(entry: CatalogueEntry) -> dict[str, Any]:
    """The JSON a case dispatched under this entry version stores; built once per distinct
    set of limits and overrides (every dispatch needs it)."""
    key = (
        entry.ack_within,
        entry.ack_unit,
        entry.checkin_within,
        entry.checkin_unit,
        entry.resolve_within,
        entry.resolve_unit,
        orjson.dumps(entry.sla, option=orjson.OPT_SORT_KEYS),
    )
    found = _FROZEN.get(key)
    if found is None:
        if len(_FROZEN) > 10_000:
            _FROZEN.clear()
        found = _FROZEN[key] = ladder_json(ladder_for(entry))
    return dict(found)  # a copy: the case owns its column's value


_FROZEN: dict[tuple[object, ...], dict[str, Any]] = {}


def ladder_for(entry: CatalogueEntry) -> Ladder:
    """The ladder a case dispatched under this entry version freezes."""
    return build_ladder(
        ack=StepLimit(within=entry.ack_within, unit=entry.ack_unit),
        checkin=StepLimit(within=entry.checkin_within, unit=entry.checkin_unit),
        resolve=StepLimit(within=entry.resolve_within, unit=entry.resolve_unit),
        override=LadderOverride.model_validate(entry.sla) if entry.sla else None,
    )
