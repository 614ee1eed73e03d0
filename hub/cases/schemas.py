from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from hub.cases.machine import Action, CaseState
from hub.enums import (
    EvaluationReason,
    HandlingTier,
    Priority,
    Satisfaction,
    SlaStatus,
    Source,
    Supervision,
)
from hub.schemas import MAX_ID, LocalTime, Strict
from hub.types import empty_list


class CaseCreate(Strict):
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=4000)
    category_code: str | None = Field(default=None, max_length=32)
    grid_code: str = Field(pattern=r"^\d{15}$", description="15-digit grid code")
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    source: Source = Source.GRID_PATROL
    reporter: str = Field(default="", max_length=100)
    priority: Priority = Priority.NORMAL


class Versioned(Strict):
    version: int = Field(ge=1, le=MAX_ID, description="the case version the caller last saw")


class Note(Versioned):
    note: str = Field(default="", max_length=2000)


class Resolve(Note):
    # Photos uploaded to the case beforehand; their hashes go into the `resolved` event,
    # so the evidence is part of the case's hash chain.
    attachment_ids: list[Annotated[int, Field(ge=1, le=MAX_ID)]] = Field(
        default_factory=empty_list, max_length=20
    )


class Reason(Versioned):
    reason: str = Field(min_length=1, max_length=2000)


class Classify(Versioned):
    category_code: str = Field(min_length=1, max_length=32)


class Dispatch(Versioned):
    department_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    staff_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    category_code: str | None = Field(default=None, max_length=32)


class Transfer(Versioned):
    department_id: int = Field(ge=1, le=MAX_ID)
    staff_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    reason: str = Field(min_length=1, max_length=2000)


class CheckIn(Versioned):
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    note: str = Field(default="", max_length=2000)


class Merge(Versioned):
    into_case_id: int = Field(ge=1, le=MAX_ID)


class Evaluate(Versioned):
    township_score: int = Field(ge=1, le=5, description="the township's score for the department")
    # Kept for old clients; 满意率 is measured from the follow-up visit, not from this.
    resident_satisfaction: int | None = Field(default=None, ge=1, le=5)
    comment: str = Field(default="", max_length=2000)
    reasons: list[EvaluationReason] = Field(
        default_factory=empty_list,
        max_length=len(EvaluationReason),
        description="the township's reasons for its score, from the fixed list",
    )

    @field_validator("reasons")
    @classmethod
    def _once_each(cls, reasons: list[EvaluationReason]) -> list[EvaluationReason]:
        if len(set(reasons)) != len(reasons):
            raise ValueError("a reason is listed twice")
        return reasons


class FollowUp(Versioned):
    satisfaction: Satisfaction = Field(description="the resident's answer (满意/基本满意/不满意)")
    resolved: bool = Field(description="whether the resident says the problem was solved")
    reason: str = Field(default="", max_length=2000)
    reopen: bool = Field(
        default=False, description="reopen the case (only with an unsatisfied answer)"
    )


# The body each action takes; the views are generated from this table.
ACTION_BODIES: dict[Action, type[Versioned]] = {
    Action.CLASSIFY: Classify,
    Action.DISPATCH: Dispatch,
    Action.CONFIRM_WHISTLE: Note,
    Action.ACKNOWLEDGE: Note,
    Action.CHECK_IN: CheckIn,
    Action.RESOLVE: Resolve,
    Action.VERIFY: Note,
    Action.REJECT: Reason,
    Action.CLOSE: Note,
    Action.RETURN: Reason,
    Action.TRANSFER: Transfer,
    Action.ESCALATE: Reason,
    Action.REOPEN: Reason,
    Action.MERGE: Merge,
    Action.CANCEL: Reason,
    Action.EVALUATE: Evaluate,
    Action.FOLLOW_UP: FollowUp,
}


class CaseOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    title: str
    description: str
    category_code: str | None
    catalogue_entry_id: int | None
    grid_id: int
    community_id: int
    township_id: int
    county_id: int
    lat: float | None
    lon: float | None
    source: Source
    reporter: str
    priority: Priority
    tier: HandlingTier | None
    whistle_level: int | None
    state: CaseState
    department_id: int | None
    cooperating_department_ids: list[int]
    assigned_staff_id: int | None
    merged_into_id: int | None
    rework_count: int
    township_score: int | None
    resident_satisfaction: int | None
    ack_due_at: LocalTime | None
    checkin_due_at: LocalTime | None
    resolve_due_at: LocalTime | None
    verify_due_at: LocalTime | None
    confirm_due_at: LocalTime | None
    # What assessment judges the case by: the first due times, never moved later by
    # re-routing (the *_due_at above are the current holder's).
    original_ack_due_at: LocalTime | None = None
    original_checkin_due_at: LocalTime | None = None
    original_resolve_due_at: LocalTime | None = None
    # A due time counted on a year whose holidays are not known yet: an estimate.
    deadlines_estimated: bool = False
    sla_status: SlaStatus
    supervision: Supervision | None
    created_at: LocalTime
    updated_at: LocalTime
    dispatched_at: LocalTime | None
    acknowledged_at: LocalTime | None
    checked_in_at: LocalTime | None
    resolved_at: LocalTime | None
    verified_at: LocalTime | None
    closed_at: LocalTime | None
    version: int
    overdue: bool = False
    allowed_actions: list[Action] = []


class EventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    case_id: int
    seq: int
    type: str
    actor_id: int | None
    actor: str
    at: LocalTime
    payload: dict[str, Any]
    changes: dict[str, Any]
    prev_hash: str
    hash: str
    request_id: str | None = None
