"""Assessment and report routes. A region's figures are for callers whose own region it is
or lies above it (a township sees its own; the county its townships and departments; an
auditor everything in their region); anywhere else answers 404 as if it did not exist."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func
from sqlmodel import col, select

from hub.assessment import render
from hub.assessment.indicators import all_indicators
from hub.assessment.models import AssessmentScheme
from hub.assessment.periods import Period, PeriodKind, custom, local_day, period_of
from hub.assessment.reports import REPORT_KINDS, rankings, report, unassessed
from hub.assessment.schemes import (
    COMPONENTS,
    DEFAULT_FROM,
    DEFAULTS,
    SchemeError,
    SchemeKind,
    validate,
)
from hub.assessment.service import ASSESSED_TIERS, by_child_region, by_department, load, window
from hub.auth.deps import CurrentUser
from hub.auth.scope import region_in_scope
from hub.deps import HubDep
from hub.errors import NotFound, Unprocessable
from hub.regions.models import Region
from hub.regions.queries import region_by_code

router = APIRouter(tags=["assessment"])
Code = Annotated[str, Path(pattern=r"^\d{4,9}$", description="a city, county or township code")]
# Periods are whole days in China Standard Time, within the years the calendar knows.
Day = Annotated[date | None, Query(ge=date(2000, 1, 1), le=date(2100, 12, 31))]


async def _region(hub: HubDep, user: CurrentUser, code: str) -> Region:
    if not region_in_scope(user, code):
        raise NotFound(f"no region with code {code!r}", field="region")
    async with hub.db.read() as session:
        region = await region_by_code(session, code)
    if region.tier not in ASSESSED_TIERS:
        raise Unprocessable("code", "assessment is by city, county or township")
    return region


def _period(
    hub: HubDep, kind: PeriodKind, day: date | None, first: date | None, last: date | None
) -> Period:
    if kind is PeriodKind.CUSTOM:
        if first is None or last is None:
            raise Unprocessable("start", "a custom period needs start and end dates")
        try:
            return custom(first, last)
        except ValueError as exc:
            raise Unprocessable("end", str(exc)) from exc
    if first is not None or last is not None:
        raise Unprocessable("start", "start and end are for period=custom; give date instead")
    return period_of(kind, day or local_day(hub.clock.now()))


PeriodParam = Annotated[PeriodKind, Query(alias="period", description="day, week, month, custom")]


@router.get("/assessment/{code}/indicators")
async def indicators(
    code: Code,
    hub: HubDep,
    user: CurrentUser,
    kind: PeriodParam = PeriodKind.MONTH,
    day: Annotated[Day, Query(alias="date", description="a day in the period (CST)")] = None,
    start: Day = None,
    end: Day = None,
) -> dict[str, Any]:
    """The region's indicators for the period, with each child region's and department's
    (numerator, denominator and value of each; docs/assessment.md defines them)."""
    region = await _region(hub, user, code)
    period = _period(hub, kind, day, start, end)
    now = hub.clock.now()
    async with hub.db.read() as session:
        rows = await load(session, region, period.start, period.end)
    w = window(period, now)

    def out(groups: dict[int, Any], names: dict[int, Any]) -> list[dict[str, Any]]:
        return [
            {
                "id": k,
                "name": {"zh": names[k].name_zh, "en": names[k].name_en} if k in names else None,
                "indicators": {n: r.as_dict() for n, r in v.items()},
            }
            for k, v in groups.items()
        ]

    return {
        "region": {"id": region.id, "code": region.code, "name_zh": region.name_zh},
        "period": period.as_dict(),
        "indicators": {
            n: r.as_dict() for n, r in all_indicators(rows.cases, rows.spells, w).items()
        },
        "regions": out(by_child_region(rows, w), rows.regions),
        "departments": out(by_department(rows, w), rows.departments),
    }


@router.get("/assessment/{code}/rankings")
async def get_rankings(
    code: Code,
    hub: HubDep,
    user: CurrentUser,
    kind: PeriodParam = PeriodKind.MONTH,
    day: Annotated[Day, Query(alias="date")] = None,
    start: Day = None,
    end: Day = None,
    department_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
) -> dict[str, Any]:
    """Departments and townships (or counties) of the region ranked by their scheme's score,
    with the previous period's rank and the change; with `department_id`, its staff too."""
    region = await _region(hub, user, code)
    period = _period(hub, kind, day, start, end)
    now = hub.clock.now()
    async with hub.db.read() as session:
        out = await rankings(session, region, period, now, department_id)
    return {"period": period.as_dict(), "previous_period": period.previous().as_dict(), **out}


