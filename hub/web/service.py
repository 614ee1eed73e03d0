"""Read-only queries behind the screens: a region's map, its cases per child region, and
the hourly trend. Case counts go through the caller's scope like every case query."""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any

from sqlalchemy import and_, func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.auth.principal import Principal
from hub.auth.scope import case_scope, region_clause
from hub.cases.machine import OPEN_STATES
from hub.cases.models import Case
from hub.cases.queries import count_where, overdue_clause
from hub.clock import SHANGHAI
from hub.enums import Tier
from hub.regions.models import CODE_LENGTH, Region, subtree_bounds

# What a region's map is drawn from: counties for the city, townships for a county, and
# for a township its grids (communities are only a grouping of grids on the ground).
MAP_CHILD_TIER = {Tier.CITY: Tier.COUNTY, Tier.COUNTY: Tier.TOWNSHIP, Tier.TOWNSHIP: Tier.GRID}
_CASE_COLUMN = {
    Tier.COUNTY: col(Case.county_id),
    Tier.TOWNSHIP: col(Case.township_id),
    Tier.COMMUNITY: col(Case.community_id),
    Tier.GRID: col(Case.grid_id),
}
TREND_HOURS = 24


def feature(region: Region) -> dict[str, Any]:
    return {
        "type": "Feature",
        "id": region.code,
        "properties": {
            "id": region.id,
            "code": region.code,
            "name": region.code,  # ECharts matches regions by `name`: the code is unique
            "name_zh": region.name_zh,
            "name_en": region.name_en,
            "tier": region.tier.value,
            "center": [region.center_lon, region.center_lat],
        },
        "geometry": region.geometry,
    }


async def top_region(session: AsyncSession) -> Region | None:
    stmt = select(Region).where(Region.tier == Tier.CITY).order_by(col(Region.code)).limit(1)
    return (await session.exec(stmt)).first()


async def children(session: AsyncSession, region: Region) -> list[Region]:
    child_tier = MAP_CHILD_TIER.get(region.tier)
    if child_tier is None:
        return []
    low, high = subtree_bounds(region.code)
    stmt = (
        select(Region)
        .where(col(Region.code).between(low, high), Region.tier == child_tier)
        .order_by(col(Region.code))
    )
    return list((await session.exec(stmt)).all())


async def ancestors(session: AsyncSession, region: Region) -> list[Region]:
    """From the city down to `region` itself."""
    prefixes = [
        region.code[:length]
        for tier, length in CODE_LENGTH.items()
        if length <= len(region.code) and tier is not Tier.COMMUNITY
    ]
    rows = (await session.exec(select(Region).where(col(Region.code).in_(prefixes)))).all()
    return sorted(rows, key=lambda r: len(r.code))


async def child_counts(
    session: AsyncSession, user: Principal, region: Region, now: datetime
) -> dict[int, tuple[int, int]]:
    """Open and overdue cases per child region (by id), within the caller's scope."""
    child_tier = MAP_CHILD_TIER.get(region.tier)
    if child_tier is None or region.id is None:
        return {}
    column = _CASE_COLUMN[child_tier]
    is_open = col(Case.state).in_(OPEN_STATES)
    overdue = overdue_clause(now)
    rows = (
        await session.exec(
            select(column, count_where(overdue), func.count())
            .where(region_clause(region.tier, region.id), case_scope(user), is_open)
            .group_by(column)
        )
    ).all()
    return {child_id: (n_open, n_overdue) for child_id, n_overdue, n_open in rows}


def hour_starts(now: datetime, hours: int = TREND_HOURS) -> list[datetime]:
    """The starts of the last `hours` whole hours in China Standard Time, the current one
    last."""
    local = now.astimezone(SHANGHAI).replace(minute=0, second=0, microsecond=0)
    return [local - timedelta(hours=h) for h in range(hours - 1, -1, -1)]


async def hourly_trend(
    session: AsyncSession, user: Principal, region: Region, now: datetime
) -> list[dict[str, Any]]:
    """Cases reported and closed in each of the last 24 hours (one query: a sum per bucket
    keeps it portable across SQLite and PostgreSQL)."""
    assert region.id is not None
    starts = hour_starts(now)
    edges = [*starts, starts[-1] + timedelta(hours=1)]
    created = col(Case.created_at)
    closed = col(Case.closed_at)
    sums = [count_where(and_(created >= a, created < b)) for a, b in pairwise(edges)]
    sums += [count_where(and_(closed >= a, closed < b)) for a, b in pairwise(edges)]
    row = (
        await session.exec(
            select(*sums).where(
                region_clause(region.tier, region.id),
                case_scope(user),
                (created >= edges[0]) | (closed >= edges[0]),
            )
        )
    ).one()
    n = len(starts)
    return [
        {"hour": start.isoformat(), "created": int(row[i]), "closed": int(row[n + i])}
        for i, start in enumerate(starts)
    ]
