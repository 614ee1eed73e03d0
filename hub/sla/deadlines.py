"""Pure deadline arithmetic. Working-day units are counted on the Chinese calendar in
`hub.sla.calendar`; natural units have second precision so drills can use short limits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from hub.enums import Priority, TimeUnit
from hub.sla.calendar import WorkCalendar

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


@dataclass(frozen=True)
class Deadlines:
    ack_due_at: datetime
    checkin_due_at: datetime
    resolve_due_at: datetime


def add_limit(
    start: datetime, limit: Limit, calendar: WorkCalendar, priority: Priority
) -> datetime:
    factor = URGENT_FACTOR if priority is Priority.URGENT else 1.0
    if limit.unit in _NATURAL_S:
        return start + timedelta(seconds=limit.within * _NATURAL_S[limit.unit] * factor)
    if limit.unit is TimeUnit.WORK_HOURS:
        return calendar.add_work_seconds(start, int(limit.within * 3600 * factor))
    return calendar.add_work_days(start, limit.within * factor)


def case_deadlines(
    dispatched_at: datetime,
    *,
    ack: Limit,
    checkin: Limit,
    resolve: Limit,
    priority: Priority,
    calendar: WorkCalendar,
) -> Deadlines:
    """Every limit runs from dispatch, as the whistle letter states them."""
    return Deadlines(
        ack_due_at=add_limit(dispatched_at, ack, calendar, priority),
        checkin_due_at=add_limit(dispatched_at, checkin, calendar, priority),
        resolve_due_at=add_limit(dispatched_at, resolve, calendar, priority),
    )