@router.get("/assessment/{code}/unassessed")
async def get_unassessed(code: Code, hub: HubDep, user: CurrentUser) -> dict[str, Any]:
    """Closed whistles (level 2 and 3) of the last 90 days the township has not assessed
    within three days of closing: the township leader's list to work through."""
    region = await _region(hub, user, code)
    now = hub.clock.now()
    async with hub.db.read() as session:
        rows = await load(session, region, now - timedelta(days=90), now)
        items = await unassessed(session, rows, now)
    return {"items": items}


Format = Literal["json", "xlsx", "csv"]


@router.get(
    "/reports/{code}/{report}",
    responses={200: {"content": {render.XLSX: {}, "text/csv": {}}}},
)
async def get_report(
    code: Code,
    report_kind: Annotated[
        Literal["daily", "weekly", "monthly"],
        Path(alias="report", description="日报/周分析/月汇总"),
    ],
    hub: HubDep,
    user: CurrentUser,
    day: Annotated[Day, Query(alias="date", description="a day in the period (CST)")] = None,
    format: Format = "json",
    lang: Literal["zh", "en"] = "zh",
) -> Any:
    """The daily briefing, weekly analysis or monthly summary of the region and its subtree:
    JSON, an XLSX workbook (one sheet per section) or CSV (every section, one after the
    other)."""
    region = await _region(hub, user, code)
    period = period_of(REPORT_KINDS[report_kind], day or local_day(hub.clock.now()))
    async with hub.db.read() as session:
        body = await report(session, region, period, hub.clock.now())
    if format == "json":
        return body
    name = f"{report_kind}-{region.code}-{period.first.isoformat()}"
    if format == "xlsx":
        return Response(
            render.xlsx(body, lang),
            media_type=render.XLSX,
            headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'},
        )
    return Response(
        render.csv_text(body, lang).encode("utf-8-sig"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


Share = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]


class SchemeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: SchemeKind
    name: str = Field(min_length=1, max_length=200)
    effective_from: date = Field(ge=date(2000, 1, 1), le=date(2100, 12, 31))
    weights: dict[Annotated[str, Field(max_length=40)], Share] = Field(
        max_length=len(COMPONENTS), description="indicator → share of the score (adding up to 1)"
    )


class SchemeOut(BaseModel):
    kind: SchemeKind
    version: int
    name: str
    effective_from: date
    weights: dict[str, float]


@router.get("/assessment/schemes")
async def list_schemes(hub: HubDep, user: CurrentUser) -> dict[str, list[SchemeOut]]:
    """Every version of every scheme, oldest first; version 0 is the built-in default."""
    out = [
        SchemeOut(kind=k, version=0, name=n, effective_from=DEFAULT_FROM, weights=w)
        for k, (n, w) in DEFAULTS.items()
    ]
    async with hub.db.read() as session:
        stmt = select(AssessmentScheme).order_by(
            col(AssessmentScheme.kind), col(AssessmentScheme.version)
        )
        for row in (await session.exec(stmt)).all():
            out.append(
                SchemeOut(
                    kind=SchemeKind(row.kind),
                    version=row.version,
                    name=row.name,
                    effective_from=row.effective_from,
                    weights=row.weights,
                )
            )
    return {"items": out}


@router.post("/assessment/schemes", status_code=201)
async def create_scheme(body: SchemeIn, hub: HubDep, user: CurrentUser) -> SchemeOut:
    """A new version of a kind's scheme, in force from `effective_from` (periods already
    scored before it keep the version they were scored by)."""
    try:
        weights = validate(body.kind, body.weights)
    except SchemeError as exc:
        raise Unprocessable("weights", str(exc)) from exc
    async with hub.db.transaction() as session:
        stmt = select(func.max(AssessmentScheme.version)).where(
            AssessmentScheme.kind == body.kind.value
        )
        latest = (await session.exec(stmt)).one() or 0
        row = AssessmentScheme(
            kind=body.kind.value,
            version=latest + 1,
            effective_from=body.effective_from,
            name=body.name,
            weights=weights,
            created_at=hub.clock.now(),
            created_by=user.username,
        )
        session.add(row)
    return SchemeOut(
        kind=body.kind,
        version=row.version,
        name=row.name,
        effective_from=row.effective_from,
        weights=weights,
    )


__all__ = ["router"]
