"""The assessment projection's tables and the versioned scoring schemes.

`AssessedCase` is one row per case and `Holding` one row per spell of a department
holding a case (a dispatch, transfer, escalation or reopen starts one; a transfer to
another department, a return, merge, cancel or closing ends it). Both are written only
by the projection (`projection.AssessmentProjection`), which folds committed events in
stream order, and both are rebuilt from the timeline by resetting its position."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from hub.types import UTCDateTime, empty_dict, empty_list


class AssessedCase(SQLModel, table=True):
    __tablename__ = "assessment_cases"
    __table_args__ = (
        Index("ix_assessment_cases_created", "created_at"),
        Index("ix_assessment_cases_due", "original_resolve_due_at"),
        Index("ix_assessment_cases_closed", "closed_at"),
        Index("ix_assessment_cases_followed", "followed_up_at"),
    )

    case_id: int = Field(primary_key=True)
    city_id: int
    county_id: int = Field(index=True)
    township_id: int = Field(index=True)
    community_id: int
    grid_id: int
    category_code: str | None = Field(default=None, max_length=32)
    source: str = Field(max_length=32)
    priority: str = Field(max_length=16)
    state: str = Field(max_length=32)
    whistle_level: int | None = None
    max_whistle_level: int | None = None
    department_id: int | None = None
    assigned_staff_id: int | None = None
    created_at: datetime = Field(sa_type=UTCDateTime)
    first_dispatched_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    original_ack_due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    original_checkin_due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    original_resolve_due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    verify_due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The case's current clocks (a new spell takes its own due times from them).
    dispatched_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    ack_due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    checkin_due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    resolve_due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    deadlines_estimated: bool = False
    acknowledged_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    checked_in_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    rework_count: int = 0
    returns: int = 0
    transfers: int = 0
    reopens: int = 0
    whistle_raises: int = 0
    # The township's assessment of the department that answered (一哨一考核).
    township_score: int | None = None
    reasons: list[str] = Field(default_factory=empty_list, sa_column=Column(JSON))
    evaluated_department_id: int | None = None
    evaluated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # When the township leader was told the assessment is overdue (sla/reminders.py).
    assessment_flagged_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The resident's follow-up visit (回访): the source of 解决率 and 满意率.
    followup_satisfaction: str | None = Field(default=None, max_length=32)
    followup_resolved: bool | None = None
    followed_up_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    followup_department_id: int | None = None
    last_seq: int = 0


class Holding(SQLModel, table=True):
    """One department's spell with a case, judged by its own clocks: the first due times
    it got in the spell (rework never extends them)."""

    __tablename__ = "assessment_holdings"
    __table_args__ = (
        UniqueConstraint("case_id", "n", name="uq_holding_case_n"),
        Index("ix_holdings_department", "department_id", "started_at"),
        Index("ix_holdings_township", "township_id", "started_at"),
        Index("ix_holdings_resolve_due", "resolve_due_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(index=True)
    n: int  # the spell's number within the case, from 1
    department_id: int
    staff_id: int | None = None
    city_id: int
    county_id: int
    township_id: int
    whistle_level: int | None = None
    source: str = Field(max_length=32)
    started_at: datetime = Field(sa_type=UTCDateTime)
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    end: str | None = Field(default=None, max_length=40)  # the event type that ended it
    ack_due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    checkin_due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    resolve_due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    acknowledged_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    checked_in_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    resolutions: int = 0
    rejections: int = 0


class AssessmentScheme(SQLModel, table=True):
    """How a department's (or a township's) period score is weighted: data, versioned like
    the responsibility list. The version in force on a period's first day scores it."""

    __tablename__ = "assessment_schemes"
    __table_args__ = (UniqueConstraint("kind", "version", name="uq_scheme_kind_version"),)

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=32, index=True)
    version: int
    effective_from: date
    name: str = Field(max_length=200)
    weights: dict[str, Any] = Field(default_factory=empty_dict, sa_column=Column(JSON))
    created_at: datetime = Field(sa_type=UTCDateTime)
    created_by: str = Field(default="", max_length=100)
