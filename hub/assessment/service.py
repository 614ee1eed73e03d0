"""Reading the projection for one region and period: the rows, the indicators by region,
department and staff member, the schemes in force, and the rankings with the previous
period. The report builder (`reports.py`) and the API (`views.py`) both use these."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.assessment.indicators import Ratio, Window, all_indicators
from hub.assessment.models import AssessedCase, AssessmentScheme, Holding
from hub.assessment.periods import Period
from hub.assessment.schemes import DEFAULTS, SchemeKind, score
from hub.enums import DepartmentKind, PostMode, Tier
from hub.org.models import Department, Post, Staff
from hub.regions.models import Region

ASSESSED_TIERS = frozenset({Tier.CITY, Tier.COUNTY, Tier.TOWNSHIP})


@dataclass
class Rows:
    """The projection's rows that can count in a period (or the one before it)."""

    region: Region
    cases: list[AssessedCase]
    spells: list[Holding]
    departments: dict[int, Department] = field(default_factory=dict)
    regions: dict[int, Region] = field(default_factory=dict)
    staff: dict[int, Staff] = field(default_factory=dict)
    kinds: dict[int, SchemeKind] = field(default_factory=dict)


def _case_column(tier: Tier) -> Any:
    return {Tier.CITY: AssessedCase.city_id, Tier.COUNTY: AssessedCase.county_id}.get(
        tier, AssessedCase.township_id
    )


def _spell_column(tier: Tier) -> Any:
    return {Tier.CITY: Holding.city_id, Tier.COUNTY: Holding.county_id}.get(
        tier, Holding.township_id
    )


def _between(columns: Iterable[Any], start: datetime, end: datetime) -> ColumnElement[bool]:
    return or_(*[(col(c) >= start) & (col(c) < end) for c in columns])


async def load(session: AsyncSession, region: Region, start: datetime, end: datetime) -> Rows:
    """Every fact and spell of `region` with something in [start, end): created, due,
    done, evaluated or followed up in it."""
    assert region.id is not None
    c = AssessedCase
    cases = (
        await session.exec(
            select(c)
            .where(_case_column(region.tier) == region.id)
            .where(
                _between(
                    (
                        c.created_at,
                        c.original_resolve_due_at,
                        c.closed_at,
                        c.evaluated_at,
                        c.followed_up_at,
                    ),
                    start,
                    end,
                )
            )
        )
    ).all()
    h = Holding
    spells = (
        await session.exec(
            select(h)
            .where(_spell_column(region.tier) == region.id)
            .where(
                _between(
                    (h.started_at, h.ack_due_at, h.checkin_due_at, h.resolve_due_at), start, end
                )
            )
        )
    ).all()
    rows = Rows(region, list(cases), list(spells))
    await _reference(session, rows)
    return rows


async def _reference(session: AsyncSession, rows: Rows) -> None:
    dept_ids = {h.department_id for h in rows.spells} | {
        c.evaluated_department_id for c in rows.cases if c.evaluated_department_id
    }
    county = rows.region.id if rows.region.tier is Tier.COUNTY else None
    stmt = select(Department).where(col(Department.id).in_(sorted(dept_ids)))
    if county is not None:
        stmt = select(Department).where(
            or_(col(Department.id).in_(sorted(dept_ids)), col(Department.region_id) == county)
        )
    rows.departments = {d.id: d for d in (await session.exec(stmt)).all() if d.id is not None}
    region_ids = {c.township_id for c in rows.cases} | {c.county_id for c in rows.cases}
    region_ids |= {c.grid_id for c in rows.cases} | {h.township_id for h in rows.spells}
    assert rows.region.id is not None
    children = select(Region).where(Region.parent_id == rows.region.id)
    found = (await session.exec(select(Region).where(col(Region.id).in_(sorted(region_ids))))).all()
    rows.regions = {r.id: r for r in [*found, *(await session.exec(children)).all()] if r.id}
    staff_ids = sorted({h.staff_id for h in rows.spells if h.staff_id is not None})
    rows.staff = {
        s.id: s
        for s in (await session.exec(select(Staff).where(col(Staff.id).in_(staff_ids)))).all()
        if s.id is not None
    }
    modes: dict[int, set[PostMode]] = defaultdict(set)
    posts = select(Post).where(col(Post.department_id).in_(sorted(rows.departments)))
    for post in (await session.exec(posts)).all():
        modes[post.department_id].add(post.mode)
    rows.kinds = {i: department_kind(d, modes.get(i, set())) for i, d in rows.departments.items()}


