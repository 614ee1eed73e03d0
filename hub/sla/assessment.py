"""Assessment due times: what re-routing a case may and may not do to its deadlines.

A case's department steps (acknowledge, report on site, resolve) are assessed against the
first due times it got (`original_*_due_at`). Re-routing restarts the new holder's own
clocks, which drive the ladder, but never moves an original later: lateness already
accrued stays on the case. Pure functions of the case's fields and a time."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, Protocol

from hub.cases.machine import CaseState
from hub.enums import Priority
from hub.sla.deadlines import DUE_FIELD, RUNNING_IN, step_start
from hub.sla.ladder import Step

ASSESSED: tuple[Step, ...] = (Step.ACK, Step.CHECKIN, Step.RESOLVE)
ORIGINAL_FIELD = {
    Step.ACK: "original_ack_due_at",
    Step.CHECKIN: "original_checkin_due_at",
    Step.RESOLVE: "original_resolve_due_at",
}
_DONE_FIELD = {
    Step.ACK: "acknowledged_at",
    Step.CHECKIN: "checked_in_at",
    Step.RESOLVE: "resolved_at",
}


class AssessedCase(Protocol):
    state: CaseState
    priority: Priority
    dispatched_at: datetime | None
    clock_started_at: datetime | None
    resolve_started_at: datetime | None
    resolved_at: datetime | None


Clocks = dict[Step, datetime | None]


def running_clocks(case: AssessedCase) -> Clocks:
    """Each step's start while its clock runs (None: not running)."""
    return {
        step: step_start(case, step) if case.state in RUNNING_IN[step] else None for step in Step
    }


def keep_originals(case: object) -> None:
    """A step's first due time becomes its original; later ones never replace it."""
    for step in ASSESSED:
        due = getattr(case, DUE_FIELD[step])
        if due is not None and getattr(case, ORIGINAL_FIELD[step]) is None:
            setattr(case, ORIGINAL_FIELD[step], due)


def earliest_originals(into: object, other: object) -> list[str]:
    """`into` takes `other`'s original due times where they are earlier (a merge: the
    first report's commitment stands). Returns the steps taken over."""
    taken = []
    for step in ASSESSED:
        field = ORIGINAL_FIELD[step]
        mine, theirs = getattr(into, field), getattr(other, field)
        if theirs is not None and (mine is None or theirs < mine):
            setattr(into, field, theirs)
            taken.append(step.value)
    return taken


def lateness_s(case: object, now: datetime) -> dict[str, int]:
    """Seconds each assessed step is (or was, when done) past its original due time."""
    out: dict[str, int] = {}
    for step in ASSESSED:
        original: datetime | None = getattr(case, ORIGINAL_FIELD[step])
        if original is None:
            continue
        done: datetime | None = getattr(case, _DONE_FIELD[step])
        late = int(((done or now) - original).total_seconds())
        if late > 0:
            out[step.value] = late
    return out


def met_resolve(case: object) -> bool:
    """Resolved by its original due time (a case never given one has nothing to meet)."""
    original: datetime | None = getattr(case, ORIGINAL_FIELD[Step.RESOLVE])
    resolved: datetime | None = getattr(case, "resolved_at")  # noqa: B009
    return original is None or (resolved is not None and resolved <= original)


def clock_effect(before: Clocks, after: Clocks) -> dict[str, list[str]]:
    """Which clocks a move kept running, restarted (a new run for the new holder), started
    (not running before) or stopped."""
    out: dict[str, list[str]] = {"kept": [], "restarted": [], "started": [], "stopped": []}
    for step in Step:
        was, now = before.get(step), after.get(step)
        if was is not None and now is not None:
            out["kept" if was == now else "restarted"].append(step.value)
        elif now is not None:
            out["started"].append(step.value)
        elif was is not None:
            out["stopped"].append(step.value)
    return out


def effect_payload(
    case: object, before: Clocks, after: Clocks, late_s: dict[str, int]
) -> dict[str, Any]:
    """The `deadlines` part of a moving event: what happened to each clock, the original
    due times assessment keeps, and how late the case already was (`late_s`, measured
    before the move)."""
    return {**clock_effect(before, after), "original_due": _iso(case, ASSESSED), "late_s": late_s}


def _iso(case: object, steps: Iterable[Step]) -> dict[str, str]:
    out = {}
    for step in steps:
        value: datetime | None = getattr(case, ORIGINAL_FIELD[step])
        if value is not None:
            out[step.value] = value.isoformat()
    return out
