"""SLA routes: the working calendar (and its loud fallback), entering a year's holidays,
and a case's deadline rows."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import col, select

from hub.auth.deps import CurrentUser, require
from hub.auth.permissions import Permission
from hub.cases.queries import get_case
from hub.deps import HubDep
from hub.errors import Unprocessable
from hub.schemas import LocalTime, PathId
from hub.sla import recalc
from hub.sla.arming import case_deadlines
from hub.sla.engine import flag_unknown_years
from hub.sla.models import CalendarDay

router = APIRouter(tags=["sla"])
Year = Annotated[int, Path(ge=2000, le=2100)]


class CalendarOut(BaseModel):
    # Years counted weekends-only because nobody has entered their holidays: walls show
    # a warning while this is not empty.
    fallback_years: list[int]
    entered_years: list[int]
    working_hours: list[str]


class YearIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    holidays: list[date] = Field(default_factory=list, max_length=366)
    workdays: list[date] = Field(default_factory=list, max_length=366)
    note: str = Field(default="", max_length=100)


class YearOut(BaseModel):
    year: int
    holidays: list[date]
    workdays: list[date]
    recalculated_cases: int


class DeadlineOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    step: str
    rung: int
    kind: str
    started_at: LocalTime
    due_at: LocalTime
    fire_at: LocalTime
    estimated: bool
    status: str
    fired_at: LocalTime | None
    fired_by: str | None


@router.get("/sla/calendar", response_model=CalendarOut)
async def calendar_status(hub: HubDep, _user: CurrentUser) -> CalendarOut:
    calendar = (await hub.reference.get()).calendar
    return CalendarOut(
        fallback_years=flag_unknown_years(hub, calendar),
        entered_years=sorted(calendar.admin_years),
        working_hours=[f"{w.start:%H:%M}-{w.end:%H:%M}" for w in calendar.windows],
    )


@router.put(
    "/sla/calendar/{year}",
    response_model=YearOut,
    dependencies=[require(Permission.CATALOGUE_EDIT)],
)
async def enter_year(year: Year, body: YearIn, hub: HubDep, user: CurrentUser) -> YearOut:
    """Replaces the year's entered holidays and make-up working days; open cases'
    deadlines that have not passed yet are recounted on the new calendar."""
    _check_year(year, body)
    moved = await recalc.enter_year(
        hub, user, year=year, holidays=body.holidays, workdays=body.workdays, note=body.note
    )
    return YearOut(
        year=year, holidays=body.holidays, workdays=body.workdays, recalculated_cases=moved
    )


@router.get("/sla/calendar/{year}", response_model=YearOut)
async def entered_year(year: Year, hub: HubDep, _user: CurrentUser) -> YearOut:
    async with hub.db.read() as session:
        stmt = select(CalendarDay).where(CalendarDay.year == year).order_by(col(CalendarDay.day))
        days = (await session.exec(stmt)).all()
    return YearOut(
        year=year,
        holidays=[d.day for d in days if not d.is_workday],
        workdays=[d.day for d in days if d.is_workday],
        recalculated_cases=0,
    )


@router.get("/cases/{case_id}/deadlines", response_model=list[DeadlineOut])
async def deadlines_of_case(case_id: PathId, hub: HubDep, user: CurrentUser) -> list[DeadlineOut]:
    async with hub.db.read() as session:
        await get_case(session, case_id, user)  # 404 outside the caller's scope
        rows = await case_deadlines(session, case_id)
    return [DeadlineOut.model_validate(r) for r in rows]


def _check_year(year: int, body: YearIn) -> None:
    for field, days in (("holidays", body.holidays), ("workdays", body.workdays)):
        seen: set[date] = set()
        for day in days:
            if day.year != year:
                raise Unprocessable(field, f"{day} is not in {year}")
            if day in seen:
                raise Unprocessable(field, f"{day} is listed twice")
            seen.add(day)
    both = set(body.holidays) & set(body.workdays)
    if both:
        raise Unprocessable("workdays", f"{min(both)} is both a holiday and a working day")
