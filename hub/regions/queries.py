from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.enums import Tier
from hub.errors import NotFound
from hub.regions.models import Region, subtree_bounds


@dataclass(frozen=True)
class GridPlace:
    grid_id: int
    community_id: int
    township_id: int
    county_id: int
    city_id: int


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
    visible: ColumnElement[bool] | None = None,
) -> list[Region]:
    stmt = select(Region).order_by(col(Region.code)).limit(limit)
    if visible is not None:
        stmt = stmt.where(visible)
    if under is not None:
        low, high = subtree_bounds(under)
        stmt = stmt.where(col(Region.code).between(low, high))
    if tier is not None:
        stmt = stmt.where(Region.tier == tier)
    if after_code is not None:
        stmt = stmt.where(col(Region.code) > after_code)
    return list((await session.exec(stmt)).all())
