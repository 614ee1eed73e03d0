"""2027, a year `chinese-calendar` does not know: weekends and the fixed-date holidays,
and every deadline counted on it flagged as an estimate — on the case, on its deadline
rows and on the events — until an admin enters the year."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import chinese_calendar
import httpx
import pytest

from hub.clock import SHANGHAI, FrozenClock
from hub.deps import Hub
from hub.enums import Priority, TimeUnit
from hub.sla.calendar import FIXED_HOLIDAYS, WorkCalendar, fixed_holiday
from hub.sla.deadlines import Limit, add_limit, estimated
from hub.sla.engine import SlaEngine
from tests.helpers import Api, Auth

KNOWN_YEARS = range(2019, 2027)  # the library's recent years, under today's rules


def cst(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


def off_in(month: int, day: int) -> int:
    """In how many of the known years this date was a day off."""
    return sum(not chinese_calendar.is_workday(date(y, month, day)) for y in KNOWN_YEARS)


def test_the_fixed_holidays_are_what_the_librarys_years_keep() -> None:
    majority = len(KNOWN_YEARS) // 2 + 1
    for month, first, length in FIXED_HOLIDAYS:
        for day in range(first, first + length):
            assert off_in(month, day) >= majority, (month, day)
        # The day after each block is usually worked (a longer block would be a guess).
        assert off_in(month, first + length) < majority, (month, first + length)
    assert off_in(1, 1) == len(KNOWN_YEARS)  # New Year's Day, every year


def test_2027_counts_weekends_and_the_fixed_holidays() -> None:
    cal = WorkCalendar()
    days = [date(2027, 1, 1) + timedelta(days=i) for i in range(365)]
    for day in days:
        expected = day.weekday() < 5 and not fixed_holiday(day)
        assert cal.is_workday(day) is expected, day
    # 261 weekdays, less New Year's Day (Fri), 3-5 May (Mon-Wed), 1 and 4-7 October.
    assert sum(cal.is_workday(d) for d in days) == 261 - 1 - 3 - 5
    assert not cal.is_workday(date(2027, 5, 5)) and cal.is_workday(date(2027, 5, 6))
    assert not cal.is_workday(date(2027, 10, 7)) and cal.is_workday(date(2027, 10, 8))
    assert cal.unknown_years == {2027}


@pytest.mark.parametrize(
    ("start", "limit", "due", "guess"),
    [
        # Wholly in a known year: exact.
        ("2026-12-28T10:00:00", Limit(2, TimeUnit.WORK_DAYS), "2026-12-30T10:00:00", False),
        # Into 2027 across New Year's Day: an estimate.
        ("2026-12-30T10:00:00", Limit(3, TimeUnit.WORK_DAYS), "2027-01-05T10:00:00", True),
        # Across Labour Day and National Day 2027.
        ("2027-04-30T10:00:00", Limit(1, TimeUnit.WORK_DAYS), "2027-05-06T10:00:00", True),
        ("2027-09-30T16:00:00", Limit(2, TimeUnit.WORK_HOURS), "2027-10-08T09:30:00", True),
        # Natural time needs no calendar: never an estimate, even in 2027.
        ("2027-10-01T10:00:00", Limit(2, TimeUnit.DAYS), "2027-10-03T10:00:00", False),
    ],
)
def test_deadlines_across_2027_are_flagged_as_estimates(
    start: str, limit: Limit, due: str, guess: bool
) -> None:
    cal = WorkCalendar()
    found = add_limit(cst(start), limit, cal, Priority.NORMAL)
    assert found == cst(due)
    assert estimated(cst(start), found, limit, cal) is guess
    known = cal.with_schedule(2027, holidays=[], workdays=[])
    assert not estimated(cst(start), found, limit, known)


@pytest.fixture
def api(client: httpx.AsyncClient, auth: Auth) -> Api:
    return Api(client, auth)


async def test_a_2027_case_and_its_rows_and_events_say_estimated(
    api: Api, client: httpx.AsyncClient, auth: Auth, hub: Hub, clock: FrozenClock
) -> None:
    clock.set(cst("2027-04-29T10:00:00"))  # Thursday; T01 resolves in 3 working days
    case = await api.create(title="占道经营", category_code="T01")
    # Friday, (Labour Day 1-5 May off) Thursday 6 May, Friday 7 May.
    assert case["resolve_due_at"] == "2027-05-07T10:00:00+08:00"
    assert case["deadlines_estimated"] is True
    rows = (await client.get(f"/api/v1/cases/{case['id']}/deadlines", headers=auth("admin"))).json()
    assert {r["step"]: r["estimated"] for r in rows} == {
        "ack": False,  # 30 minutes: natural time
        "checkin": False,
        "resolve": True,
    }
    clock.set(cst("2027-05-07T10:00:00"))
    await SlaEngine(hub, worker_id="t").run_due()
    fired = [e["payload"] for e in await api.events(case["id"]) if e["type"].startswith("sla_")]
    by_step = {(p["step"], p.get("action")): p.get("estimated") for p in fired}
    assert by_step[("ack", None)] is False
    assert by_step[("resolve", None)] is True
