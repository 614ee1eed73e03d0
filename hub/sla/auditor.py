"""The auditor: every open case must have the deadline rows its clocks call for. A row
lost to a bug, a manual edit or a restore is re-armed (and counted), never silently
missing — an escalation that never fires is the failure users fear most."""

from __future__ import annotations

from sqlalchemy import or_
from sqlmodel import col, select

from hub.cases.machine import OPEN_STATES
from hub.cases.models import Case
from hub.deps import Hub
from hub.sla.service import sync_cases

PAGE = 500


async def audit_open_cases(hub: Hub) -> int:
    """Returns the number of rows armed. Pages through the open cases with a ladder,
    each page in its own short transaction; cases being changed right now (row-locked by
    an action) are skipped and checked on the next round."""
    calendar = (await hub.reference.get()).calendar
    repaired = 0
    after = 0
    while True:
        async with hub.db.transaction() as session:
            stmt = (
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
                .limit(PAGE)
                .with_for_update(skip_locked=True)
            )
            cases = list((await session.exec(stmt)).all())
            repaired += (await sync_cases(session, cases, calendar)).inserted
        if len(cases) < PAGE:
            break
        assert cases[-1].id is not None
        after = cases[-1].id
    return repaired
