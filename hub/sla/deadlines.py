"""Pure deadline arithmetic. Working-day units are counted on the Chinese calendar in
`hub.sla.calendar`; natural units have second precision so drills can use short limits.

Which steps' clocks run, when each started and where each rung falls are functions of the
case's own fields and its frozen ladder, so the deadline rows can always be re-derived
(the auditor does exactly that)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from hub.cases.machine import CaseState
from hub.enums import Priority, TimeUnit
from hub.sla.calendar import WorkCalendar
from hub.sla.ladder import Ladder, RungAction, RungKind, Step

_NATURAL_S = {
    TimeUnit.SECONDS: 1,
    TimeUnit.MINUTES: 60,
    TimeUnit.HOURS: 3600,
    TimeUnit.DAYS: 86400,
}
# An urgent case gets half of every limit (the sources give urgent/normal pairs like
# 10 min / 30 min for dispatch and 2 h / 24 h for hotline feedback).
URGENT_FACTOR = 0.5


@dataclass(frozen=True)
class Limit:
    within: int
    unit: TimeUnit


def add_limit(
    start: datetime,
    limit: Limit,
    calendar: WorkCalendar,
    priority: Priority,
    *,
    share: float = 1.0,
) -> datetime:
    """`start` plus `share` of the limit: 0.75 is where a warning falls."""
    factor = share * (URGENT_FACTOR if priority is Priority.URGENT else 1.0)
    if limit.unit in _NATURAL_S:
        return start + timedelta(seconds=round(limit.within * _NATURAL_S[limit.unit] * factor))
    if limit.unit is TimeUnit.WORK_HOURS:
        return calendar.add_work_seconds(start, round(limit.within * 3600 * factor))
    return calendar.add_work_seconds(start, round(limit.within * factor * calendar.seconds_per_day))


def estimated(start: datetime, end: datetime, limit: Limit, calendar: WorkCalendar) -> bool:
    """A limit in working time counted through a year nobody has the holidays of."""
    return limit.unit not in _NATURAL_S and calendar.estimated(start, end)


class CaseClock(Protocol):
    """The case fields the deadlines depend on (a `Case` row has them all)."""

    state: CaseState
    priority: Priority
    dispatched_at: datetime | None
    clock_started_at: datetime | None
    resolve_started_at: datetime | None
    resolved_at: datetime | None


_S = CaseState
# In which states each step's clock runs. Rework (a rejected result) goes back to
# ACKNOWLEDGED: the department must report on site and resolve again.
RUNNING_IN: dict[Step, frozenset[CaseState]] = {
    Step.ACK: frozenset({_S.DISPATCHED}),
    Step.CHECKIN: frozenset({_S.DISPATCHED, _S.ACKNOWLEDGED}),
    Step.RESOLVE: frozenset({_S.DISPATCHED, _S.ACKNOWLEDGED, _S.ON_SITE}),
    Step.VERIFY: frozenset({_S.RESOLVED}),
    Step.CONFIRM: frozenset({_S.AWAITING_CONFIRMATION}),
}
DUE_FIELD = {
    Step.ACK: "ack_due_at",
    Step.CHECKIN: "checkin_due_at",
    Step.RESOLVE: "resolve_due_at",
    Step.VERIFY: "verify_due_at",
    Step.CONFIRM: "confirm_due_at",
}


def step_start(case: CaseClock, step: Step) -> datetime | None:
    if step is Step.VERIFY:
        return case.resolved_at
    if step is Step.CONFIRM:
        return case.dispatched_at
    if step is Step.RESOLVE:
        # Its own start: a transfer inside one department keeps the resolve clock going.
        return case.resolve_started_at
    # Dispatch starts the department's clocks; a rejected result restarts them.
    return case.clock_started_at


def due_at(case: CaseClock, ladder: Ladder, step: Step, calendar: WorkCalendar) -> datetime | None:
    found = due_of(case, ladder, step, calendar)
    return found[0] if found is not None else None


def due_of(
    case: CaseClock, ladder: Ladder, step: Step, calendar: WorkCalendar
) -> tuple[datetime, bool] | None:
    """The step's due time and whether it is an estimate (an unknown year)."""
    start = step_start(case, step)
    limit = ladder.limits.get(step)
    if start is None or limit is None:
        return None
    as_limit = Limit(limit.within, limit.unit)
    due = add_limit(start, as_limit, calendar, case.priority)
    return due, estimated(start, due, as_limit, calendar)


@dataclass(frozen=True)
class Planned:
    step: Step
    rung: int
    kind: RungKind
    actions: tuple[RungAction, ...]
    started_at: datetime
    due_at: datetime
    fire_at: datetime
    estimated: bool = False

    @property
    def key(self) -> tuple[str, int, datetime]:
        """A rung of one run of a step's clock: a restarted clock gets new keys, while a
        recomputed deadline (a corrected calendar) keeps them, so nothing fires twice."""
        return (self.step.value, self.rung, self.started_at)


def plan(case: CaseClock, ladder: Ladder, calendar: WorkCalendar) -> list[Planned]:
    """Every rung of every running clock, fired or not, in firing order."""
    out: list[Planned] = []
    for step, states in RUNNING_IN.items():
        if case.state not in states:
            continue
        start = step_start(case, step)
        limit = ladder.limits.get(step)
        if start is None or limit is None:
            continue
        as_limit = Limit(limit.within, limit.unit)
        due = add_limit(start, as_limit, calendar, case.priority)
        for index, rung in ladder.rungs_of(step):
            fire = add_limit(start, as_limit, calendar, case.priority, share=rung.at)
            guess = estimated(start, max(due, fire), as_limit, calendar)
            out.append(Planned(step, index, rung.kind, rung.actions, start, due, fire, guess))
    out.sort(key=lambda p: (p.fire_at, p.rung))
    return out
