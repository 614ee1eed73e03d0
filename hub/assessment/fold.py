"""Folding a case's committed events into its assessment facts. Pure: no I/O, no clock.

The fold reads each event's `changes` (the case fields it set, so folding them rebuilds
the case) and its payload, and keeps
- one `AssessedCase`: the case's region, category, source, original due times, when each
  step was done, counts of rework, returns, transfers, reopens and whistle raises, the
  township's assessment and the resident's follow-up;
- one `Holding` per spell of a department with the case. A spell starts when the case is
  with a department and its clocks run (dispatched, or whistled and confirmed), and ends
  when another department takes it or the case leaves the department (returned, merged,
  cancelled, reopened, closed). It is judged by its own first due times, so lateness a
  department accrued before a transfer or return stays with that department.

`fold_case(events)` from scratch and `CaseFolder.apply(event)` one at a time give the same
rows: the projection does the second, its tests check it against the first."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from hub.assessment.models import AssessedCase, Holding
from hub.cases.events import EventType as E
from hub.cases.machine import CaseState as S

# A department holds a case in these states (awaiting the leader's confirmation, the
# whistle's clocks do not run yet, so it is not the department's yet).
HELD = frozenset({S.DISPATCHED, S.ACKNOWLEDGED, S.ON_SITE, S.RESOLVED, S.VERIFIED})

_CASE_FIELDS = (
    "city_id",
    "county_id",
    "township_id",
    "community_id",
    "grid_id",
    "category_code",
    "source",
    "priority",
    "state",
    "whistle_level",
    "department_id",
    "assigned_staff_id",
    "created_at",
    "original_ack_due_at",
    "original_checkin_due_at",
    "original_resolve_due_at",
    "verify_due_at",
    "dispatched_at",
    "ack_due_at",
    "checkin_due_at",
    "resolve_due_at",
    "deadlines_estimated",
    "acknowledged_at",
    "checked_in_at",
    "resolved_at",
    "closed_at",
    "rework_count",
)
_TIMES = frozenset(
    {
        "created_at",
        "original_ack_due_at",
        "original_checkin_due_at",
        "original_resolve_due_at",
        "verify_due_at",
        "acknowledged_at",
        "checked_in_at",
        "resolved_at",
        "closed_at",
        "ack_due_at",
        "checkin_due_at",
        "resolve_due_at",
        "dispatched_at",
    }
)
_COUNTED = {E.RETURNED: "returns", E.TRANSFERRED: "transfers", E.REOPENED: "reopens"}
# A whistle raised (by hand or by the ladder) is routing's `escalate`: recorded as
# `escalated`, or as awaiting the leader's confirmation when it goes to level 3.
RAISES = frozenset({E.ESCALATED, E.WHISTLE_AWAITING_CONFIRMATION})
ESCALATE = "escalate"


def _value(name: str, raw: Any) -> Any:
    if raw is not None and name in _TIMES:
        return datetime.fromisoformat(raw)
    return raw


class CaseFolder:
    """One case's facts, advanced an event at a time. `fact` is None until the `created`
    event; `holdings` are the spells this folder created or was handed (the open one)."""

    def __init__(
        self, fact: AssessedCase | None = None, open_holding: Holding | None = None, spells: int = 0
    ) -> None:
        self.fact = fact
        self.open = open_holding
        self.spells = spells  # spells the case has had, so the next is numbered after them
        self.new: list[Holding] = []
        self._case: dict[str, Any] = {}

    def apply(self, event: Any) -> None:
        """Fold one event (a CaseEvent, or anything with its attributes) into the facts."""
        changes: dict[str, Any] = event.changes or {}
        if self.fact is None:
            self._case = {k: _value(k, changes.get(k)) for k in _CASE_FIELDS}
            self.fact = AssessedCase(case_id=event.case_id, **_fact_values(self._case))
        else:
            if not self._case:  # resumed from stored rows
                self._case = {k: getattr(self.fact, k) for k in _CASE_FIELDS}
            for key, raw in changes.items():
                if key in self._case:
                    self._case[key] = _value(key, raw)
            for key, value in _fact_values(self._case).items():
                setattr(self.fact, key, value)
        fact = self.fact
        fact.last_seq = max(fact.last_seq, int(event.seq))
        if fact.first_dispatched_at is None and self._case.get("dispatched_at") is not None:
            fact.first_dispatched_at = self._case["dispatched_at"]
        if fact.whistle_level is not None:
            fact.max_whistle_level = max(fact.max_whistle_level or 0, fact.whistle_level)
        kind = E(event.type)
        payload: dict[str, Any] = event.payload or {}
        if kind in _COUNTED:
            field = _COUNTED[kind]
            setattr(fact, field, getattr(fact, field) + 1)
        elif kind in RAISES and payload.get("action") == ESCALATE:
            fact.whistle_raises += 1
        elif kind is E.EVALUATED:
            fact.township_score = payload.get("township_score")
            fact.reasons = list(payload.get("reasons") or [])
            fact.evaluated_department_id = fact.department_id
            fact.evaluated_at = event.at
        elif kind is E.ASSESSMENT_OVERDUE:
            fact.assessment_flagged_at = event.at
        elif kind is E.FOLLOWED_UP:
            fact.followup_satisfaction = payload.get("satisfaction")
            fact.followup_resolved = payload.get("resolved")
            fact.followed_up_at = event.at
            fact.followup_department_id = fact.department_id
        self._spell(kind, event.at)

    def _spell(self, kind: E, at: datetime) -> None:
        fact = self.fact
        assert fact is not None
        held = fact.department_id is not None and fact.state in HELD
        spell = self.open
        if spell is not None:
            if kind is E.REJECTED:
                spell.rejections += 1
            if not held or spell.department_id != fact.department_id:
                spell.ended_at, spell.end = at, kind.value
                self.open = spell = None
        if held and spell is None:
            assert fact.department_id is not None
            self.spells += 1
            spell = Holding(
                case_id=fact.case_id,
                n=self.spells,
                department_id=fact.department_id,
                city_id=fact.city_id,
                county_id=fact.county_id,
                township_id=fact.township_id,
                whistle_level=fact.whistle_level,
                source=fact.source,
                started_at=at,
            )
            self.open = spell
            self.new.append(spell)
        if spell is None:
            return
        case = self._case
        for name in ("ack_due_at", "checkin_due_at", "resolve_due_at"):
            if getattr(spell, name) is None and case.get(name) is not None:
                setattr(spell, name, case[name])
        if case.get("assigned_staff_id") is not None:
            spell.staff_id = case["assigned_staff_id"]
        for name in ("acknowledged_at", "checked_in_at"):
            done = case.get(name)
            if getattr(spell, name) is None and done is not None and done >= spell.started_at:
                setattr(spell, name, done)
        resolved = case.get("resolved_at")
        if kind is E.RESOLVED:
            spell.resolutions += 1
        # A rejected result is no result: the spell's resolution is the latest standing one.
        spell.resolved_at = (
            resolved if resolved is not None and resolved >= spell.started_at else None
        )


def _fact_values(case: dict[str, Any]) -> dict[str, Any]:
    out = {k: case.get(k) for k in _CASE_FIELDS}
    out["deadlines_estimated"] = bool(out["deadlines_estimated"])
    out["rework_count"] = int(out["rework_count"] or 0)
    return out


def fold_case(events: Iterable[Any]) -> tuple[AssessedCase | None, list[Holding]]:
    """The facts of one case from its events alone, in seq order (the recomputation)."""
    folder = CaseFolder()
    for event in events:
        folder.apply(event)
    return folder.fact, folder.new
