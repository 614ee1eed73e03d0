from __future__ import annotations

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from hub.enums import DepartmentKind, DutyStatus, PostMode, PostSlot, StaffRole
from hub.types import EnumField


class Department(SQLModel, table=True):
    """A county department or township office. `code` names the function (e.g. `police`)
    so that catalogue entries resolve to the department of the case's own county."""

    __tablename__ = "departments"
    __table_args__ = (UniqueConstraint("region_id", "code", name="uq_department_region_code"),)

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=40, index=True)
    kind: DepartmentKind = EnumField(DepartmentKind)
    region_id: int = Field(foreign_key="regions.id", index=True)
    name_zh: str = Field(max_length=100)
    name_en: str = Field(max_length=100)


class Staff(SQLModel, table=True):
    __tablename__ = "staff"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=60)
    phone: str | None = Field(default=None, max_length=30)
    department_id: int | None = Field(default=None, foreign_key="departments.id", index=True)
    region_id: int = Field(foreign_key="regions.id", index=True)
    role: StaffRole = EnumField(StaffRole)
    duty_status: DutyStatus = EnumField(DutyStatus, default=DutyStatus.ON_DUTY)


class Post(SQLModel, table=True):
    """A department's A or B post in one township (Yangzhou's AB 岗)."""

    __tablename__ = "posts"
    __table_args__ = (
        UniqueConstraint("department_id", "township_id", "slot", name="uq_post_slot"),
    )

    id: int | None = Field(default=None, primary_key=True)
    department_id: int = Field(foreign_key="departments.id", index=True)
    township_id: int = Field(foreign_key="regions.id", index=True)
    slot: PostSlot = EnumField(PostSlot)
    mode: PostMode = EnumField(PostMode)
    staff_id: int = Field(foreign_key="staff.id", index=True)
