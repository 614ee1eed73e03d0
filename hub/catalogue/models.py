from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from hub.enums import CaseClass, HandlingTier, TimeUnit
from hub.types import EnumField, UTCDateTime


class CatalogueEntry(SQLModel, table=True):
    """One version of one responsibility-list entry (权责清单). Rows are never edited in
    place: an edit writes version N+1 and retires N, and cases keep the row they used."""

    __tablename__ = "catalogue_entries"
    __table_args__ = (
        UniqueConstraint("code", "version", name="uq_catalogue_code_version"),
        Index("ix_catalogue_current", "code", "is_current"),
    )

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32)
    version: int = Field(ge=1)
    is_current: bool = True
    name_zh: str = Field(max_length=100)
    name_en: str = Field(max_length=160)
    pinyin: str = Field(default="", max_length=200)
    case_class: CaseClass = EnumField(CaseClass)
    tier: HandlingTier = EnumField(HandlingTier)
    primary_department: str = Field(max_length=40)
    cooperating_departments: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    # Who takes the matter when its whistle is raised above `tier` (None: same code).
    escalation_department: str | None = Field(default=None, max_length=40)
    ack_within: int = Field(gt=0)
    ack_unit: TimeUnit = EnumField(TimeUnit)
    checkin_within: int = Field(gt=0)
    checkin_unit: TimeUnit = EnumField(TimeUnit)
    resolve_within: int = Field(gt=0)
    resolve_unit: TimeUnit = EnumField(TimeUnit)
    needs_confirmation: bool = False
    # Overrides of the default escalation ladder (hub.sla.ladder.LadderOverride as JSON).
    sla: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    created_at: datetime = Field(sa_type=UTCDateTime)
    created_by: int | None = Field(default=None, foreign_key="users.id")
