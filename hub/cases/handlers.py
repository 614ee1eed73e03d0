"""One handler per case action: check the transition, change the case, record the event.
They run inside `actions.perform`'s transaction and never commit themselves."""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select

from hub.attachments.models import Attachment
from hub.cases import schemas as s
from hub.cases.context import Ctx
from hub.cases.events import EventType as E
from hub.cases.machine import (
    MAX_WHISTLE_LEVEL,
    OPEN_STATES,
    Action,
    IllegalTransition,
    next_state,
)
from hub.cases.models import Case
from hub.cases.queries import lock_case
from hub.cases.routing_step import route_case
from hub.cases.timeline import snapshot
from hub.enums import TIER_OF_WHISTLE_LEVEL, Satisfaction
from hub.errors import NotFound, Unprocessable
from hub.sla.arming import set_due
from hub.sla.assessment import (
    ASSESSED,
    ORIGINAL_FIELD,
    earliest_originals,
    effect_payload,
    lateness_s,
    met_resolve,
    running_clocks,
)
from hub.sla.ladder import Step


def _move(ctx: Ctx, action: Action) -> None:
    ctx.case.state = next_state(ctx.case.state, action)


async def _classify(ctx: Ctx, body: s.Versioned) -> None:
    assert isinstance(body, s.Classify)
    _move(ctx, Action.CLASSIFY)
    entry = ctx.ref.current.get(body.category_code)
    if entry is None:
        raise Unprocessable("category_code", f"unknown category {body.category_code!r}")
    ctx.case.category_code, ctx.case.catalogue_entry_id = entry.code, entry.id
    ctx.record(E.CLASSIFIED, {"category_code": entry.code, "entry_version": entry.version})
    await route_case(ctx, Action.DISPATCH, automatic=True)


async def _dispatch(ctx: Ctx, body: s.Versioned) -> None:
    assert isinstance(body, s.Dispatch)
    next_state(ctx.case.state, Action.DISPATCH)  # refuse early, before any lookup
    if body.category_code:
        entry = ctx.ref.current.get(body.category_code)
        if entry is None:
            raise Unprocessable("category_code", f"unknown category {body.category_code!r}")
        ctx.case.category_code, ctx.case.catalogue_entry_id = entry.code, entry.id
    await route_case(ctx, Action.DISPATCH, department_id=body.department_id, staff_id=body.staff_id)


async def _transfer(ctx: Ctx, body: s.Versioned) -> None:
    assert isinstance(body, s.Transfer)
    next_state(ctx.case.state, Action.TRANSFER)
    await route_case(
        ctx,
        Action.TRANSFER,
        department_id=body.department_id,
        staff_id=body.staff_id,
        note=body.reason,
    )


async def _escalate(ctx: Ctx, body: s.Versioned) -> None:
    assert isinstance(body, s.Reason)
    next_state(ctx.case.state, Action.ESCALATE)
    level = ctx.case.whistle_level or 1
    if level >= MAX_WHISTLE_LEVEL:
        raise IllegalTransition(
            ctx.case.state,
            Action.ESCALATE,
            why=f"the whistle is already at level {MAX_WHISTLE_LEVEL}",
        )
    await route_case(ctx, Action.ESCALATE, tier=TIER_OF_WHISTLE_LEVEL[level + 1], note=body.reason)


async def _confirm(ctx: Ctx, body: s.Versioned) -> None:
    assert isinstance(body, s.Note)
    next_state(ctx.case.state, Action.CONFIRM_WHISTLE)
    # Confirm the whistle as it was raised: same tier and department, now with its clock.
    await route_case(
        ctx,
        Action.CONFIRM_WHISTLE,
        tier=ctx.case.tier,
        department_id=ctx.case.department_id,
        confirmed=True,
        note=body.note,
    )


async def _acknowledge(ctx: Ctx, body: s.Versioned) -> None:
    assert isinstance(body, s.Note)
    _move(ctx, Action.ACKNOWLEDGE)
    if ctx.case.assigned_staff_id is None and ctx.actor.staff_id is not None:
        ctx.case.assigned_staff_id = ctx.actor.staff_id
    ctx.case.acknowledged_at = ctx.now
    ctx.record(E.ACKNOWLEDGED, {"note": body.note})


