"""Wall counters per region, computed by the database (so they equal what it says)."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from sqlalchemy import and_, func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.auth.scope import region_clause
from hub.cases.machine import OPEN_STATES, CaseState
from hub.cases.models import Case
from hub.cases.queries import count_where, overdue_clause
from hub.clock import SHANGHAI
from hub.enums import Tier

_COUNTED = col(Case.state).notin_([CaseState.MERGED, CaseState.CANCELLED])
TOP_DEPARTMENTS = 15


def start_of_day(now: datetime) -> datetime:
    local = now.astimezone(SHANGHAI)
    return datetime.combine(local.date(), time(0), SHANGHAI)


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


async def region_counters(
    session: AsyncSession, tier: Tier, region_id: int, now: datetime
) -> dict[str, Any]:
    today = start_of_day(now)
    is_open = col(Case.state).in_(OPEN_STATES)
    overdue = overdue_clause(now)
    closed = col(Case.state) == CaseState.CLOSED
    # On time by the case's original due time, which re-routing never moves later.
    on_time = and_(
        col(Case.resolved_at).is_not(None),
        col(Case.original_resolve_due_at).is_not(None),
        col(Case.resolved_at) <= col(Case.original_resolve_due_at),
    )
    due = and_(
        col(Case.original_resolve_due_at).is_not(None),
        (col(Case.original_resolve_due_at) < now) | col(Case.resolved_at).is_not(None),
    )
    where = and_(region_clause(tier, region_id), _COUNTED)
    totals = (
        await session.exec(
            select(  # type: ignore[call-overload]
                count_where(col(Case.created_at) >= today),
                count_where(is_open),
                count_where(overdue),
                count_where(and_(closed, col(Case.closed_at) >= today)),
                count_where(closed),
                func.count(),
                count_where(on_time),
                count_where(due),
            ).where(where)
        )
    ).one()
    new_today, open_, overdue_n, closed_today, closed_all, total, on_time_n, due_n = totals
    levels = (
        await session.exec(
            select(Case.whistle_level, func.count())
            .where(where, is_open)
            .group_by(col(Case.whistle_level))
        )
    ).all()
    # The live tiles (waiting to be signed for, in hand, ...) and the SLA colours.
    states = (
        await session.exec(
            select(Case.state, Case.sla_status, func.count())
            .where(where, is_open)
            .group_by(col(Case.state), col(Case.sla_status))
        )
    ).all()
    by_state: dict[str, int] = {}
    by_sla: dict[str, int] = {}
    for state, sla, n in states:
        by_state[str(state)] = by_state.get(str(state), 0) + n
        by_sla[str(sla)] = by_sla.get(str(sla), 0) + n
    departments = (
        await session.exec(
            select(  # type: ignore[call-overload]
                Case.department_id,
                count_where(is_open),
                count_where(overdue),
                count_where(on_time),
                count_where(due),
            )
            .where(where, col(Case.department_id).is_not(None))
            .group_by(col(Case.department_id))
        )
    ).all()
    ranking = sorted(
        (
            {"department_id": d, "open": o, "overdue": od, "on_time_rate": _rate(ot, du)}
            for d, o, od, ot, du in departments
        ),
        key=lambda r: (-(r["on_time_rate"] or 0.0), r["overdue"], r["department_id"]),
    )[:TOP_DEPARTMENTS]
    return {
        "new_today": new_today,
        "open": open_,
        "overdue": overdue_n,
        "closed_today": closed_today,
        "closed": closed_all,
        "total": total,
        "closure_rate": _rate(closed_all, total),
        "on_time_rate": _rate(on_time_n, due_n),
        "open_by_whistle_level": {str(level or 0): n for level, n in levels},
        "open_by_state": by_state,
        "open_by_sla_status": by_sla,
        "departments": ranking,
        "day_starts": today.isoformat(),
    }
