"""The rankings and the daily / weekly / monthly reports (日巡查、周分析、月汇总) of a region,
as plain JSON-ready dicts: the API returns them, `render.py` turns them into XLSX and CSV
and the /reports screen draws them. Every number comes from the projection's rows."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.assessment.fold import ESCALATE, RAISES
from hub.assessment.indicators import INDICATORS, Ratio, Window, all_indicators
from hub.assessment.models import AssessedCase
from hub.assessment.periods import Period, PeriodKind, local_day
from hub.assessment.schemes import SchemeKind
from hub.assessment.service import (
    Rows,
    by_child_region,
    by_department,
    by_staff,
    load,
    ranked,
    schemes_in_force,
    scored,
    window,
)
from hub.cases.events import EventType
from hub.cases.models import Case, CaseEvent
from hub.catalogue.models import CatalogueEntry
from hub.enums import DepartmentKind, Tier
from hub.errors import NotFound
from hub.regions.models import Region
from hub.sla.reminders import ASSESS_WITHIN, WHISTLES

REPORT_KINDS = {"daily": PeriodKind.DAY, "weekly": PeriodKind.WEEK, "monthly": PeriodKind.MONTH}
TOP = 10
REPEAT_AT_LEAST = 3  # cases of one category at one grid in a period: a repeat problem
OVERDUE_LIST = 50


def _name(thing: Any) -> dict[str, str]:
    return {"zh": thing.name_zh, "en": thing.name_en}


def _ratios(indicators: dict[str, Ratio]) -> dict[str, Any]:
    return {k: indicators[k].as_dict() for k in INDICATORS}


def _value(indicators: dict[str, Ratio] | None, key: str) -> float | None:
    return None if indicators is None else indicators[key].value


async def rankings(
    session: AsyncSession,
    region: Region,
    period: Period,
    now: datetime,
    department_id: int | None = None,
) -> dict[str, Any]:
    """Departments and townships of `region`, scored by the schemes in force, with the
    previous period's rank and the change; with `department_id`, its staff too (from the
    same rows)."""
    prev = period.previous()
    rows = await load(session, region, prev.start, period.end)
    w, pw = window(period, now), window(prev, now)
    schemes = await schemes_in_force(session, period)
    prev_schemes = await schemes_in_force(session, prev)
    out = {
        "departments": _department_ranking(rows, w, pw, schemes, prev_schemes),
        "regions": _region_ranking(rows, w, pw, schemes, prev_schemes),
        "schemes": {k.value: s.as_dict() for k, s in schemes.items()},
    }
    if department_id is not None:
        if department_id not in rows.departments:
            raise NotFound(f"no department {department_id} in {region.code}", field="department_id")
        out["staff"] = staff_ranking(rows, w, pw, department_id)
    return out


def _department_ranking(
    rows: Rows, w: Window, pw: Window, schemes: Any, prev_schemes: Any
) -> list[dict[str, Any]]:
    def kind_of(k: int) -> SchemeKind:
        return rows.kinds.get(k, SchemeKind.COUNTY)

    # 下考上 ranks the county's departments against each other (a city's or county's
    # ranking); a township's own ranking also shows its offices that worked its cases.
    if rows.region.tier is Tier.TOWNSHIP:
        ranked_here = set(rows.departments)
    else:
        ranked_here = {k for k, d in rows.departments.items() if d.kind is DepartmentKind.COUNTY}

    def mine(groups: dict[int, dict[str, Ratio]]) -> dict[int, dict[str, Ratio]]:
        return {k: v for k, v in groups.items() if k in ranked_here}

    groups = mine(by_department(rows, w))
    now = scored(groups, kind_of, schemes)
    before = scored(mine(by_department(rows, pw)), kind_of, prev_schemes)
    out = ranked({k: v[0] for k, v in now.items()}, {k: v[0] for k, v in before.items()})
    for row in out:
        _total, parts, scheme = now[row["id"]]
        dept = rows.departments.get(row["id"])
        row.update(
            name=_name(dept) if dept else {"zh": str(row["id"]), "en": str(row["id"])},
            kind=kind_of(row["id"]).value,
            scheme_version=scheme.version,
            breakdown=parts,
            indicators=_ratios(groups[row["id"]]),
        )
    return out


def _region_ranking(
    rows: Rows, w: Window, pw: Window, schemes: Any, prev_schemes: Any
) -> list[dict[str, Any]]:
    def kind_of(_k: int) -> SchemeKind:
        return SchemeKind.TOWNSHIP

    groups = by_child_region(rows, w)
    now = scored(groups, kind_of, schemes)
    before = scored(by_child_region(rows, pw), kind_of, prev_schemes)
    # Every child region is listed, even one with nothing in the period.
    for r in rows.regions.values():
        if r.parent_id == rows.region.id and r.id is not None and r.id not in now:
            now[r.id] = (None, [], schemes[SchemeKind.TOWNSHIP])
    out = ranked({k: v[0] for k, v in now.items()}, {k: v[0] for k, v in before.items()})
    for row in out:
        _total, parts, scheme = now[row["id"]]
        region = rows.regions.get(row["id"])
        row.update(
            name=_name(region) if region else {"zh": str(row["id"]), "en": str(row["id"])},
            code=region.code if region else None,
            scheme_version=scheme.version,
            breakdown=parts,
            indicators=_ratios(groups[row["id"]]) if row["id"] in groups else None,
        )
    return out


def staff_ranking(rows: Rows, w: Window, pw: Window, department_id: int) -> list[dict[str, Any]]:
    """Staff within a department, by their spells' on-time resolution (then volume)."""
    now, before = by_staff(rows, w, department_id), by_staff(rows, pw, department_id)

    def points(groups: dict[int, dict[str, Ratio]]) -> dict[int, float | None]:
        out: dict[int, float | None] = {}
        for k, ind in groups.items():
            v = ind["resolve_on_time"].value
            out[k] = None if v is None else round(100 * v, 2)
        return out

    out = ranked(points(now), points(before))
    for row in out:
        person = rows.staff.get(row["id"])
        row.update(
            name=person.name if person else str(row["id"]),
            indicators=_ratios(now[row["id"]]),
        )
    return out


