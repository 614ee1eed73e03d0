from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, SQLModel

from hub.enums import Tier
from hub.types import EnumField

# Hierarchical codes in the Beijing style: each tier extends its parent's code, so
# "everything under X" is a range over one indexed column.
CODE_LENGTH: dict[Tier, int] = {
    Tier.CITY: 4,
    Tier.COUNTY: 6,
    Tier.TOWNSHIP: 9,
    Tier.COMMUNITY: 12,
    Tier.GRID: 15,
}
MAX_CODE_LENGTH = CODE_LENGTH[Tier.GRID]


class Region(SQLModel, table=True):
    __tablename__ = "regions"
    __table_args__ = (Index("ix_regions_tier_code", "tier", "code"),)

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=MAX_CODE_LENGTH, unique=True, index=True)
    tier: Tier = EnumField(Tier)
    parent_id: int | None = Field(default=None, foreign_key="regions.id", index=True)
    name_zh: str = Field(max_length=100)
    name_en: str = Field(max_length=100)
    geometry: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    center_lon: float | None = None
    center_lat: float | None = None


def subtree_bounds(code: str) -> tuple[str, str]:
    """The code range holding `code` and all its descendants (digit codes sort the same
    under every collation, so a BETWEEN on the unique index serves the query)."""
    return code, code + "9" * (MAX_CODE_LENGTH - len(code))
