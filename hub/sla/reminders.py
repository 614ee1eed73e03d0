"""一哨一考核: every whistle (a level-2 or level-3 case) that closes is assessed by the
township. One closed longer than `ASSESS_WITHIN` without the township's assessment is
flagged, once per closing, to the township leader (the township command centre's chain:
the leader first, then its dispatchers), as an `assessment_overdue` event on its timeline:
the leader's console shows it live and the reports list it. Run every few minutes by the
SLA engine; idempotent, so any number of workers may run it at once."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from hub.auth.principal import Principal
from hub.cases.events import EventType as E
from hub.cases.machine import CaseState
from hub.cases.models import Case, CaseEvent
from hub.cases.unit import unit_of_work
from hub.ports import Services
from hub.sla.actions import reach
from hub.sla.reach import Rank

ASSESS_WITHIN = timedelta(days=3)
# Closings older than this are not looked at again: a flag is raised within minutes of
# the limit, so an older unassessed case was flagged already (or predates this rule).
LOOK_BACK = timedelta(days=30)
WHISTLES = (2, 3)
BATCH = 100


def _candidates(now: datetime, after: int) -> SelectOfScalar[int | None]:
    return (
        select(col(Case.id))
        .where(
            col(Case.state) == CaseState.CLOSED,
            col(Case.township_score).is_(None),
            col(Case.whistle_level).in_(WHISTLES),
            col(Case.closed_at) < now - ASSESS_WITHIN,
            col(Case.closed_at) >= now - LOOK_BACK,
            col(Case.id) > after,
        )
        .order_by(col(Case.id))
        .limit(BATCH)
    )


async def flag_unassessed(hub: Services, principal: Principal) -> int:
    """Flag every whistle past its assessment limit that is not flagged for this closing;
    returns how many were flagged."""
    flagged, after = 0, 0
    ref = await hub.reference.get()
    while True:
        now = hub.clock.now()
        async with hub.db.read() as session:
            ids = [i for i in (await session.exec(_candidates(now, after))).all() if i]
        if not ids:
            return flagged
        after = ids[-1]
        async with unit_of_work(hub.db, hub.committed) as unit:
            session = unit.session
            locked = select(Case).where(col(Case.id).in_(ids)).order_by(col(Case.id))
            for case in (await session.exec(locked.with_for_update())).all():
                # Re-checked under the lock: assessed, reopened or flagged meanwhile.
                if case.state is not CaseState.CLOSED or case.township_score is not None:
                    continue
                if await _flagged_since_closing(unit.session, case):
                    continue
                ctx = unit.ctx(principal, case, now, ref)
                assert case.closed_at is not None
                detail = reach(ctx, Rank.TOWNSHIP_COMMAND)
                ctx.record(
                    E.ASSESSMENT_OVERDUE,
                    {
                        "closed_at": case.closed_at.isoformat(),
                        "due_at": (case.closed_at + ASSESS_WITHIN).isoformat(),
                        "township_id": case.township_id,
                        **detail,
                    },
                )
                flagged += 1


async def _flagged_since_closing(session: AsyncSession, case: Case) -> bool:
    def last(kind: E) -> SelectOfScalar[int]:
        return select(func.max(CaseEvent.seq)).where(
            col(CaseEvent.case_id) == case.id, col(CaseEvent.type) == kind.value
        )

    closed = (await session.exec(last(E.CLOSED))).one()
    flagged = (await session.exec(last(E.ASSESSMENT_OVERDUE))).one()
    return flagged is not None and closed is not None and flagged > closed