def department_kind(dept: Department, modes: set[PostMode]) -> SchemeKind:
    if dept.kind is not DepartmentKind.COUNTY:
        return SchemeKind.TOWNSHIP_OFFICE
    if PostMode.RESIDENT in modes:
        return SchemeKind.RESIDENT
    if PostMode.ON_CALL in modes:
        return SchemeKind.ON_CALL
    return SchemeKind.COUNTY


@dataclass(frozen=True)
class InForce:
    kind: SchemeKind
    version: int  # 0: the built-in default
    name: str
    weights: dict[str, float]

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "version": self.version,
            "name": self.name,
            "weights": self.weights,
        }


async def schemes_in_force(session: AsyncSession, period: Period) -> dict[SchemeKind, InForce]:
    """Per kind, the newest version effective on the period's first day."""
    out = {k: InForce(k, 0, name, weights) for k, (name, weights) in DEFAULTS.items()}
    stmt = (
        select(AssessmentScheme)
        .where(AssessmentScheme.effective_from <= period.first)
        .order_by(col(AssessmentScheme.version))
    )
    for row in (await session.exec(stmt)).all():
        kind = SchemeKind(row.kind)
        out[kind] = InForce(kind, row.version, row.name, dict(row.weights))
    return out


def window(period: Period, now: datetime) -> Window:
    return Window(period.start, period.end, min(period.end, now))


def grouped(
    rows: Rows,
    w: Window,
    case_key: Callable[[AssessedCase], int | None],
    spell_key: Callable[[Holding], int | None],
) -> dict[int, dict[str, Ratio]]:
    """The indicators of each group (a region, a department, a staff member)."""
    cases: dict[int, list[AssessedCase]] = defaultdict(list)
    spells: dict[int, list[Holding]] = defaultdict(list)
    for c in rows.cases:
        if (k := case_key(c)) is not None:
            cases[k].append(c)
    for h in rows.spells:
        if (k := spell_key(h)) is not None:
            spells[k].append(h)
    return {k: all_indicators(cases[k], spells[k], w) for k in sorted(set(cases) | set(spells))}


def by_department(rows: Rows, w: Window) -> dict[int, dict[str, Ratio]]:
    # The township's score and the resident's follow-up count for the department that
    # answered the case; the clocks for each department that held it.
    def case_key(c: AssessedCase) -> int | None:
        return c.evaluated_department_id or c.followup_department_id

    return grouped(rows, w, case_key, lambda h: h.department_id)


def by_child_region(rows: Rows, w: Window) -> dict[int, dict[str, Ratio]]:
    tier = rows.region.tier
    if tier is Tier.CITY:
        return grouped(rows, w, lambda c: c.county_id, lambda h: h.county_id)
    if tier is Tier.COUNTY:
        return grouped(rows, w, lambda c: c.township_id, lambda h: h.township_id)
    return {}


def by_staff(rows: Rows, w: Window, department_id: int) -> dict[int, dict[str, Ratio]]:
    mine = Rows(rows.region, [], [h for h in rows.spells if h.department_id == department_id])
    return grouped(mine, w, lambda c: None, lambda h: h.staff_id)


def ranked(
    scores: dict[int, float | None], previous: dict[int, float | None]
) -> list[dict[str, Any]]:
    """Rank by score (highest first, ties share a rank); with last period's rank and the
    change. Groups with no score are listed last, unranked."""
    order = sorted(scores, key=lambda k: (scores[k] is None, -(scores[k] or 0), k))
    prev_rank = _ranks(previous)
    now_rank = _ranks(scores)
    out = []
    for k in order:
        s, p = scores[k], previous.get(k)
        out.append(
            {
                "id": k,
                "rank": now_rank.get(k),
                "score": s,
                "previous_rank": prev_rank.get(k),
                "previous_score": p,
                "change": None if s is None or p is None else round(s - p, 2),
            }
        )
    return out


def _ranks(scores: dict[int, float | None]) -> dict[int, int]:
    judged = sorted((v, k) for k, v in scores.items() if v is not None)
    judged.reverse()
    out: dict[int, int] = {}
    for i, (v, k) in enumerate(judged):
        out[k] = out[judged[i - 1][1]] if i and judged[i - 1][0] == v else i + 1
    return out


def scored(
    groups: dict[int, dict[str, Ratio]],
    kind_of: Callable[[int], SchemeKind],
    schemes: dict[SchemeKind, InForce],
) -> dict[int, tuple[float | None, list[dict[str, Any]], InForce]]:
    out = {}
    for k, indicators in groups.items():
        scheme = schemes[kind_of(k)]
        total, parts = score(scheme.weights, indicators)
        out[k] = (total, [p.as_dict() for p in parts], scheme)
    return out


__all__ = ["ASSESSED_TIERS", "Rows", "load"]
