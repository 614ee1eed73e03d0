"""Wire models of the organisation endpoints."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from hub.enums import DepartmentKind, DutyStatus, PostMode, PostSlot, StaffRole
from hub.schemas import MAX_ID, Strict


class DepartmentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    code: str
    kind: DepartmentKind
    region_id: int
    name_zh: str
    name_en: str


class StaffOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    name: str
    phone: str | None
    department_id: int | None
    region_id: int
    role: StaffRole
    duty_status: DutyStatus


class PostOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    department_id: int
    township_id: int
    slot: PostSlot
    mode: PostMode
    staff_id: int


class DutyPatch(Strict):
    duty_status: DutyStatus


class PostPut(Strict):
    department_id: int = Field(ge=1, le=MAX_ID)
    township_id: int = Field(ge=1, le=MAX_ID)
    slot: PostSlot
    mode: PostMode
    staff_id: int = Field(ge=1, le=MAX_ID)
