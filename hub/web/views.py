"""Read endpoints the screens need beyond the public API: a region's map with its cases
per child region, the hourly trend, and the routing suggestion for a case."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from hub.auth.deps import CurrentUser
from hub.auth.scope import region_in_scope
from hub.cases.machine import Action
from hub.clock import SHANGHAI
from hub.deps import HubDep
from hub.errors import NotFound
from hub.regions.models import Region
from hub.regions.queries import region_by_code
from hub.schemas import MAX_ID
from hub.web import preview, service

router = APIRouter(prefix="/screens", tags=["screens"])
RegionCode = Annotated[str, Path(pattern=r"^\d{4,15}$", description="a region code")]


def _brief(region: Region) -> dict[str, Any]:
    return {
        "id": region.id,
        "code": region.code,
        "tier": region.tier.value,
        "name_zh": region.name_zh,
        "name_en": region.name_en,
        "center": [region.center_lon, region.center_lat],
    }


async def _region(hub: HubDep, user: CurrentUser, code: str) -> Region:
    if not region_in_scope(user, code):
        raise NotFound(f"no region with code {code!r}", field="code")
    async with hub.db.read() as session:
        return await region_by_code(session, code, field="code")


@router.get("/home")
async def home_region(hub: HubDep, user: CurrentUser) -> dict[str, Any]:
    """The region a screen opens on: the caller's own, or the city for unscoped accounts."""
    async with hub.db.read() as session:
        region = (
            await region_by_code(session, user.region_code)
            if user.region_code is not None
            else await service.top_region(session)
        )
    return {"region": _brief(region) if region is not None else None}


@router.get("/map/{code}")
async def region_map(code: RegionCode, hub: HubDep, user: CurrentUser) -> dict[str, Any]:
    """The region's child areas as GeoJSON (counties, townships, or a township's grids),
    and the way back up as far as the caller's scope reaches."""
    region = await _region(hub, user, code)
    async with hub.db.read() as session:
        kids = await service.children(session, region)
        path = await service.ancestors(session, region)
    return {
        "region": _brief(region),
        "child_tier": service.MAP_CHILD_TIER.get(region.tier),
        "breadcrumb": [_brief(r) for r in path if region_in_scope(user, r.code)],
        "geojson": {"type": "FeatureCollection", "features": [service.feature(r) for r in kids]},
    }


@router.get("/stats/{code}")
async def region_stats(code: RegionCode, hub: HubDep, user: CurrentUser) -> dict[str, Any]:
    """Open and overdue cases per child area and the last 24 hours, hour by hour."""
    region = await _region(hub, user, code)
    now = hub.clock.now()
    async with hub.db.read() as session:
        kids = await service.children(session, region)
        counts = await service.child_counts(session, user, region, now)
        trend = await service.hourly_trend(session, user, region, now)
    return {
        "region": region.code,
        "as_of": now.astimezone(SHANGHAI).isoformat(),
        "children": [
            {
                "code": k.code,
                "open": counts.get(k.id or 0, (0, 0))[0],
                "overdue": counts.get(k.id or 0, (0, 0))[1],
            }
            for k in kids
        ],
        "hourly": trend,
    }


@router.get("/cases/{case_id}/routing")
async def routing_suggestion(
    case_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    hub: HubDep,
    user: CurrentUser,
    category_code: Annotated[str | None, Query(min_length=1, max_length=32)] = None,
    department_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> dict[str, Any]:
    """Who dispatching the case would reach and why (nothing is written)."""
    user.check(Action.DISPATCH)
    return await preview.suggest(
        hub, user, case_id, category_code=category_code, department_id=department_id
    )
