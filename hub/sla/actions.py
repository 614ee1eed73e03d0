"""What firing one rung does to its case: the events and the escalation's effects. Runs
inside the engine's transaction, under the case's row lock, like any case action."""

from __future__ import annotations

from typing import Any

from hub.cases.context import Ctx
from hub.cases.events import EventType as E
from hub.cases.machine import WITH_DEPARTMENT, Action
from hub.cases.routing_step import route_case
from hub.enums import TIER_OF_WHISTLE_LEVEL, SlaStatus, Supervision
from hub.errors import HubError
from hub.sla.contacts import contacts_for
from hub.sla.ladder import Rung, RungAction, RungKind
from hub.sla.models import Deadline
from hub.sla.reach import START_OF, Rank, fall_through

UNREACHABLE = "unreachable"  # nobody on the whole chain: the console warns

A = RungAction
_RANK = {SlaStatus.OK: 0, SlaStatus.WARNING: 1, SlaStatus.BREACHED: 2}
_MARKS = {A.MARK_YELLOW: SlaStatus.WARNING, A.MARK_RED: SlaStatus.BREACHED}
_SUPERVISION = {A.SUPERVISE_COUNTY: Supervision.COUNTY, A.SUPERVISE_CITY: Supervision.CITY}
EVENT_OF_KIND = {
    RungKind.WARNING: E.SLA_WARNING,
    RungKind.BREACH: E.SLA_BREACH,
    RungKind.OVERDUE: E.SLA_OVERDUE,
}


async def fire_rung(ctx: Ctx, row: Deadline, rung: Rung) -> None:
    case = ctx.case
    for action in rung.actions:
        mark = _MARKS.get(action)
        if mark is not None and _RANK[mark] > _RANK[case.sla_status]:
            case.sla_status = mark
    base = {"step": row.step, "rung": row.rung, "deadline_id": row.id}
    ctx.record(
        EVENT_OF_KIND[rung.kind],
        {
            **base,
            "due_at": row.due_at.isoformat(),
            "estimated": row.estimated,
            "actions": [a.value for a in rung.actions],
        },
    )
    for action in rung.actions:
        if action in _MARKS:
            continue
        detail = await _EFFECTS[action](ctx, action)
        ctx.record(E.SLA_ESCALATION, {**base, "action": action.value, **detail})


def reach(ctx: Ctx, start: Rank) -> dict[str, Any]:
    """Walk the case's escalation chain from `start`: the department's own people take
    the task over (pushed to their phone), a command centre is told. The payload names
    who was reached and everyone passed over, with the reason."""
    case = ctx.case
    found = fall_through(contacts_for(ctx.ref, case), start, holder_staff_id=case.assigned_staff_id)
    detail = found.as_payload()
    if found.contact is None:
        return {"staff_id": None, "outcome": UNREACHABLE, **detail}
    if found.takes_the_task:
        previous, case.assigned_staff_id = case.assigned_staff_id, found.contact.staff_id
        return {
            "staff_id": case.assigned_staff_id,
            "previous_staff_id": previous,
            "outcome": "pushed",
            **detail,
        }
    return {"staff_id": found.contact.staff_id, "outcome": "notified", **detail}


async def _push(ctx: Ctx, action: RungAction) -> dict[str, Any]:
    return reach(ctx, START_OF[action])


async def _flag_township(ctx: Ctx, action: RungAction) -> dict[str, Any]:
    return {"township_id": ctx.case.township_id, **reach(ctx, START_OF[action])}


async def _supervise(ctx: Ctx, action: RungAction) -> dict[str, Any]:
    level = _SUPERVISION[action]
    if ctx.case.supervision is not Supervision.CITY:  # the city's supervision stays
        ctx.case.supervision = level
    return {"supervision": ctx.case.supervision, **reach(ctx, START_OF[action])}


async def _raise_whistle(ctx: Ctx, action: RungAction) -> dict[str, Any]:
    case = ctx.case
    level = case.whistle_level or 1
    if case.state not in WITH_DEPARTMENT or level >= 3:
        return {"outcome": f"not raised: level {level}, {case.state}"}
    try:
        await route_case(
            ctx,
            Action.ESCALATE,
            tier=TIER_OF_WHISTLE_LEVEL[level + 1],
            note=f"overdue: whistle raised from level {level} by the SLA engine",
        )
    except HubError as exc:
        # Nobody to raise it to (e.g. the entry forbids the tier): the breach and the
        # supervision stand, and the timeline says why the whistle did not move.
        return {"outcome": f"not raised: {exc}"}
    raised = {"from_level": level, "to_level": case.whistle_level}
    if case.assigned_staff_id is not None:
        return {"outcome": "raised", "staff_id": case.assigned_staff_id, **raised}
    # Routing found nobody at the new department: someone up its chain must hear of it.
    return {**reach(ctx, Rank.B_POST), **raised, "raised": True}


_EFFECTS = {
    A.PUSH_BACKUP: _push,
    A.PUSH_LEADER: _push,
    A.FLAG_TOWNSHIP: _flag_township,
    A.SUPERVISE_COUNTY: _supervise,
    A.SUPERVISE_CITY: _supervise,
    A.RAISE_WHISTLE: _raise_whistle,
}