async def report(
    session: AsyncSession, region: Region, period: Period, now: datetime
) -> dict[str, Any]:
    """One report: the sections a day, a week or a month calls for."""
    prev = period.previous()
    rows = await load(session, region, prev.start, period.end)
    w, pw = window(period, now), window(prev, now)
    this = Rows(rows.region, _cases_in(rows, w), rows.spells)
    summary = all_indicators(rows.cases, rows.spells, w)
    before = all_indicators(rows.cases, rows.spells, pw)
    out: dict[str, Any] = {
        "kind": period.kind.value,
        "region": {
            "id": region.id,
            "code": region.code,
            "tier": region.tier.value,
            "name": _name(region),
        },
        "period": period.as_dict(),
        "previous_period": prev.as_dict(),
        "generated_at": now.isoformat(),
        "summary": [
            {
                "indicator": k,
                "label": {"zh": zh, "en": en},
                **summary[k].as_dict(),
                "previous": _value(before, k),
            }
            for k, (zh, en) in INDICATORS.items()
        ],
        "volume": _volume(rows, w, pw),
        "escalations": await _escalations(session, rows, w),
        "overdue": await _overdue(session, rows, w),
        "categories": await _categories(session, this.cases, rows, pw),
    }
    if period.kind is PeriodKind.DAY:
        return out
    schemes = await schemes_in_force(session, period)
    prev_schemes = await schemes_in_force(session, prev)
    departments = _department_ranking(rows, w, pw, schemes, prev_schemes)
    out.update(
        trend=_trend(rows, period, w),
        grids=_grids(this.cases, rows),
        repeats=_repeats(this.cases, rows),
        heatmap=await _heatmap(session, this.cases, rows),
        departments=departments,
        fallen=[d for d in departments if d["change"] is not None and d["change"] < 0],
        regions=_region_ranking(rows, w, pw, schemes, prev_schemes),
        unassessed=await unassessed(session, rows, now),
    )
    return out


def _cases_in(rows: Rows, w: Window) -> list[AssessedCase]:
    return [c for c in rows.cases if w.within(c.created_at)]


def _volume(rows: Rows, w: Window, pw: Window) -> dict[str, Any]:
    def count(win: Window) -> dict[str, int]:
        made = [c for c in rows.cases if win.within(c.created_at)]
        return {
            "created": len(made),
            "closed": sum(win.within(c.closed_at) for c in rows.cases),
            "whistles": sum((c.max_whistle_level or 0) >= 2 for c in made),
            "level3": sum((c.max_whistle_level or 0) == 3 for c in made),
            "hotline": sum(c.source == "hotline_12345" for c in made),
            "cancelled": sum(c.state == "cancelled" for c in made),
            "merged": sum(c.state == "merged" for c in made),
            "estimated_due": sum(
                c.deadlines_estimated and win.within(c.original_resolve_due_at) for c in rows.cases
            ),
        }

    return {"current": count(w), "previous": count(pw)}


