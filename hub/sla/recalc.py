"""When an admin enters or corrects a year's holidays, every deadline not yet passed is
counted again on the new calendar; the change is an event on each case it moves."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import delete
from sqlmodel import col

from hub.auth.principal import Principal
from hub.cases.events import EventType as E
from hub.cases.models import Case
from hub.cases.timeline import snapshot
from hub.cases.unit import unit_of_work
from hub.dispatch.reference import bump
from hub.ports import Services
from hub.sla.arming import clocked_open_cases, set_due, sync_deadlines
from hub.sla.deadlines import DUE_FIELD, RUNNING_IN
from hub.sla.ladder import Step
from hub.sla.models import CalendarDay

PAGE = 500


async def enter_year(
    hub: Services,
    actor: Principal,
    *,
    year: int,
    holidays: list[date],
    workdays: list[date],
    note: str,
) -> int:
    """Replace `year`'s entered days, then recount open cases; returns how many moved."""
    now = hub.clock.now()
    async with hub.db.transaction() as session:
        await session.exec(delete(CalendarDay).where(col(CalendarDay.year) == year))
        for day, is_workday in [(d, False) for d in holidays] + [(d, True) for d in workdays]:
            session.add(
                CalendarDay(
                    day=day,
                    is_workday=is_workday,
                    year=year,
                    note=note,
                    entered_by=actor.user_id,
                    entered_at=now,
                )
            )
        await bump(session)
    hub.reference.invalidate()
    return await recalculate(hub, actor, reason=f"holiday schedule for {year} entered")


async def recalculate(hub: Services, actor: Principal, *, reason: str) -> int:
    ref = await hub.reference.get()
    moved = 0
    after = 0
    while True:
        async with unit_of_work(hub.db, hub.committed) as unit:
            session = unit.session
            stmt = clocked_open_cases(after, PAGE).with_for_update()
            cases = list((await session.exec(stmt)).all())
            now = hub.clock.now()
            for case in cases:
                ctx = unit.ctx(actor, case, now, ref)
                # Only deadlines still ahead move; one already passed has had its say.
                set_due(case, _ahead(case, now), ref.calendar, recount=True)
                if snapshot(case) == ctx.before:
                    continue
                ctx.record(E.DEADLINES_RECALCULATED, {"reason": reason})
                await sync_deadlines(session, case, ref.calendar)
                moved += 1
        if len(cases) < PAGE:
            return moved
        assert cases[-1].id is not None
        after = cases[-1].id


def _ahead(case: Case, now: datetime) -> list[Step]:
    out = []
    for step in Step:
        due: datetime | None = getattr(case, DUE_FIELD[step])
        if case.state in RUNNING_IN[step] and due is not None and due > now:
            out.append(step)
    return out
