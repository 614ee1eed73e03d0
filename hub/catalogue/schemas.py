"""Wire models of the responsibility list (the catalogue) endpoints."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from hub.enums import CaseClass, HandlingTier, TimeUnit
from hub.schemas import LocalTime, Strict
from hub.sla.ladder import LadderOverride


class EntryIn(Strict):
    name_zh: str = Field(min_length=1, max_length=100)
    name_en: str = Field(min_length=1, max_length=160)
    pinyin: str = Field(default="", max_length=200)
    case_class: CaseClass
    tier: HandlingTier
    primary_department: str = Field(min_length=1, max_length=40)
    cooperating_departments: list[str] = Field(default_factory=list, max_length=20)
    escalation_department: str | None = Field(default=None, max_length=40)
    ack_within: int = Field(gt=0, le=100_000)
    ack_unit: TimeUnit
    checkin_within: int = Field(gt=0, le=100_000)
    checkin_unit: TimeUnit
    resolve_within: int = Field(gt=0, le=100_000)
    resolve_unit: TimeUnit
    needs_confirmation: bool = False
    # Changes to the default escalation ladder; cases dispatched under this version
    # freeze the result (see hub/sla/ladder.py for the defaults).
    sla: LadderOverride | None = None


class EntryCreate(EntryIn):
    code: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,32}$")


class EntryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    code: str
    version: int
    is_current: bool
    name_zh: str
    name_en: str
    pinyin: str
    case_class: CaseClass
    tier: HandlingTier
    primary_department: str
    cooperating_departments: list[str]
    escalation_department: str | None
    ack_within: int
    ack_unit: TimeUnit
    checkin_within: int
    checkin_unit: TimeUnit
    resolve_within: int
    resolve_unit: TimeUnit
    needs_confirmation: bool
    sla: dict[str, Any] | None
    created_at: LocalTime
