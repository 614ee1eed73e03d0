from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from hub.enums import Role
from hub.types import EnumField, UTCDateTime


class User(SQLModel, table=True):
    __tablename__ = "users"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=60, unique=True, index=True)
    display_name: str = Field(max_length=100)
    password_hash: str = Field(max_length=200)
    role: Role = EnumField(Role)
    # Scope: the region subtree the user works in and, for department roles, the department.
    region_id: int | None = Field(default=None, foreign_key="regions.id")
    department_id: int | None = Field(default=None, foreign_key="departments.id")
    staff_id: int | None = Field(default=None, foreign_key="staff.id")
    disabled: bool = False
    # Bumped on disable, password or scope change so outstanding tokens stop working.
    token_version: int = 0
    created_at: datetime = Field(sa_type=UTCDateTime)
