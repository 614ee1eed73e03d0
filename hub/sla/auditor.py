"""The auditor: every open case must have the deadline rows its clocks call for. A row
lost to a bug, a manual edit or a restore is re-armed (and counted), never silently
missing — an escalation that never fires is the failure users fear most."""

from __future__ import annotations

from hub.ports import Services
from hub.sla.arming import clocked_open_cases, sync_cases

PAGE = 500


async def audit_open_cases(hub: Services) -> int:
    """Returns the number of rows armed. Pages through the open cases with a ladder,
    each page in its own short transaction; cases being changed right now (row-locked by
    an action) are skipped and checked on the next round."""
    calendar = (await hub.reference.get()).calendar
    repaired = 0
    after = 0
    while True:
        async with hub.db.transaction() as session:
            stmt = clocked_open_cases(after, PAGE).with_for_update(skip_locked=True)
            cases = list((await session.exec(stmt)).all())
            repaired += (await sync_cases(session, cases, calendar)).inserted
        if len(cases) < PAGE:
            break
        assert cases[-1].id is not None
        after = cases[-1].id
    return repaired