async def _check_in(ctx: Ctx, body: s.Versioned) -> None:
    assert isinstance(body, s.CheckIn)
    _move(ctx, Action.CHECK_IN)
    ctx.case.checked_in_at = ctx.now
    ctx.record(E.CHECKED_IN, {"lat": body.lat, "lon": body.lon, "note": body.note})


async def _resolve(ctx: Ctx, body: s.Versioned) -> None:
    assert isinstance(body, s.Note)  # a Resolve from the API; a plain note from the demo
    _move(ctx, Action.RESOLVE)
    photos = await _photos(ctx, body.attachment_ids if isinstance(body, s.Resolve) else [])
    ctx.case.resolved_at = ctx.now
    set_due(ctx.case, [Step.VERIFY], ctx.ref.calendar)  # the township's clock starts
    payload: dict[str, Any] = {"note": body.note}
    if photos:
        payload["attachments"] = photos
    ctx.record(E.RESOLVED, payload)


async def _photos(ctx: Ctx, ids: list[int]) -> list[dict[str, Any]]:
    if not ids:
        return []
    if len(set(ids)) != len(ids):
        raise Unprocessable("attachment_ids", "an attachment is listed twice")
    assert ctx.session is not None
    stmt = select(Attachment).where(col(Attachment.id).in_(ids), Attachment.case_id == ctx.case.id)
    found = {a.id: a for a in (await ctx.session.exec(stmt)).all()}
    missing = [i for i in ids if i not in found]
    if missing:
        raise Unprocessable("attachment_ids", f"attachment {missing[0]} is not of this case")
    return [
        {"id": i, "sha256": found[i].sha256, "content_type": found[i].content_type} for i in ids
    ]


async def _verify(ctx: Ctx, body: s.Versioned) -> None:
    assert isinstance(body, s.Note)
    _move(ctx, Action.VERIFY)
    ctx.case.verified_at = ctx.now
    ctx.record(E.VERIFIED, {"note": body.note})


async def _reject(ctx: Ctx, body: s.Versioned) -> None:
    assert isinstance(body, s.Reason)
    late, clocks = lateness_s(ctx.case, ctx.now), running_clocks(ctx.case)
    _move(ctx, Action.REJECT)
    ctx.case.rework_count += 1
    ctx.case.resolved_at = ctx.case.verify_due_at = None
    ctx.case.checked_in_at = None
    # Rework is a new run of the department's on-site and resolve clocks; assessment
    # still judges the case by its original due times (a rejected result is no result).
    ctx.case.clock_started_at = ctx.case.resolve_started_at = ctx.now
    set_due(ctx.case, [Step.CHECKIN, Step.RESOLVE], ctx.ref.calendar)
    ctx.record(
        E.REJECTED,
        {
            "reason": body.reason,
            "rework": ctx.case.rework_count,
            "deadlines": effect_payload(ctx.case, clocks, running_clocks(ctx.case), late),
        },
    )


async def _close(ctx: Ctx, body: s.Versioned) -> None:
    assert isinstance(body, s.Note)
    _move(ctx, Action.CLOSE)
    ctx.case.closed_at = ctx.now
    ctx.record(E.CLOSED, {"note": body.note})


async def _return(ctx: Ctx, body: s.Versioned) -> None:
    assert isinstance(body, s.Reason)
    late, clocks = lateness_s(ctx.case, ctx.now), running_clocks(ctx.case)
    _move(ctx, Action.RETURN)
    payload: dict[str, Any] = {"reason": body.reason, "department_id": ctx.case.department_id}
    _clear_assignment(ctx.case)
    payload["deadlines"] = effect_payload(ctx.case, clocks, running_clocks(ctx.case), late)
    ctx.record(E.RETURNED, payload)


async def _reopen(ctx: Ctx, body: s.Versioned) -> None:
    assert isinstance(body, s.Reason)
    late = lateness_s(ctx.case, ctx.now)
    # A case resolved in time may be given new due times; one resolved late keeps its
    # originals, so reopening it cannot make it count as on time.
    renewed = met_resolve(ctx.case)
    _move(ctx, Action.REOPEN)
    _clear_assignment(ctx.case)
    ctx.case.resolved_at = ctx.case.verified_at = ctx.case.closed_at = None
    if renewed:
        for step in ASSESSED:
            setattr(ctx.case, ORIGINAL_FIELD[step], None)
    ctx.record(
        E.REOPENED,
        {"reason": body.reason, "deadlines": {"originals_renewed": renewed, "late_s": late}},
    )
    await route_case(ctx, Action.DISPATCH, automatic=True)


