"""The catalogue of case events: every type a timeline may hold, its payload model, its
version and the consumers that react to it. Nothing else names an event type; the writer
refuses an event whose type or payload is not here (`checked`), the JSON Schema in
`docs/events.schema.json` and the screens' contract (`/api/v1/meta`) are generated from
it. Pure: no I/O.

Adding a type: add it to `EventType`, give it a payload model and a `Spec` in
`CATALOGUE`, refresh the docs with
`python -m hub.realtime.schema_cli events > docs/events.schema.json`. Changing a payload
incompatibly: bump its `version` (stored events keep their shape; readers branch on it).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from hub.enums import Source


class EventType(StrEnum):
    CREATED = "created"
    CLASSIFIED = "classified"
    DISPATCHED = "dispatched"
    TRANSFERRED = "transferred"
    ESCALATED = "escalated"
    WHISTLE_AWAITING_CONFIRMATION = "whistle_awaiting_confirmation"
    WHISTLE_CONFIRMED = "whistle_confirmed"
    ACKNOWLEDGED = "acknowledged"
    CHECKED_IN = "checked_in"
    RESOLVED = "resolved"
    VERIFIED = "verified"
    REJECTED = "rejected"
    CLOSED = "closed"
    RETURNED = "returned"
    REOPENED = "reopened"
    MERGED = "merged"
    MERGED_FROM = "merged_from"
    CANCELLED = "cancelled"
    EVALUATED = "evaluated"
    FOLLOWED_UP = "followed_up"
    ASSESSMENT_OVERDUE = "assessment_overdue"
    SLA_WARNING = "sla_warning"
    SLA_BREACH = "sla_breach"
    SLA_OVERDUE = "sla_overdue"
    SLA_ESCALATION = "sla_escalation"
    DEADLINES_RECALCULATED = "deadlines_recalculated"


class Ticker(StrEnum):
    """How a command wall's ticker (滚动播报) shows an event; events without one are not
    on it. The wall reads this from the wire contract instead of matching type names."""

    WHISTLE = "whistle"  # dispatched or whistled: tagged with its whistle level
    WARNING = "warning"
    BREACH = "breach"
    ESCALATION = "escalation"


class Consumer(StrEnum):
    """Who reads committed events (see docs/architecture.md, "Consumers")."""

    SOCKETS = "sockets"  # the relay: frames to walls, consoles and staff pages
    COUNTERS = "counters"  # the walls' open/overdue/closed counters
    SLA = "sla"  # deadline rows (armed in the same transaction as the change)
    ESCALATION_AUDIT = "escalation_audit"  # the audit log of escalations
    ASSESSMENT = "assessment"  # the assessment facts (hub/assessment/projection.py)


class Payload(BaseModel):
    # Unknown keys are refused: a payload that grows a field grows its model first.
    model_config = ConfigDict(extra="forbid")


class DeadlineEffect(Payload):
    """What a move did to the case's clocks (`sla/assessment.effect_payload`)."""

    kept: list[str] = []
    restarted: list[str] = []
    started: list[str] = []
    stopped: list[str] = []
    original_due: dict[str, str] = {}
    late_s: dict[str, int] = {}
    originals_renewed: bool | None = None
    originals_taken: list[str] | dict[str, str] | None = None


class Created(Payload):
    source: Source


class Classified(Payload):
    category_code: str
    entry_version: int


class Routed(Payload):
    """Dispatch, transfer, escalation and the whistle's confirmation: routing's decision."""

    action: str
    decision: dict[str, Any]
    note: str | None = None
    assigned_staff_id: int | None = None
    deadlines: DeadlineEffect


class Noted(Payload):
    note: str | None = None


class CheckedIn(Noted):
    lat: float | None = None
    lon: float | None = None


class Photo(Payload):
    id: int
    sha256: str
    content_type: str


class Resolved(Noted):
    attachments: list[Photo] = []


class Rejected(Payload):
    reason: str
    rework: int
    deadlines: DeadlineEffect


class Returned(Payload):
    reason: str
    department_id: int | None = None
    deadlines: DeadlineEffect


class Reasoned(Payload):
    reason: str
    deadlines: DeadlineEffect


class Merged(Payload):
    into_case_id: int
    deadlines: DeadlineEffect


class MergedFrom(Payload):
    case_id: int
    title: str
    deadlines: DeadlineEffect


class Evaluated(Payload):
    township_score: int
    resident_satisfaction: int | None = None
    comment: str = ""
    reasons: list[str] = []


class FollowedUp(Payload):
    satisfaction: str
    resolved: bool
    reason: str = ""
    reopen: bool = False


class Rung(Payload):
    step: str
    rung: int
    deadline_id: int | None = None
    due_at: str
    estimated: bool = False
    actions: list[str]


class Escalation(Payload):
    """One action of a rung: who was reached (or why nobody was), what moved."""

    step: str
    rung: int
    deadline_id: int | None = None
    action: str
    outcome: str | None = None
    staff_id: int | None = None
    previous_staff_id: int | None = None
    reached: dict[str, Any] | None = None
    skipped: list[dict[str, Any]] = []
    township_id: int | None = None
    supervision: str | None = None
    from_level: int | None = None
    to_level: int | None = None
    raised: bool | None = None