def _trend(rows: Rows, period: Period, w: Window) -> list[dict[str, Any]]:
    days: dict[Any, dict[str, Any]] = {
        d: {"day": d.isoformat(), "created": 0, "closed": 0, "due": 0, "on_time": 0}
        for d in period.days
    }
    for c in rows.cases:
        for field, key in (("created_at", "created"), ("closed_at", "closed")):
            at = getattr(c, field)
            if w.within(at):
                days[local_day(at)][key] += 1
        due = c.original_resolve_due_at
        if c.state not in ("merged", "cancelled") and w.within(due):
            assert due is not None
            day = days[local_day(due)]
            day["due"] += 1
            day["on_time"] += bool(c.resolved_at is not None and c.resolved_at <= due)
    return list(days.values())


async def _category_names(session: AsyncSession, codes: set[str]) -> dict[str, dict[str, str]]:
    stmt = select(CatalogueEntry).where(col(CatalogueEntry.code).in_(sorted(codes)))
    out: dict[str, dict[str, str]] = {}
    for e in (await session.exec(stmt)).all():
        out[e.code] = {"zh": e.name_zh, "en": e.name_en}
    return out


async def _categories(
    session: AsyncSession, cases: list[AssessedCase], rows: Rows, pw: Window
) -> list[dict[str, Any]]:
    # Classified cases only: a report cancelled or merged before classification has no
    # category to be hot in (the volume section counts those).
    now = Counter(c.category_code for c in cases if c.category_code)
    before = Counter(
        c.category_code for c in rows.cases if c.category_code and pw.within(c.created_at)
    )
    names = await _category_names(session, set(now))
    return [
        {
            "code": code,
            "name": names.get(code, {"zh": code, "en": code}),
            "count": n,
            "previous": before.get(code, 0),
        }
        for code, n in now.most_common(TOP)
    ]


def _grids(cases: list[AssessedCase], rows: Rows) -> list[dict[str, Any]]:
    counts = Counter(c.grid_id for c in cases)
    return [
        {"grid_id": g, "code": _code(rows, g), "name": _region_name(rows, g), "count": n}
        for g, n in counts.most_common(TOP)
    ]


def _code(rows: Rows, region_id: int) -> str | None:
    r = rows.regions.get(region_id)
    return r.code if r else None


def _region_name(rows: Rows, region_id: int) -> dict[str, str]:
    r = rows.regions.get(region_id)
    return _name(r) if r else {"zh": str(region_id), "en": str(region_id)}


def _repeats(cases: list[AssessedCase], rows: Rows) -> list[dict[str, Any]]:
    groups: dict[tuple[int, str], list[int]] = defaultdict(list)
    for c in cases:
        if c.category_code:
            groups[(c.grid_id, c.category_code)].append(c.case_id)
    found = [(k, ids) for k, ids in groups.items() if len(ids) >= REPEAT_AT_LEAST]
    found.sort(key=lambda kv: (-len(kv[1]), kv[0]))
    return [
        {
            "grid_id": g,
            "code": _code(rows, g),
            "name": _region_name(rows, g),
            "category_code": cat,
            "count": len(ids),
            "case_ids": sorted(ids),
        }
        for (g, cat), ids in found[:TOP]
    ]


async def _heatmap(session: AsyncSession, cases: list[AssessedCase], rows: Rows) -> dict[str, Any]:
    """Cases by category × child region (the county's townships, the city's counties)."""
    tier = rows.region.tier
    key = {Tier.CITY: "county_id", Tier.COUNTY: "township_id"}.get(tier, "grid_id")
    classified = [c for c in cases if c.category_code]
    counts = Counter((c.category_code, getattr(c, key)) for c in classified)
    cats = [
        code for code, _n in Counter(c.category_code or "" for c in classified).most_common(TOP)
    ]
    places = sorted({getattr(c, key) for c in classified})
    names = await _category_names(session, set(cats))
    return {
        "categories": [{"code": c, "name": names.get(c, {"zh": c, "en": c})} for c in cats],
        "regions": [{"id": p, "name": _region_name(rows, p)} for p in places],
        "values": [
            [i, j, counts[(cat, p)]]
            for i, cat in enumerate(cats)
            for j, p in enumerate(places)
            if counts[(cat, p)]
        ],
    }


