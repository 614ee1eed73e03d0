from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index
from sqlmodel import Field, SQLModel

from hub.types import UTCDateTime, empty_dict


class AuditEntry(SQLModel, table=True):
    """Security-relevant happenings outside the case timelines: logins, failed logins,
    denied actions, credential changes."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_at", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_type=UTCDateTime)
    kind: str = Field(max_length=40, index=True)
    username: str | None = Field(default=None, max_length=60)
    user_id: int | None = None
    address: str | None = Field(default=None, max_length=64)
    detail: dict[str, Any] = Field(
        default_factory=empty_dict, sa_column=Column(JSON, nullable=False)
    )
