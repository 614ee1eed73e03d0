"""Deadline arithmetic on the Chinese working calendar (pure; no I/O)."""

from __future__ import annotations

from datetime import date, datetime

from hub.clock import SHANGHAI
from hub.enums import Priority, TimeUnit
from hub.sla.calendar import WorkCalendar
from hub.sla.deadlines import Limit, add_limit


def cst(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


CAL = WorkCalendar()


def test_natural_units_have_second_precision() -> None:
    start = cst("2026-11-23T10:00:00")
    assert add_limit(start, Limit(7, TimeUnit.SECONDS), CAL, Priority.NORMAL) == cst(
        "2026-11-23T10:00:07"
    )
    assert add_limit(start, Limit(30, TimeUnit.MINUTES), CAL, Priority.URGENT) == cst(
        "2026-11-23T10:15:00"
    )


def test_work_days_skip_the_weekend() -> None:
    friday = cst("2026-11-27T16:00:00")  # 1.5 working hours left on Friday
    assert CAL.add_work_days(friday, 1) == cst("2026-11-30T16:00:00")
    assert CAL.add_work_seconds(friday, 2 * 3600) == cst("2026-11-30T09:30:00")


def test_national_day_holiday_and_make_up_saturday() -> None:
    # 2026: 1-7 October off; Saturday 10 October is a make-up working day (调休).
    assert not CAL.is_workday(date(2026, 10, 5))
    assert CAL.is_workday(date(2026, 10, 10))
    start = cst("2026-09-30T17:00:00")
    assert CAL.add_work_seconds(start, 3600) == cst("2026-10-08T09:30:00")
    assert CAL.add_work_days(cst("2026-10-09T17:00:00"), 1) == cst("2026-10-10T17:00:00")


def test_spring_festival_2026() -> None:
    # 2026 Spring Festival: 15-23 February off, Saturday 14 February worked instead.
    assert CAL.add_work_days(cst("2026-02-13T17:00:00"), 1) == cst("2026-02-14T17:00:00")
    assert CAL.add_work_days(cst("2026-02-14T17:00:00"), 1) == cst("2026-02-24T17:00:00")


def test_unknown_year_falls_back_to_weekends_and_says_so() -> None:
    cal = WorkCalendar()
    start = cst("2026-12-31T17:00:00")
    due = cal.add_work_days(start, 1)
    # Weekends and fixed-date holidays: New Year's Day 2027, a Friday, is off.
    assert due == cst("2027-01-04T17:00:00")
    assert 2027 in cal.unknown_years and cal.estimated(start, due)
    entered = cal.with_schedule(2027, holidays=[date(2027, 1, 4)], workdays=[])
    # The admin's entry is the whole year: 1 January counts as they say (worked here).
    assert entered.add_work_days(start, 1) == cst("2027-01-01T17:00:00")
    assert not entered.is_workday(date(2027, 1, 4))
    assert entered.unknown_years == set() and not entered.estimated(start, due)
