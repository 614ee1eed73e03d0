from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, UniqueConstraint, inspect, text
from sqlalchemy.orm import instrumentation
from sqlmodel import Field, SQLModel

from hub.cases.machine import CaseState
from hub.enums import HandlingTier, Priority, SlaStatus, Source, Supervision
from hub.types import EnumField, UTCDateTime, empty_dict, empty_list


class Case(SQLModel, table=True):
    __tablename__ = "cases"
    __table_args__ = (
        UniqueConstraint("created_by", "idempotency_key", name="uq_case_idempotency"),
        Index("ix_cases_township_state", "township_id", "state"),
        Index("ix_cases_county_state", "county_id", "state"),
        Index("ix_cases_department_state", "department_id", "state"),
        Index("ix_cases_created", "created_at", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(max_length=200)
    description: str = Field(default="", max_length=4000)
    category_code: str | None = Field(default=None, max_length=32)
    catalogue_entry_id: int | None = Field(default=None, foreign_key="catalogue_entries.id")
    # The grid and its ancestors, denormalised so that "cases under region X" is an
    # equality on one indexed column whatever the tier of X.
    grid_id: int = Field(foreign_key="regions.id", index=True)
    community_id: int = Field(foreign_key="regions.id", index=True)
    township_id: int = Field(foreign_key="regions.id")
    county_id: int = Field(foreign_key="regions.id")
    city_id: int = Field(foreign_key="regions.id", index=True)
    lat: float | None = None
    lon: float | None = None
    source: Source = EnumField(Source)
    reporter: str = Field(default="", max_length=100)
    priority: Priority = EnumField(Priority, default=Priority.NORMAL)
    tier: HandlingTier | None = EnumField(HandlingTier, default=None)
    whistle_level: int | None = None
    state: CaseState = EnumField(CaseState, index=True)
    department_id: int | None = Field(default=None, foreign_key="departments.id")
    cooperating_department_ids: list[int] = Field(
        default_factory=empty_list, sa_column=Column(JSON)
    )
    assigned_staff_id: int | None = Field(default=None, foreign_key="staff.id", index=True)
    merged_into_id: int | None = Field(default=None, foreign_key="cases.id")
    rework_count: int = 0
    township_score: int | None = None
    resident_satisfaction: int | None = None
    ack_due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    checkin_due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    resolve_due_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    verify_due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    confirm_due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # When the department's clocks (acknowledge, check in, resolve) last started: dispatch,
    # or the township rejecting a result for rework.
    clock_started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The resolve clock's own start: a transfer inside one department keeps it running.
    resolve_started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The first due times the case got for the department's steps. Assessment judges the
    # case by these: transfer, return, escalation, rework, reopen and merge never move
    # them later, so re-routing cannot turn a late case into an on-time one.
    original_ack_due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    original_checkin_due_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    original_resolve_due_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    # A due time was counted on a year whose holidays nobody knows yet (weekends and
    # fixed-date holidays only): an estimate until an admin enters the year.
    deadlines_estimated: bool = False
    # The escalation ladder as it was when the case was dispatched (see hub.sla.ladder).
    sla_ladder: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    # Only ever rises: a case once red stays red on the walls, even after re-routing.
    sla_status: SlaStatus = EnumField(SlaStatus, default=SlaStatus.OK)
    supervision: Supervision | None = EnumField(Supervision, default=None)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    dispatched_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    acknowledged_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    checked_in_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    verified_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    version: int = 1
    created_by: int = Field(foreign_key="users.id")
    idempotency_key: str | None = Field(default=None, max_length=200)
    idempotency_fingerprint: str | None = Field(default=None, max_length=64)
    # Hash of the newest event: lets `audit verify` notice a deleted or appended tail.
    event_head: str | None = Field(default=None, max_length=64)


def new_case(**values: Any) -> Case:
    """A new Case as `Case(**values)` builds it, without validation (the values come
    from a validated request and the reference data) and, while `FAST_NEW_CASE` holds,
    without SQLModel's setattr per field: an instance made the way the ORM makes one it
    loads, then its fields filled in. Building a Case the ordinary way was a sizeable
    part of the hub's work per created case (docs/benchmarks.md, Ingest)."""
    unknown = values.keys() - Case.model_fields.keys()
    if unknown:
        raise TypeError(f"not fields of Case: {sorted(unknown)}")
    missing = _REQUIRED - values.keys()
    if missing:
        raise TypeError(f"Case needs {sorted(missing)}")
    if not FAST_NEW_CASE:
        return Case(**values)
    return _assembled(values)


def _assembled(values: dict[str, Any]) -> Case:
    # Relies on SQLAlchemy's ClassManager.new_instance and pydantic's private
    # __pydantic_fields_set__/__pydantic_extra__ slots (versions pinned in pyproject.toml);
    # `_fast_path_holds` checks at import that the result still equals the constructor's.
    case: Case = _CASE_MANAGER.new_instance()
    fields = {name: make() for name, make in _DEFAULTS.items()}
    fields.update(values)
    case.__dict__.update(fields)
    object.__setattr__(case, "__pydantic_fields_set__", set(values))
    object.__setattr__(case, "__pydantic_extra__", None)
    return case


_REQUIRED = frozenset(n for n, f in Case.model_fields.items() if f.is_required())


# A fresh value from each field's default or factory (mutable defaults are never shared).
def _constant(value: Any) -> Callable[[], Any]:
    return lambda: value


_DEFAULTS: dict[str, Callable[[], Any]] = {
    name: field.default_factory or _constant(field.default)  # type: ignore[misc]
    for name, field in Case.model_fields.items()
    if not field.is_required()
}


class CaseEvent(SQLModel, table=True):
    """Append-only timeline. `changes` holds the case fields the event set, so folding a
    case's events in `seq` order rebuilds the row."""

    __tablename__ = "case_events"
    __table_args__ = (
        UniqueConstraint("case_id", "seq", name="uq_case_event_seq"),
        # The relay's work queue: only rows still waiting for a position.
        Index(
            "ix_case_events_unpositioned",
            "id",
            sqlite_where=text("position IS NULL"),
            postgresql_where=text("position IS NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    seq: int
    type: str = Field(max_length=40)
    actor_id: int | None = Field(default=None, foreign_key="users.id")
    actor: str = Field(max_length=100)
    at: datetime = Field(sa_type=UTCDateTime)
    payload: dict[str, Any] = Field(
        default_factory=empty_dict, sa_column=Column(JSON, nullable=False)
    )
    changes: dict[str, Any] = Field(
        default_factory=empty_dict, sa_column=Column(JSON, nullable=False)
    )
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)
    # The request that caused it (its X-Request-Id, as in the logs); none for a timer's
    # rung. Metadata, outside the hash: it tells how the change came in, not what it was.
    request_id: str | None = Field(default=None, max_length=128)
    # Stream position, assigned after commit by the relay (None until then).
    position: int | None = Field(default=None, sa_type=BigInteger, unique=True)


def _fast_path_holds() -> bool:
    """Whether `_assembled` still builds what the constructor builds on the installed
    SQLAlchemy and pydantic; if an upgrade changes their internals, new cases are built
    the ordinary way (slower, never wrong) and tests/test_case_model.py fails to say so."""
    sample: dict[str, Any] = {name: None for name in _REQUIRED} | {"title": "probe"}
    try:
        made, built = _assembled(dict(sample)), Case(**sample)
        return (
            made.model_dump() == built.model_dump()
            and made.model_fields_set == built.model_fields_set
            and inspect(made).transient
        )
    except Exception:
        return False


_CASE_MANAGER = instrumentation.manager_of_class(Case)
FAST_NEW_CASE = _fast_path_holds()
