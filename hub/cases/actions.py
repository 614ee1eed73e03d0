"""The only code that changes cases. Each action writes the change and its event in one
transaction; anything outside the database happens after commit."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from time import perf_counter
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.auth.scope import place_in_scope
from hub.auth.service import Principal
from hub.cases import schemas as s
from hub.cases.machine import (
    OPEN_STATES,
    Action,
    CaseState,
    IllegalTransition,
    allowed_actions,
    next_state,
)
from hub.cases.models import Case, CaseEvent
from hub.cases.routing_step import route_case
from hub.cases.service import lock_case
from hub.cases.timeline import append_event, snapshot
from hub.deps import Hub
from hub.dispatch.reference import Reference
from hub.enums import TIER_OF_WHISTLE_LEVEL
from hub.errors import Conflict, Forbidden, NotFound, Unprocessable


@dataclass
class Ctx:
    hub: Hub
    session: AsyncSession
    actor: Principal
    case: Case
    now: datetime
    before: dict[str, Any]
    ref: Reference

    def record(self, type: str, payload: dict[str, Any] | None = None) -> CaseEvent:
        event = append_event(
            self.session,
            self.case,
            before=self.before,
            type=type,
            actor_id=self.actor.user_id,
            actor=self.actor.actor,
            at=self.now,
            payload=payload,
        )
        self.before = snapshot(self.case)
        return event


def _fingerprint(data: s.CaseCreate) -> str:
    return hashlib.sha256(data.model_dump_json().encode()).hexdigest()


async def _existing(session: AsyncSession, actor: Principal, key: str) -> Case | None:
    stmt = select(Case).where(Case.created_by == actor.user_id, Case.idempotency_key == key)
    return (await session.exec(stmt)).first()


def _same_request(case: Case, data: s.CaseCreate) -> Case:
    if case.idempotency_fingerprint != _fingerprint(data):
        raise Conflict(
            "Idempotency-Key was already used for a different case body", case_id=case.id
        )
    return case


async def create_case(
    hub: Hub, actor: Principal, data: s.CaseCreate, *, idempotency_key: str | None = None
) -> tuple[Case, bool]:
    """Returns the case and whether it was created now (False: an idempotent retry)."""
    try:
        return await _create(hub, actor, data, idempotency_key)
    except IntegrityError:
        if idempotency_key is None:
            raise
        # A concurrent retry with the same key committed first: answer with its case.
        async with hub.db.read() as session:
            case = await _existing(session, actor, idempotency_key)
        if case is None:
            raise
        return _same_request(case, data), False


async def _create(
    hub: Hub, actor: Principal, data: s.CaseCreate, key: str | None
) -> tuple[Case, bool]:
    started = perf_counter()
    # Everything the case needs is looked up before the write transaction starts, so the
    # transaction (SQLite's single writer) holds only the writes.
    ref = await hub.reference.get()
    place = ref.grids.get(data.grid_code)
    if place is None:
        raise Unprocessable("grid_code", f"unknown grid {data.grid_code!r}")
    if not place_in_scope(actor, place):
        raise Forbidden(f"grid {data.grid_code} is outside your region", field="grid_code")
    entry = None
    if data.category_code:
        entry = ref.current.get(data.category_code)
        if entry is None:
            raise Unprocessable("category_code", f"unknown category {data.category_code!r}")
    async with hub.db.transaction() as session:
        if key is not None and (found := await _existing(session, actor, key)) is not None:
            return _same_request(found, data), False
        now = hub.clock.now()
        case = Case(
            title=data.title,
            description=data.description,
            category_code=entry.code if entry else None,
            catalogue_entry_id=entry.id if entry else None,
            grid_id=place.grid_id,
            community_id=place.community_id,
            township_id=place.township_id,
            county_id=place.county_id,
            city_id=place.city_id,
            lat=data.lat,
            lon=data.lon,
            source=data.source,
            reporter=data.reporter,
            priority=data.priority,
            state=CaseState.CLASSIFIED if entry else CaseState.REPORTED,
            created_at=now,
            updated_at=now,
            created_by=actor.user_id,
            idempotency_key=key,
            idempotency_fingerprint=_fingerprint(data) if key else None,
        )
        session.add(case)
        await session.flush()
        ctx = Ctx(hub, session, actor, case, now, before={}, ref=ref)
        ctx.record("created", {"source": data.source.value})
        if entry is not None:
            await route_case(ctx, Action.DISPATCH, automatic=True)
    hub.committed()
    hub.metrics.cases_created.labels(tier=str(case.tier or "unrouted")).inc()
    hub.metrics.action_seconds.labels(action="create").observe(perf_counter() - started)
    return case, True


async def perform(
    hub: Hub, actor: Principal, case_id: int, action: Action, body: s.Versioned
) -> Case:
    started = perf_counter()
    ref = await hub.reference.get()
    async with hub.db.transaction() as session:
        case = await lock_case(session, case_id, actor)
        if body.version != case.version:
            raise Conflict(
                f"stale version {body.version}: the case is at version {case.version}",
                state=case.state.value,
                version=case.version,
                allowed_actions=[a.value for a in _allowed(case)],
            )
        ctx = Ctx(hub, session, actor, case, hub.clock.now(), before=snapshot(case), ref=ref)
        try:
            await HANDLERS[action](ctx, body)
        except IllegalTransition as exc:
            raise Conflict(
                str(exc),
                state=exc.state.value,
                version=case.version,
                allowed_actions=[a.value for a in exc.allowed],
            ) from exc
    hub.committed()
    if case.state is CaseState.CLOSED and action is Action.CLOSE:
        hub.metrics.cases_closed.labels(tier=str(case.tier or "unrouted")).inc()
    hub.metrics.action_seconds.labels(action=action.value).observe(perf_counter() - started)
    return case


def _allowed(case: Case) -> list[Action]:
    return allowed_actions(case.state)


def _move(ctx: Ctx, action: Action) -> None:
    ctx.case.state = next_state(ctx.case.state, action)


async def _classify(ctx: Ctx, body: s.Versioned) -> None:
    assert isinstance(body, s.Classify)
    _move(ctx, Action.CLASSIFY)
    entry = ctx.ref.current.get(body.category_code)
    if entry is None:
        raise Unprocessable("category_code", f"unknown category {body.category_code!r}")
    ctx.case.category_code, ctx.case.catalogue_entry_id = entry.code, entry.id
    ctx.record("classified", {"category_code": entry.code, "entry_version": entry.version})
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
    if level >= 3:
        raise Conflict("the whistle is already at level 3", state=ctx.case.state.value)
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
    ctx.record("acknowledged", {"note": body.note})


async def _check_in(ctx: Ctx, body: s.Versioned) -> None:
    assert isinstance(body, s.CheckIn)
    _move(ctx, Action.CHECK_IN)
    ctx.case.checked_in_at = ctx.now
    ctx.record("checked_in", {"lat": body.lat, "lon": body.lon, "note": body.note})


async def _resolve(ctx: Ctx, body: s.Versioned) -> None:
    assert isinstance(body, s.Note)
    _move(ctx, Action.RESOLVE)
    ctx.case.resolved_at = ctx.now
    ctx.record("resolved", {"note": body.note})


async def _verify(ctx: Ctx, body: s.Versioned) -> None:
    assert isinstance(body, s.Note)
    _move(ctx, Action.VERIFY)
    ctx.case.verified_at = ctx.now
    ctx.record("verified", {"note": body.note})


async def _reject(ctx: Ctx, body: s.Versioned) -> None:
    assert isinstance(body, s.Reason)
    _move(ctx, Action.REJECT)
    ctx.case.rework_count += 1
    ctx.case.resolved_at = None
    ctx.case.checked_in_at = None
    ctx.record("rejected", {"reason": body.reason, "rework": ctx.case.rework_count})


async def _close(ctx: Ctx, body: s.Versioned) -> None:
    assert isinstance(body, s.Note)
    _move(ctx, Action.CLOSE)
    ctx.case.closed_at = ctx.now
    ctx.record("closed", {"note": body.note})


async def _return(ctx: Ctx, body: s.Versioned) -> None:
    assert isinstance(body, s.Reason)
    _move(ctx, Action.RETURN)
    payload = {"reason": body.reason, "department_id": ctx.case.department_id}
    _clear_assignment(ctx.case)
    ctx.record("returned", payload)


async def _reopen(ctx: Ctx, body: s.Versioned) -> None:
    assert isinstance(body, s.Reason)
    _move(ctx, Action.REOPEN)
    _clear_assignment(ctx.case)
    ctx.case.resolved_at = ctx.case.verified_at = ctx.case.closed_at = None
    ctx.record("reopened", {"reason": body.reason})
    await route_case(ctx, Action.DISPATCH, automatic=True)


async def _merge(ctx: Ctx, body: s.Versioned) -> None:
    assert isinstance(body, s.Merge)
    next_state(ctx.case.state, Action.MERGE)
    if body.into_case_id == ctx.case.id:
        raise Unprocessable("into_case_id", "a case cannot be merged into itself")
    try:
        target = await lock_case(ctx.session, body.into_case_id, ctx.actor)
    except NotFound as exc:
        raise Unprocessable("into_case_id", f"no case {body.into_case_id}") from exc
    if target.state not in OPEN_STATES:
        raise Unprocessable("into_case_id", f"case {target.id} is {target.state}, not open")
    _move(ctx, Action.MERGE)
    ctx.case.merged_into_id = target.id
    _clear_assignment(ctx.case)
    ctx.record("merged", {"into_case_id": target.id})
    target_ctx = Ctx(ctx.hub, ctx.session, ctx.actor, target, ctx.now, snapshot(target), ctx.ref)
    target_ctx.record("merged_from", {"case_id": ctx.case.id, "title": ctx.case.title})


async def _cancel(ctx: Ctx, body: s.Versioned) -> None:
    assert isinstance(body, s.Reason)
    _move(ctx, Action.CANCEL)
    _clear_assignment(ctx.case)
    ctx.record("cancelled", {"reason": body.reason})


async def _evaluate(ctx: Ctx, body: s.Versioned) -> None:
    assert isinstance(body, s.Evaluate)
    _move(ctx, Action.EVALUATE)
    ctx.case.township_score = body.township_score
    ctx.case.resident_satisfaction = body.resident_satisfaction
    ctx.record("evaluated", body.model_dump(mode="json", exclude={"version"}))


def _clear_assignment(case: Case) -> None:
    case.assigned_staff_id = None
    case.department_id = None
    case.ack_due_at = case.checkin_due_at = case.resolve_due_at = None


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
}
