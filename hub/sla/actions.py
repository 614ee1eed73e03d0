"""What firing one rung does to its case: the events and the escalation's effects. Runs
inside the engine's transaction, under the case's row lock, like any case action."""

from __future__ import annotations

from typing import Any

from hub.cases.context import Ctx
from hub.cases.machine import WITH_DEPARTMENT, Action
from hub.cases.routing_step import route_case
from hub.enums import TIER_OF_WHISTLE_LEVEL, SlaStatus, Supervision
from hub.errors import HubError
from hub.sla.ladder import Rung, RungAction, RungKind
from hub.sla.models import Deadline

A = RungAction
_RANK = {SlaStatus.OK: 0, SlaStatus.WARNING: 1, SlaStatus.BREACHED: 2}
_MARKS = {A.MARK_YELLOW: SlaStatus.WARNING, A.MARK_RED: SlaStatus.BREACHED}
_SUPERVISION = {A.SUPERVISE_COUNTY: Supervision.COUNTY, A.SUPERVISE_CITY: Supervision.CITY}
EVENT_OF_KIND = {
    RungKind.WARNING: "sla_warning",
    RungKind.BREACH: "sla_breach",
    RungKind.OVERDUE: "sla_overdue",
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
        ctx.record("sla_escalation", {**base, "action": action.value, **detail})


def _reassign(ctx: Ctx, staff_id: int | None, why: str) -> dict[str, Any]:
    case = ctx.case
    if staff_id is None:
        return {"staff_id": None, "outcome": f"no {why} on duty"}
    if staff_id == case.assigned_staff_id:
        return {"staff_id": staff_id, "outcome": f"the {why} already holds the task"}
    previous, case.assigned_staff_id = case.assigned_staff_id, staff_id
    return {"staff_id": staff_id, "previous_staff_id": previous, "outcome": "pushed"}


async def _push_backup(ctx: Ctx, action: RungAction) -> dict[str, Any]:
    case = ctx.case
    staff = (
        ctx.ref.backup_post(case.department_id, case.township_id)
        if case.department_id is not None
        else None
    )
    return _reassign(ctx, staff, "B post")


async def _push_leader(ctx: Ctx, action: RungAction) -> dict[str, Any]:
    dept = ctx.case.department_id
    return _reassign(ctx, ctx.ref.leaders.get(dept) if dept else None, "leader")


async def _flag_township(ctx: Ctx, action: RungAction) -> dict[str, Any]:
    return {"township_id": ctx.case.township_id}


async def _supervise(ctx: Ctx, action: RungAction) -> dict[str, Any]:
    level = _SUPERVISION[action]
    if ctx.case.supervision is not Supervision.CITY:  # the city's supervision stays
        ctx.case.supervision = level
    return {"supervision": ctx.case.supervision}


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
    return {"outcome": "raised", "from_level": level, "to_level": case.whistle_level}


_EFFECTS = {
    A.PUSH_BACKUP: _push_backup,
    A.PUSH_LEADER: _push_leader,
    A.FLAG_TOWNSHIP: _flag_township,
    A.SUPERVISE_COUNTY: _supervise,
    A.SUPERVISE_CITY: _supervise,
    A.RAISE_WHISTLE: _raise_whistle,
}
