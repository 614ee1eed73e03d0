# No `from __future__ import annotations`: the action routes are built in a loop and
# FastAPI must see each body model as a real type, not a string.
import csv
import io
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import datetime
from typing import Annotated, Literal

import orjson
from fastapi import APIRouter, Depends, Header, Path, Query, Response
from fastapi.responses import StreamingResponse

from hub.auth.deps import CurrentUser, require
from hub.auth.permissions import Permission
from hub.auth.principal import Principal
from hub.cases import actions, queries
from hub.cases.machine import Action, CaseState, case_actions
from hub.cases.models import Case
from hub.cases.queries import case_view
from hub.cases.schemas import ACTION_BODIES, CaseCreate, CaseOut, EventOut, Versioned
from hub.clock import SHANGHAI
from hub.deps import HubDep
from hub.schemas import MAX_ID, LocalTime, Page

router = APIRouter(prefix="/cases", tags=["cases"])
CaseId = Annotated[int, Path(ge=1, le=MAX_ID)]


def case_out(case: Case, user: Principal, now: datetime) -> CaseOut:
    out = CaseOut.model_validate(case)
    out.overdue = queries.is_overdue(case, now)
    out.allowed_actions = [a for a in case_actions(case.state, case.whistle_level) if user.can(a)]
    return out


@router.post(
    "",
    status_code=201,
    response_model=CaseOut,
    dependencies=[require(Permission.CASE_CREATE)],
    responses={200: {"description": "an earlier request with the same Idempotency-Key"}},
)
async def create_case(
    body: CaseCreate,
    hub: HubDep,
    user: CurrentUser,
    idempotency_key: Annotated[
        str | None, Header(min_length=1, max_length=200, pattern=r"^[\x21-\x7e]+$")
    ] = None,
) -> Response:
    hub.limits.check_create(f"user:{user.user_id}")
    case, created = await actions.create_case(hub, user, body, idempotency_key=idempotency_key)
    # The hot path of ingest: encoded directly in the documented CaseOut shape (tested)
    # rather than validated into a model and then again by FastAPI.
    view = case_view(case, hub.clock.now())
    del view["city_id"]
    view["allowed_actions"] = [
        a.value for a in case_actions(case.state, case.whistle_level) if user.can(a)
    ]
    return Response(
        orjson.dumps(view), status_code=201 if created else 200, media_type="application/json"
    )


async def case_filters(
    region: Annotated[
        str | None, Query(pattern=r"^\d{4,15}$", description="region code; its subtree")
    ] = None,
    state: Annotated[list[CaseState] | None, Query()] = None,
    department_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    assigned_staff_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    whistle_level: Annotated[int | None, Query(ge=1, le=3)] = None,
    overdue: bool | None = None,
    created_from: LocalTime | None = None,
    created_to: LocalTime | None = None,
) -> queries.CaseFilter:
    """The filters the list and the export share, parsed in one place."""
    return queries.CaseFilter(
        region=region,
        states=tuple(state or ()),
        department_id=department_id,
        assigned_staff_id=assigned_staff_id,
        whistle_level=whistle_level,
        overdue=overdue,
        created_from=created_from,
        created_to=created_to,
    )


CaseFilters = Annotated[queries.CaseFilter, Depends(case_filters)]


@router.get("", response_model=Page[CaseOut])
async def list_cases(
    hub: HubDep,
    user: CurrentUser,
    filters: CaseFilters,
    order: Literal["newest", "oldest"] = "newest",
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[CaseOut]:
    flt = replace(filters, order=order)
    now = hub.clock.now()
    async with hub.db.read() as session:
        rows, next_cursor = await queries.list_cases(
            session, user, flt, now=now, cursor=cursor, limit=limit
        )
    return Page[CaseOut](items=[case_out(c, user, now) for c in rows], next_cursor=next_cursor)


EXPORT_COLUMNS = (
    "id",
    "title",
    "category_code",
    "state",
    "whistle_level",
    "tier",
    "department_id",
    "assigned_staff_id",
    "township_id",
    "grid_id",
    "source",
    "priority",
    "created_at",
    "resolve_due_at",
    "closed_at",
    "township_score",
    "resident_satisfaction",
)
EXPORT_MAX_ROWS = 100_000


@router.get("/export.csv", response_class=StreamingResponse)
async def export_cases(hub: HubDep, user: CurrentUser, filters: CaseFilters) -> StreamingResponse:
    """The monthly summary (月汇总) export: the same scope and filters as the list, oldest
    first, in CSV with times in China Standard Time."""
    flt = replace(filters, order="oldest")
    now = hub.clock.now()
    async with hub.db.read() as session:  # validate the filter before streaming starts
        first, cursor = await queries.list_cases(
            session, user, flt, now=now, cursor=None, limit=500
        )

    async def rows() -> AsyncIterator[str]:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(EXPORT_COLUMNS)
        page, next_cursor, sent = first, cursor, 0
        while True:
            for case in page:
                writer.writerow([_cell(getattr(case, c)) for c in EXPORT_COLUMNS])
            sent += len(page)
            yield out.getvalue()
            out.seek(0)
            out.truncate()
            if next_cursor is None or sent >= EXPORT_MAX_ROWS:
                return
            async with hub.db.read() as session:
                page, next_cursor = await queries.list_cases(
                    session, user, flt, now=now, cursor=next_cursor, limit=500
                )

    return StreamingResponse(
        rows(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": "attachment; filename=cases.csv"},
    )


def _cell(value: object) -> object:
    if isinstance(value, datetime):
        return value.astimezone(SHANGHAI).isoformat(timespec="seconds")
    return getattr(value, "value", value)


@router.get("/{case_id}", response_model=CaseOut)
async def get_case(case_id: CaseId, hub: HubDep, user: CurrentUser) -> CaseOut:
    async with hub.db.read() as session:
        case = await queries.get_case(session, case_id, user)
    return case_out(case, user, hub.clock.now())


@router.get("/{case_id}/events", response_model=list[EventOut])
async def case_events(case_id: CaseId, hub: HubDep, user: CurrentUser) -> list[EventOut]:
    async with hub.db.read() as session:
        events = await queries.case_events(session, case_id, user)
    return [EventOut.model_validate(e) for e in events]


def _add_action_route(action: Action, body_model: type[Versioned]) -> None:
    async def endpoint(
        case_id: CaseId,
        body: body_model,  # type: ignore[valid-type]
        hub: HubDep,
        user: CurrentUser,
    ) -> CaseOut:
        user.check(action)
        case = await actions.perform(hub, user, case_id, action, body)
        return case_out(case, user, hub.clock.now())

    router.add_api_route(
        f"/{{case_id}}/{action.value}",
        endpoint,
        methods=["POST"],
        response_model=CaseOut,
        name=f"case_{action.name.lower()}",
        summary=f"{action.value} a case",
        responses={409: {"description": "illegal in the current state, or a stale version"}},
    )


for _action, _body in ACTION_BODIES.items():
    _add_action_route(_action, _body)