async def _overdue(session: AsyncSession, rows: Rows, w: Window) -> list[dict[str, Any]]:
    """The cases that went overdue in the period: due in it (by their original due time)
    and not resolved by then, whether resolved late since or still open; the latest
    first. `resolved_at` is empty for one still open, whose lateness runs to `as_of`."""
    late: list[tuple[float, AssessedCase]] = []
    for c in rows.cases:
        due = c.original_resolve_due_at
        if due is None or c.state in ("merged", "cancelled") or not w.within(due):
            continue
        if c.resolved_at is not None and c.resolved_at <= due:
            continue
        until = c.resolved_at if c.resolved_at is not None else w.as_of
        late.append(((until - due).total_seconds() / 3600, c))
    late.sort(key=lambda pair: (-pair[0], pair[1].case_id))
    late = late[:OVERDUE_LIST]
    titles = await _titles(session, [c.case_id for _h, c in late])
    return [
        {
            "case_id": c.case_id,
            "title": titles.get(c.case_id, ""),
            "state": c.state,
            "township": _region_name(rows, c.township_id),
            "department": _name(d) if (d := rows.departments.get(c.department_id or 0)) else None,
            "due_at": c.original_resolve_due_at.isoformat() if c.original_resolve_due_at else None,
            "resolved_at": c.resolved_at.isoformat() if c.resolved_at else None,
            "late_h": round(hours, 1),
        }
        for hours, c in late
    ]


async def _titles(session: AsyncSession, ids: list[int]) -> dict[int, str]:
    if not ids:
        return {}
    stmt = select(Case.id, Case.title).where(col(Case.id).in_(ids))
    return {i: t for i, t in (await session.exec(stmt)).all() if i is not None}


async def _escalations(session: AsyncSession, rows: Rows, w: Window) -> dict[str, Any]:
    """Cases that needed each rung action (the B post, the leader, supervision) and the
    whistles raised, in the period: read from the timeline of the region's cases."""
    ids = [c.case_id for c in rows.cases]
    by_action: dict[str, set[int]] = defaultdict(set)
    by_rung: Counter[str] = Counter()
    raised: Counter[int] = Counter()
    for chunk in range(0, len(ids), 500):
        stmt = (
            select(CaseEvent.case_id, CaseEvent.type, CaseEvent.payload)
            .where(col(CaseEvent.case_id).in_(ids[chunk : chunk + 500]))
            .where(
                col(CaseEvent.type).in_(
                    [EventType.SLA_ESCALATION.value, *(kind.value for kind in RAISES)]
                )
            )
            .where(col(CaseEvent.at) >= w.start, col(CaseEvent.at) < w.end)
        )
        for case_id, kind, payload in (await session.exec(stmt)).all():
            if kind == EventType.SLA_ESCALATION.value:
                by_action[payload.get("action", "")].add(case_id)
                by_rung[f"{payload.get('step')}#{payload.get('rung')}"] += 1
            elif payload.get("action") == ESCALATE:
                level = (payload.get("decision") or {}).get("whistle_level")
                raised[int(level) if level else 0] += 1
    return {
        "cases_by_action": {k: len(v) for k, v in sorted(by_action.items())},
        "by_rung": dict(sorted(by_rung.items())),
        "whistles_raised_to": {str(k): v for k, v in sorted(raised.items())},
    }


async def unassessed(session: AsyncSession, rows: Rows, now: datetime) -> list[dict[str, Any]]:
    """Closed whistles the township has not assessed within ASSESS_WITHIN of closing (the
    SLA engine flags each to the township leader: `flagged_at`)."""
    late = [
        c
        for c in rows.cases
        if c.state == "closed"
        and (c.max_whistle_level or 0) in WHISTLES
        and c.township_score is None
        and c.closed_at is not None
        and now - c.closed_at > ASSESS_WITHIN
    ]
    late.sort(key=lambda c: (c.closed_at, c.case_id))
    titles = await _titles(session, [c.case_id for c in late[:OVERDUE_LIST]])
    return [
        {
            "case_id": c.case_id,
            "title": titles.get(c.case_id, ""),
            "township": _region_name(rows, c.township_id),
            "whistle_level": c.max_whistle_level,
            "closed_at": c.closed_at.isoformat() if c.closed_at else None,
            "flagged_at": c.assessment_flagged_at.isoformat() if c.assessment_flagged_at else None,
        }
        for c in late[:OVERDUE_LIST]
    ]
