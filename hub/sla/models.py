"""Deadline rows: one per rung of a running clock. The worker claims due rows and fires
each exactly once; the rows, not any scheduler's memory, are the timers."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from hub.types import EnumField, UTCDateTime

# The engine's own user (created by migration 0005): its steps carry an actor on the
# timeline; it is disabled, so nobody can log in as it.
SLA_USER = "sla-engine"


class DeadlineStatus(StrEnum):
    PENDING = "pending"
    FIRED = "fired"
    CANCELLED = "cancelled"  # its clock stopped (step done, case moved on) before it fired
    FAILED = "failed"  # firing raised; kept for an operator, counted in metrics


class Deadline(SQLModel, table=True):
    __tablename__ = "sla_deadlines"
    __table_args__ = (
        UniqueConstraint("case_id", "step", "rung", "started_at", name="uq_sla_deadline_rung"),
        # The worker's queue: pending rows by firing time.
        Index(
            "ix_sla_deadlines_due",
            "fire_at",
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    step: str = Field(max_length=16)
    rung: int
    kind: str = Field(max_length=16)
    started_at: datetime = Field(sa_type=UTCDateTime)
    due_at: datetime = Field(sa_type=UTCDateTime)
    fire_at: datetime = Field(sa_type=UTCDateTime)
    # Counted on a year the calendar does not know (see WorkCalendar.estimated).
    estimated: bool = False
    status: DeadlineStatus = EnumField(DeadlineStatus, default=DeadlineStatus.PENDING)
    # Fencing: a claim is a token and a lease; firing checks the token under the row lock,
    # so a worker whose lease ran out (paused, partitioned) cannot fire a row twice.
    claim_token: str | None = Field(default=None, max_length=32)
    claimed_by: str | None = Field(default=None, max_length=80)
    claimed_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    fired_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    fired_by: str | None = Field(default=None, max_length=80)
    error: str | None = Field(default=None, max_length=500)


class CalendarDay(SQLModel, table=True):
    """An admin-entered day of a year's schedule: a holiday or a make-up working day."""

    __tablename__ = "calendar_days"

    day: date = Field(primary_key=True)
    is_workday: bool
    year: int = Field(index=True)
    note: str = Field(default="", max_length=100)
    entered_by: int | None = Field(default=None, foreign_key="users.id")
    entered_at: datetime = Field(sa_type=UTCDateTime)
