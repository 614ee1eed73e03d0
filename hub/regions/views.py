from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict

from hub.auth.deps import CurrentUser
from hub.auth.org_scope import region_visible, region_visible_clause
from hub.deps import HubDep
from hub.enums import Tier
from hub.errors import NotFound
from hub.regions import queries
from hub.schemas import Page

router = APIRouter(prefix="/regions", tags=["regions"])


class RegionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    tier: Tier
    parent_id: int | None
    name_zh: str
    name_en: str
    center_lon: float | None
    center_lat: float | None
    geometry: dict[str, Any] | None = None


@router.get("", response_model=Page[RegionOut])
async def list_regions(
    hub: HubDep,
    user: CurrentUser,
    under: Annotated[
        str | None, Query(pattern=r"^\d{4,15}$", description="a region code; its subtree")
    ] = None,
    tier: Tier | None = None,
    geometry: bool = False,
    cursor: Annotated[str | None, Query(pattern=r"^\d{4,15}$")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> Page[RegionOut]:
    async with hub.db.read() as session:
        rows = await queries.list_regions(
            session,
            under=under,
            tier=tier,
            after_code=cursor,
            limit=limit + 1,
            visible=region_visible_clause(user),
        )
    items = [RegionOut.model_validate(r) for r in rows[:limit]]
    if not geometry:
        for item in items:
            item.geometry = None
    return Page[RegionOut](
        items=items, next_cursor=rows[limit - 1].code if len(rows) > limit else None
    )


@router.get("/{code}", response_model=RegionOut)
async def get_region(
    code: Annotated[str, Path(pattern=r"^\d{4,15}$")], hub: HubDep, user: CurrentUser
) -> RegionOut:
    if not region_visible(user, code):  # outside the caller's line: as if it did not exist
        raise NotFound(f"no region with code {code!r}", field="region")
    async with hub.db.read() as session:
        region = await queries.region_by_code(session, code)
    return RegionOut.model_validate(region)
