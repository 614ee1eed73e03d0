"""Pure deadline arithmetic: where each rung of each clock falls, across weekends,
statutory holidays, make-up working days, working hours, month and year ends and the
Spring Festival. No I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.cases.machine import CaseState
from hub.clock import SHANGHAI
from hub.enums import Priority, TimeUnit
from hub.sla.calendar import WorkCalendar, WorkWindow
from hub.sla.deadlines import Limit, add_limit, estimated, plan
from hub.sla.ladder import (
    DEFAULT_RUNGS,
    Ladder,
    LadderOverride,
    Rung,
    RungKind,
    Step,
    StepLimit,
    build_ladder,
    ladder_from_json,
    ladder_json,
)

CAL = WorkCalendar()


def cst(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


def work_days(n: int) -> Limit:
    return Limit(n, TimeUnit.WORK_DAYS)


def due(start: str, limit: Limit, priority: Priority = Priority.NORMAL) -> datetime:
    return add_limit(cst(start), limit, CAL, priority)


@dataclass
class FakeCase:
    state: CaseState = CaseState.DISPATCHED
    priority: Priority = Priority.NORMAL
    dispatched_at: datetime | None = None
    clock_started_at: datetime | None = None
    resolve_started_at: datetime | None = None
    resolved_at: datetime | None = None

    def __post_init__(self) -> None:
        # A dispatch or a rework starts both department clocks at once.
        if self.resolve_started_at is None:
            self.resolve_started_at = self.clock_started_at


LADDER = build_ladder(
    ack=StepLimit(within=30, unit=TimeUnit.MINUTES),
    checkin=StepLimit(within=2, unit=TimeUnit.HOURS),
    resolve=StepLimit(within=3, unit=TimeUnit.WORK_DAYS),
)


@pytest.mark.parametrize(
    ("start", "limit", "expected"),
    [
        # Friday afternoon: the weekend does not count.
        ("2026-11-27T16:00:00", work_days(1), "2026-11-30T16:00:00"),
        # Month end (30 November is a Monday).
        ("2026-11-30T11:00:00", work_days(1), "2026-12-01T11:00:00"),
        # Lunch (12:00-13:30) is outside working hours.
        ("2026-11-23T11:30:00", Limit(1, TimeUnit.WORK_HOURS), "2026-11-23T14:00:00"),
        # After hours: the clock starts next morning.
        ("2026-11-23T19:00:00", Limit(2, TimeUnit.WORK_HOURS), "2026-11-24T11:00:00"),
        # Before hours on a working day.
        ("2026-11-24T07:00:00", Limit(1, TimeUnit.WORK_HOURS), "2026-11-24T10:00:00"),
        # National Day: 1-7 October off, Saturday 10 October worked (调休).
        ("2026-09-30T17:00:00", Limit(1, TimeUnit.WORK_HOURS), "2026-10-08T09:30:00"),
        ("2026-10-09T17:00:00", work_days(1), "2026-10-10T17:00:00"),
        # Spring Festival 2026: 15-23 February off; Saturday 14 February worked.
        ("2026-02-13T17:00:00", work_days(1), "2026-02-14T17:00:00"),
        ("2026-02-14T17:00:00", work_days(1), "2026-02-24T17:00:00"),
        # ... and Saturday 28 February too: the fifth working day after the 14th.
        ("2026-02-14T17:00:00", work_days(5), "2026-02-28T17:00:00"),
        # Labour Day 2026: 1-5 May off; Saturday 9 May worked.
        ("2026-04-30T10:00:00", work_days(1), "2026-05-06T10:00:00"),
        # Natural units ignore the calendar, to the second.
        ("2026-10-01T10:00:00", Limit(30, TimeUnit.MINUTES), "2026-10-01T10:30:00"),
        ("2026-10-01T10:00:00", Limit(7, TimeUnit.SECONDS), "2026-10-01T10:00:07"),
        ("2026-12-31T23:00:00", Limit(2, TimeUnit.HOURS), "2027-01-01T01:00:00"),
        ("2026-02-28T12:00:00", Limit(1, TimeUnit.DAYS), "2026-03-01T12:00:00"),
    ],
)
def test_deadlines_on_the_chinese_working_calendar(start: str, limit: Limit, expected: str) -> None:
    assert due(start, limit) == cst(expected)


def test_urgent_cases_get_half_of_every_limit() -> None:
    assert due("2026-11-23T10:00:00", Limit(30, TimeUnit.MINUTES), Priority.URGENT) == cst(
        "2026-11-23T10:15:00"
    )
    # Half a working day = 3.5 working hours, across lunch.
    assert due("2026-11-23T10:00:00", work_days(1), Priority.URGENT) == cst("2026-11-23T15:00:00")


def test_year_end_into_an_unknown_year_falls_back_and_an_admin_fixes_it() -> None:
    cal = WorkCalendar()
    start = cst("2026-12-31T17:00:00")
    # Weekends and the fixed-date holidays: 1 January 2027, a Friday, is off.
    due = add_limit(start, work_days(1), cal, Priority.NORMAL)
    assert due == cst("2027-01-04T17:00:00")
    assert cal.unknown_years == {2027}
    assert estimated(start, due, work_days(1), cal)
    # An admin's entry is the whole schedule: here 2 January (a Saturday) made a workday.
    fixed = cal.with_schedule(2027, holidays=[date(2027, 1, 1)], workdays=[date(2027, 1, 2)])
    due = add_limit(start, work_days(1), fixed, Priority.NORMAL)
    assert due == cst("2027-01-02T17:00:00")
    assert fixed.knows(2027) and not fixed.unknown_years
    assert not estimated(start, due, work_days(1), fixed)


def test_configurable_working_hours() -> None:
    early = WorkCalendar(
        windows=(
            WorkWindow(
                start=cst("2026-01-01T08:00:00").time(), end=cst("2026-01-01T16:00:00").time()
            ),
        )
    )
    assert early.seconds_per_day == 8 * 3600
    assert add_limit(
        cst("2026-11-23T15:00:00"), Limit(2, TimeUnit.WORK_HOURS), early, Priority.NORMAL
    ) == cst("2026-11-24T09:00:00")


def test_plan_places_every_rung_of_the_running_clocks() -> None:
    case = FakeCase(clock_started_at=cst("2026-11-27T16:00:00"))  # a Friday
    rows = {(p.step, p.kind): p for p in plan(case, LADDER, CAL)}
    assert rows[(Step.ACK, RungKind.WARNING)].fire_at == cst("2026-11-27T16:22:30")
    assert rows[(Step.ACK, RungKind.BREACH)].fire_at == cst("2026-11-27T16:30:00")
    assert rows[(Step.ACK, RungKind.OVERDUE)].fire_at == cst("2026-11-27T17:00:00")
    assert rows[(Step.CHECKIN, RungKind.BREACH)].fire_at == cst("2026-11-27T18:00:00")
    # 3 working days (7 h each) from Friday 16:00 is Wednesday 16:00; 75% of 21 h is
    # 15.75 h: 1.5 on Friday, 7 on Monday, 7 on Tuesday, 0.25 on Wednesday morning.
    resolve = rows[(Step.RESOLVE, RungKind.BREACH)]
    assert resolve.due_at == resolve.fire_at == cst("2026-12-02T16:00:00")
    assert rows[(Step.RESOLVE, RungKind.WARNING)].fire_at == cst("2026-12-02T09:15:00")
    # Long overdue at twice the limit: six working days.
    assert rows[(Step.RESOLVE, RungKind.OVERDUE)].fire_at == cst("2026-12-07T16:00:00")
    assert Step.VERIFY not in {p.step for p in rows.values()}
    assert Step.CONFIRM not in {p.step for p in rows.values()}


@pytest.mark.parametrize(
    ("state", "steps"),
    [
        (CaseState.DISPATCHED, {Step.ACK, Step.CHECKIN, Step.RESOLVE}),
        (CaseState.ACKNOWLEDGED, {Step.CHECKIN, Step.RESOLVE}),
        (CaseState.ON_SITE, {Step.RESOLVE}),
        (CaseState.RESOLVED, {Step.VERIFY}),
        (CaseState.AWAITING_CONFIRMATION, {Step.CONFIRM}),
        (CaseState.RETURNED, set()),
        (CaseState.CLOSED, set()),
    ],
)
def test_which_clocks_run_in_each_state(state: CaseState, steps: set[Step]) -> None:
    t = cst("2026-11-23T10:00:00")
    case = FakeCase(state=state, dispatched_at=t, clock_started_at=t, resolved_at=t)
    assert {p.step for p in plan(case, LADDER, CAL)} == steps


def test_a_restarted_clock_gets_new_keys_a_moved_deadline_keeps_them() -> None:
    t = cst("2026-11-23T10:00:00")
    first = plan(FakeCase(clock_started_at=t), LADDER, CAL)
    rework = plan(FakeCase(clock_started_at=t + timedelta(hours=1)), LADDER, CAL)
    assert not {p.key for p in first} & {p.key for p in rework}
    holiday = WorkCalendar().with_schedule(2026, holidays=[date(2026, 11, 24)], workdays=[])
    moved = plan(FakeCase(clock_started_at=t), LADDER, holiday)
    assert {p.key for p in moved} == {p.key for p in first}
    assert max(p.fire_at for p in moved) > max(p.fire_at for p in first)


def test_ladder_overrides_and_round_trip() -> None:
    override = LadderOverride(
        verify=StepLimit(within=2, unit=TimeUnit.HOURS),
        rungs=(Rung(step=Step.ACK, at=1.0, kind=RungKind.BREACH),),
    )
    ladder = build_ladder(
        ack=StepLimit(within=1, unit=TimeUnit.MINUTES),
        checkin=StepLimit(within=1, unit=TimeUnit.MINUTES),
        resolve=StepLimit(within=1, unit=TimeUnit.MINUTES),
        override=override,
    )
    assert len(ladder.rungs) == 1 and ladder.limits[Step.VERIFY].within == 2
    assert ladder_from_json(ladder_json(ladder)) == ladder
    assert (
        build_ladder(
            ack=ladder.limits[Step.ACK],
            checkin=ladder.limits[Step.ACK],
            resolve=ladder.limits[Step.ACK],
        ).rungs
        == DEFAULT_RUNGS
    )
    with pytest.raises(ValueError, match="no limit"):
        Ladder(limits={}, rungs=(Rung(step=Step.ACK, at=1.0, kind=RungKind.BREACH),))


# Hypothesis takes naive bounds and attaches the zone itself.
NAIVE_FROM = datetime(2025, 1, 1)  # noqa: DTZ001
NAIVE_TO = datetime(2026, 12, 31)  # noqa: DTZ001


@given(
    start=st.datetimes(min_value=NAIVE_FROM, max_value=NAIVE_TO).map(
        lambda d: d.replace(tzinfo=SHANGHAI)
    ),
    seconds=st.integers(min_value=1, max_value=40 * 7 * 3600),
)
def test_work_time_lands_inside_working_hours_on_a_working_day(
    start: datetime, seconds: int
) -> None:
    end = CAL.add_work_seconds(start, seconds).astimezone(SHANGHAI)
    assert end > start
    assert CAL.is_workday(end.date())
    assert any(w.start <= end.time() <= w.end for w in CAL.windows)


def test_working_hours_come_from_the_settings_and_bad_ones_are_refused() -> None:
    from pydantic import ValidationError

    from hub.config import Settings
    from hub.sla.calendar import parse_windows

    windows = parse_windows(Settings(work_hours="08:30-12:00,14:00-18:00").work_hours)
    assert WorkCalendar(windows=windows).seconds_per_day == 7.5 * 3600
    for bad in ("12:00-09:00", "09:00-13:00,12:00-17:00", "9-17", "09:00-25:00"):
        with pytest.raises(ValidationError):
            Settings(work_hours=bad)