class AssessmentOverdue(Payload):
    """A closed whistle the township has not assessed in time, and who was told."""

    closed_at: str
    due_at: str
    township_id: int
    staff_id: int | None = None
    outcome: str | None = None
    reached: dict[str, Any] | None = None
    skipped: list[dict[str, Any]] = []


class Recalculated(Payload):
    reason: str


@dataclass(frozen=True)
class Spec:
    payload: type[Payload]
    label_zh: str
    label_en: str
    consumers: frozenset[Consumer]
    version: int = 1
    ticker: Ticker | None = None  # shown on a wall's ticker, and as what


# Assessment folds every event: a case's facts are rebuilt from its whole timeline.
_ALL = frozenset({Consumer.SOCKETS, Consumer.COUNTERS, Consumer.SLA, Consumer.ASSESSMENT})
_SHOWN = frozenset({Consumer.SOCKETS, Consumer.COUNTERS, Consumer.ASSESSMENT})
_E = EventType

CATALOGUE: dict[EventType, Spec] = {
    _E.CREATED: Spec(Created, "上报", "reported", _ALL),
    _E.CLASSIFIED: Spec(Classified, "分类", "classified", _ALL),
    _E.DISPATCHED: Spec(Routed, "派遣", "dispatched", _ALL, ticker=Ticker.WHISTLE),
    _E.TRANSFERRED: Spec(Routed, "转派", "transferred", _ALL),
    _E.ESCALATED: Spec(Routed, "升级吹哨", "whistle raised", _ALL, ticker=Ticker.ESCALATION),
    _E.WHISTLE_AWAITING_CONFIRMATION: Spec(
        Routed, "吹哨待确认", "whistle awaiting confirmation", _ALL, ticker=Ticker.WHISTLE
    ),
    _E.WHISTLE_CONFIRMED: Spec(
        Routed, "吹哨已确认", "whistle confirmed", _ALL, ticker=Ticker.WHISTLE
    ),
    _E.ACKNOWLEDGED: Spec(Noted, "签收", "acknowledged", _ALL),
    _E.CHECKED_IN: Spec(CheckedIn, "到场报到", "checked in on site", _ALL),
    _E.RESOLVED: Spec(Resolved, "处置完成", "resolved", _ALL),
    _E.VERIFIED: Spec(Noted, "核查通过", "verified", _ALL),
    _E.REJECTED: Spec(Rejected, "核查不通过", "rejected", _ALL),
    _E.CLOSED: Spec(Noted, "结案", "closed", _ALL),
    _E.RETURNED: Spec(Returned, "退回", "returned", _ALL),
    _E.REOPENED: Spec(Reasoned, "重新办理", "reopened", _ALL),
    _E.MERGED: Spec(Merged, "合并", "merged", _ALL),
    _E.MERGED_FROM: Spec(MergedFrom, "并入", "merged in", _ALL),
    _E.CANCELLED: Spec(Reasoned, "撤销", "cancelled", _ALL),
    _E.EVALUATED: Spec(Evaluated, "评价", "evaluated", _SHOWN),
    _E.FOLLOWED_UP: Spec(FollowedUp, "回访", "followed up", _SHOWN),
    _E.ASSESSMENT_OVERDUE: Spec(
        AssessmentOverdue, "评价超期", "assessment overdue", _SHOWN, ticker=Ticker.WARNING
    ),
    _E.SLA_WARNING: Spec(Rung, "临期预警", "deadline warning", _SHOWN, ticker=Ticker.WARNING),
    _E.SLA_BREACH: Spec(Rung, "超期", "deadline breached", _SHOWN, ticker=Ticker.BREACH),
    _E.SLA_OVERDUE: Spec(Rung, "严重超期", "long overdue", _SHOWN, ticker=Ticker.BREACH),
    _E.SLA_ESCALATION: Spec(
        Escalation,
        "超期升级",
        "escalated on overdue",
        _SHOWN | {Consumer.ESCALATION_AUDIT},
        ticker=Ticker.ESCALATION,
    ),
    _E.DEADLINES_RECALCULATED: Spec(Recalculated, "时限重算", "deadlines recounted", _ALL),
}


class UnknownEvent(ValueError):
    """An event the catalogue does not describe: a bug in the code writing it."""


def checked(type: str, payload: dict[str, Any]) -> EventType:
    """The event's type, if it and its payload are in the catalogue; UnknownEvent if not.
    The payload is checked, not converted: what is stored is what the action built."""
    try:
        kind = EventType(type)
    except ValueError:
        raise UnknownEvent(f"event type {type!r} is not in the catalogue") from None
    try:
        CATALOGUE[kind].payload.model_validate(payload)
    except ValidationError as exc:
        raise UnknownEvent(f"payload of {type!r} does not match its model: {exc}") from exc
    return kind


def json_schema() -> dict[str, Any]:
    """The payload of every event type, as one JSON Schema document (docs/)."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Case events",
        "description": "The payload of each event type on a case's timeline, by type.",
        "type": "object",
        "properties": {
            kind.value: {
                **spec.payload.model_json_schema(),
                "x-version": spec.version,
                "x-label-zh": spec.label_zh,
                "x-label-en": spec.label_en,
                "x-consumers": sorted(spec.consumers),
            }
            for kind, spec in CATALOGUE.items()
        },
    }
