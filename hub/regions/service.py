from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.enums import Tier
from hub.errors import NotFound, Unprocessable
from hub.regions.models import CODE_LENGTH, Region, subtree_bounds


@dataclass(frozen=True)
class GridPlace:
    grid_id: int
    community_id: int
    township_id: int
    county_id: int
    city_id: int


async def grid_with_ancestors(session: AsyncSession, grid_code: str) -> GridPlace:
    """One indexed query: the grid's code contains every ancestor's code as a prefix."""
    codes = [grid_code[: CODE_LENGTH[t]] for t in Tier]
    rows = (await session.exec(select(Region).where(col(Region.code).in_(codes)))).all()
    by_tier = {r.tier: r.id for r in rows if r.code == grid_code[: CODE_LENGTH[r.tier]]}
    if by_tier.get(Tier.GRID) is None:
        raise Unprocessable("grid_code", f"unknown grid {grid_code!r}")
    missing = [t for t in Tier if by_tier.get(t) is None]
    if missing:
        raise Unprocessable("grid_code", f"grid {grid_code} has no {missing[0]} above it")
    return GridPlace(
        grid_id=by_tier[Tier.GRID],  # type: ignore[arg-type]
        community_id=by_tier[Tier.COMMUNITY],  # type: ignore[arg-type]
        township_id=by_tier[Tier.TOWNSHIP],  # type: ignore[arg-type]
        county_id=by_tier[Tier.COUNTY],  # type: ignore[arg-type]
        city_id=by_tier[Tier.CITY],  # type: ignore[arg-type]
    )


async def region_by_code(session: AsyncSession, code: str, *, field: str = "region") -> Region:
    region = (await session.exec(select(Region).where(Region.code == code))).first()
    if region is None:
        raise NotFound(f"no region with code {code!r}", field=field)
    return region


async def list_regions(
    session: AsyncSession,
    *,
    under: str | None,
    tier: Tier | None,
    after_code: str | None,
    limit: int,
) -> list[Region]:
    stmt = select(Region).order_by(col(Region.code)).limit(limit)
    if under is not None:
        low, high = subtree_bounds(under)
        stmt = stmt.where(col(Region.code).between(low, high))
    if tier is not None:
        stmt = stmt.where(Region.tier == tier)
    if after_code is not None:
        stmt = stmt.where(col(Region.code) > after_code)
    return list((await session.exec(stmt)).all())