async def _merge(ctx: Ctx, body: s.Versioned) -> None:
    assert isinstance(body, s.Merge)
    next_state(ctx.case.state, Action.MERGE)
    if body.into_case_id == ctx.case.id:
        raise Unprocessable("into_case_id", "a case cannot be merged into itself")
    assert ctx.session is not None
    try:
        target = await lock_case(ctx.session, body.into_case_id, ctx.actor)
    except NotFound as exc:
        raise Unprocessable("into_case_id", f"no case {body.into_case_id}") from exc
    if target.state not in OPEN_STATES:
        raise Unprocessable("into_case_id", f"case {target.id} is {target.state}, not open")
    late, clocks = lateness_s(ctx.case, ctx.now), running_clocks(ctx.case)
    _move(ctx, Action.MERGE)
    ctx.case.merged_into_id = target.id
    _clear_assignment(ctx.case)
    deadlines = effect_payload(ctx.case, clocks, running_clocks(ctx.case), late)
    ctx.record(E.MERGED, {"into_case_id": target.id, "deadlines": deadlines})
    target_ctx = Ctx(
        ctx.session, ctx.actor, target, ctx.now, snapshot(target), ctx.ref, ctx.pending
    )
    # The merged report's lateness goes with it: the target is assessed by the earlier
    # of the two cases' original due times.
    taken = earliest_originals(target, ctx.case)
    target_ctx.record(
        E.MERGED_FROM,
        {
            "case_id": ctx.case.id,
            "title": ctx.case.title,
            "deadlines": {"originals_taken": taken, "late_s": lateness_s(target, ctx.now)},
        },
    )


async def _cancel(ctx: Ctx, body: s.Versioned) -> None:
    assert isinstance(body, s.Reason)
    late = lateness_s(ctx.case, ctx.now)
    _move(ctx, Action.CANCEL)
    _clear_assignment(ctx.case)
    ctx.record(E.CANCELLED, {"reason": body.reason, "deadlines": {"late_s": late}})


async def _evaluate(ctx: Ctx, body: s.Versioned) -> None:
    assert isinstance(body, s.Evaluate)
    _move(ctx, Action.EVALUATE)
    ctx.case.township_score = body.township_score
    ctx.case.resident_satisfaction = body.resident_satisfaction
    ctx.record(E.EVALUATED, body.model_dump(mode="json", exclude={"version"}))


async def _follow_up(ctx: Ctx, body: s.Versioned) -> None:
    assert isinstance(body, s.FollowUp)
    if body.reopen and body.satisfaction is not Satisfaction.UNSATISFIED:
        raise Unprocessable("reopen", "only an unsatisfied follow-up may reopen the case")
    if body.reopen and not body.reason:
        raise Unprocessable("reason", "say why the resident is unsatisfied to reopen the case")
    _move(ctx, Action.FOLLOW_UP)
    ctx.record(E.FOLLOWED_UP, body.model_dump(mode="json", exclude={"version"}))
    if body.reopen:
        await _reopen(ctx, s.Reason(version=body.version, reason=body.reason))


def _clear_assignment(case: Case) -> None:
    case.assigned_staff_id = None
    case.department_id = None
    case.ack_due_at = case.checkin_due_at = case.resolve_due_at = None
    case.verify_due_at = case.confirm_due_at = case.clock_started_at = None
    case.resolve_started_at = None
    case.deadlines_estimated = False
    # The original due times stay: they are what the case is assessed by.


HANDLERS = {
    Action.CLASSIFY: _classify,
    Action.DISPATCH: _dispatch,
    Action.CONFIRM_WHISTLE: _confirm,
    Action.ACKNOWLEDGE: _acknowledge,
    Action.CHECK_IN: _check_in,
    Action.RESOLVE: _resolve,
    Action.VERIFY: _verify,
    Action.REJECT: _reject,
    Action.CLOSE: _close,
    Action.RETURN: _return,
    Action.TRANSFER: _transfer,
    Action.ESCALATE: _escalate,
    Action.REOPEN: _reopen,
    Action.MERGE: _merge,
    Action.CANCEL: _cancel,
    Action.EVALUATE: _evaluate,
    Action.FOLLOW_UP: _follow_up,
}
