"""The case actions of the API (creation and the state machine's actions). Every change to
a case, these and the SLA engine's rungs and recalculations alike, runs in a unit of work
(`cases/unit.py`): the change, its events through the one event insert and its deadline
rows commit together; publishing is woken after commit. Creation is the same shape with
group commit (`cases/writer.py`)."""

from __future__ import annotations

import hashlib

from sqlalchemy.exc import IntegrityError
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.auth.principal import Principal
from hub.auth.scope import place_in_scope
from hub.cases import schemas as s
from hub.cases.context import Ctx
from hub.cases.events import EventType as E
from hub.cases.handlers import HANDLERS
from hub.cases.machine import (
    Action,
    CaseState,
    IllegalTransition,
    case_actions,
)
from hub.cases.models import Case, new_case
from hub.cases.queries import lock_case
from hub.cases.routing_step import route_case
from hub.cases.unit import unit_of_work
from hub.clock import perf_counter
from hub.errors import Conflict, Forbidden, Unprocessable
from hub.ports import Services
from hub.sla.arming import planned_for, sync_deadlines


def _fingerprint(data: s.CaseCreate) -> str:
    return hashlib.sha256(data.model_dump_json().encode()).hexdigest()


async def _existing(session: AsyncSession, actor: Principal, key: str) -> Case | None:
    stmt = select(Case).where(Case.created_by == actor.user_id, Case.idempotency_key == key)
    return (await session.exec(stmt)).first()


def _same_request(case: Case, data: s.CaseCreate) -> Case:
    if case.idempotency_fingerprint != _fingerprint(data):
        raise Conflict(
            "Idempotency-Key was already used for a different case body",
            kind="idempotency_reuse",
            case_id=case.id,
        )
    return case


async def create_case(
    hub: Services, actor: Principal, data: s.CaseCreate, *, idempotency_key: str | None = None
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
    hub: Services, actor: Principal, data: s.CaseCreate, key: str | None
) -> tuple[Case, bool]:
    started = perf_counter()
    # Everything the case needs is looked up before the write transaction starts, so the
    # transaction (SQLite's single writer) holds only the writes.
    ref = await hub.reference.get()
    place = ref.grids.get(data.grid_code)
    if place is None:
        raise Unprocessable("grid_code", f"unknown grid {data.grid_code!r}")
    if not place_in_scope(actor, place):
        raise Forbidden(
            f"grid {data.grid_code} is outside your region", kind="scope", field="grid_code"
        )
    entry = None
    if data.category_code:
        entry = ref.current.get(data.category_code)
        if entry is None:
            raise Unprocessable("category_code", f"unknown category {data.category_code!r}")
    now = hub.clock.now()
    case = new_case(
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
    # Routing is pure and the reference data in memory: the case and its events are built
    # here, and the writer inserts them in a group commit (it gives the id and the chain).
    ctx = Ctx(None, actor, case, now, before={}, ref=ref, pending=[])
    ctx.record(E.CREATED, {"source": data.source.value})
    if entry is not None:
        await route_case(ctx, Action.DISPATCH, automatic=True)
    stored, created = await hub.writer.submit(case, ctx.pending, planned_for(case, ref.calendar))
    if not created:
        return _same_request(stored, data), False
    hub.metrics.cases_created.labels(tier=str(stored.tier or "unrouted")).inc()
    hub.metrics.action_seconds.labels(action="create").observe(perf_counter() - started)
    return stored, True


async def perform(
    hub: Services, actor: Principal, case_id: int, action: Action, body: s.Versioned
) -> Case:
    started = perf_counter()
    ref = await hub.reference.get()
    async with unit_of_work(hub.db, hub.committed) as unit:
        session = unit.session
        case = await lock_case(session, case_id, actor)
        if body.version != case.version:
            raise Conflict(
                f"stale version {body.version}: the case is at version {case.version}",
                kind="stale_version",
                state=case.state.value,
                version=case.version,
                allowed_actions=_offered(actor, case_actions(case.state, case.whistle_level)),
            )
        ctx = unit.ctx(actor, case, hub.clock.now(), ref)
        try:
            await HANDLERS[action](ctx, body)
        except IllegalTransition as exc:
            raise Conflict(
                str(exc),
                kind="illegal_transition",
                action=exc.action.value,
                state=exc.state.value,
                version=case.version,
                # The case's own actions (its whistle level too), not only its state's.
                allowed_actions=_offered(actor, case_actions(exc.state, case.whistle_level)),
            ) from exc
        # The deadline rows follow the case's clocks in the same transaction.
        await sync_deadlines(session, case, ref.calendar)
    if case.state is CaseState.CLOSED and action is Action.CLOSE:
        hub.metrics.cases_closed.labels(tier=str(case.tier or "unrouted")).inc()
    hub.metrics.action_seconds.labels(action=action.value).observe(perf_counter() - started)
    return case


def _offered(actor: Principal, actions: list[Action]) -> list[str]:
    # The buttons the caller's screen should now show: the case view's allowed_actions.
    return [a.value for a in actions if actor.can(a)]
