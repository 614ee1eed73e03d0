from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column
from sqlmodel import Field, SQLModel

from hub.enums import Role
from hub.types import EnumField, UTCDateTime, empty_list


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


class ApiKey(SQLModel, table=True):
    """A machine client's credential (a 12345 hotline system, a neighbouring platform).
    It acts as its own service user, whose region is its scope; `grants` narrows what it
    may do. Only a hash of the secret is stored; `prefix` finds the row without a scan."""

    __tablename__ = "api_keys"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    prefix: str = Field(max_length=16, unique=True, index=True)
    secret_hash: str = Field(max_length=64)
    user_id: int = Field(foreign_key="users.id")
    # Case actions and permissions by name, e.g. ["case.read", "case.create", "acknowledge"].
    grants: list[str] = Field(default_factory=empty_list, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(sa_type=UTCDateTime)
    created_by: int | None = Field(default=None, foreign_key="users.id")
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
