"""The Chinese working calendar: statutory holidays and make-up working days (调休).

Years the `chinese_calendar` library does not know fall back to weekends and the
fixed-date holidays unless an admin has entered that year's schedule; every such fallback
is recorded so it can be shown loudly (log, metric, wall flag), and a deadline counted on
one is flagged as an estimate."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from itertools import pairwise
from typing import Protocol
from zoneinfo import ZoneInfo

import chinese_calendar

from hub.clock import SHANGHAI

log = logging.getLogger(__name__)

MAX_SEARCH_DAYS = 3660
# Holidays on fixed dates, as (month, first day, days off), counted even in a year the
# library does not know. The lengths are what the library's years 2019-2026 give: New
# Year's Day alone every year; 1-5 May in five of the eight (2019, 2022 and 2023 stopped
# at the 4th or 3rd); 1-7 October in all but 2023, whose Mid-Autumn Festival moved the
# week. The lunar holidays (Spring Festival, Qingming, Dragon Boat, Mid-Autumn) and every
# make-up working weekend move from year to year and cannot be guessed.
FIXED_HOLIDAYS: tuple[tuple[int, int, int], ...] = ((1, 1, 1), (5, 1, 5), (10, 1, 7))


def fixed_holiday(day: date) -> bool:
    return any(
        day.month == month and first <= day.day < first + length
        for month, first, length in FIXED_HOLIDAYS
    )


@dataclass(frozen=True)
class WorkWindow:
    start: time
    end: time

    @property
    def seconds(self) -> int:
        return (self.end.hour * 3600 + self.end.minute * 60) - (
            self.start.hour * 3600 + self.start.minute * 60
        )


DEFAULT_WINDOWS = (WorkWindow(time(9, 0), time(12, 0)), WorkWindow(time(13, 30), time(17, 30)))


def parse_windows(text: str) -> tuple[WorkWindow, ...]:
    """`"09:00-12:00,13:30-17:30"`: ordered, non-overlapping windows within a day."""
    windows = []
    for part in text.split(","):
        start, end = (time.fromisoformat(t.strip()) for t in part.split("-"))
        windows.append(WorkWindow(start, end))
    for a, b in pairwise(windows):
        if b.start < a.end:
            raise ValueError(f"working hours overlap or are out of order: {text}")
    if any(w.seconds <= 0 for w in windows):
        raise ValueError(f"a working-hours window ends before it starts: {text}")
    return tuple(windows)


@dataclass
class WorkCalendar:
    windows: tuple[WorkWindow, ...] = DEFAULT_WINDOWS
    tz: ZoneInfo = SHANGHAI
    # Admin-entered schedule for a year the library lacks (or corrections to it).
    extra_holidays: frozenset[date] = frozenset()
    extra_workdays: frozenset[date] = frozenset()
    admin_years: frozenset[int] = frozenset()
    unknown_years: set[int] = field(default_factory=set)
    _days: dict[date, bool] = field(default_factory=dict, repr=False, compare=False)

    @property
    def seconds_per_day(self) -> int:
        return sum(w.seconds for w in self.windows)

    def is_workday(self, day: date) -> bool:
        known = self._days.get(day)
        if known is None:
            known = self._days[day] = self._is_workday(day)
        return known

    def _is_workday(self, day: date) -> bool:
        if day in self.extra_workdays:
            return True
        if day in self.extra_holidays:
            return False
        try:
            return bool(chinese_calendar.is_workday(day))
        except NotImplementedError:
            if day.year not in self.admin_years and day.year not in self.unknown_years:
                self.unknown_years.add(day.year)
                log.warning(
                    "no holiday schedule for %s: counting weekends and fixed-date "
                    "holidays only until an admin enters the year's holidays and "
                    "make-up days",
                    day.year,
                )
            if day.year in self.admin_years:
                return day.weekday() < 5  # the admin's entry is the whole schedule
            return day.weekday() < 5 and not fixed_holiday(day)

    def knows(self, year: int) -> bool:
        """Whether `year`'s holidays are known (to the library or entered by an admin);
        asking records an unknown year like any deadline falling into it would."""
        self.is_workday(date(year, 1, 1))
        return year not in self.unknown_years

    def estimated(self, start: datetime, end: datetime) -> bool:
        """Whether counting working time from `start` to `end` went through a year whose
        holidays nobody knows (the weekends-and-fixed-holidays fallback)."""
        first, last = start.astimezone(self.tz).year, end.astimezone(self.tz).year
        return any(not self.knows(year) for year in range(first, last + 1))

    def add_work_seconds(self, start: datetime, seconds: int) -> datetime:
        local = start.astimezone(self.tz)
        remaining = seconds
        day = local.date()
        for _ in range(MAX_SEARCH_DAYS):
            if self.is_workday(day):
                for window in self.windows:
                    w_start = datetime.combine(day, window.start, self.tz)
                    w_end = datetime.combine(day, window.end, self.tz)
                    begin = max(w_start, local)
                    if begin >= w_end:
                        continue
                    available = int((w_end - begin).total_seconds())
                    if remaining <= available:
                        return (begin + timedelta(seconds=remaining)).astimezone(start.tzinfo)
                    remaining -= available
            day += timedelta(days=1)
        raise ValueError(f"no working time found within {MAX_SEARCH_DAYS} days of {start}")

    def add_work_days(self, start: datetime, days: float) -> datetime:
        return self.add_work_seconds(start, int(days * self.seconds_per_day))

    def with_schedule(
        self, year: int, holidays: Iterable[date], workdays: Iterable[date]
    ) -> WorkCalendar:
        """A copy that knows `year`'s schedule as entered by an admin."""
        return WorkCalendar(
            windows=self.windows,
            tz=self.tz,
            extra_holidays=self.extra_holidays | frozenset(holidays),
            extra_workdays=self.extra_workdays | frozenset(workdays),
            admin_years=self.admin_years | {year},
        )

    def with_days(self, days: Iterable[EnteredDay]) -> WorkCalendar:
        """A copy with the admin-entered days (a year with any entered day counts as
        known: its other days follow the weekend rule without a warning)."""
        entered = list(days)
        return WorkCalendar(
            windows=self.windows,
            tz=self.tz,
            extra_holidays=self.extra_holidays
            | frozenset(d.day for d in entered if not d.is_workday),
            extra_workdays=self.extra_workdays | frozenset(d.day for d in entered if d.is_workday),
            admin_years=self.admin_years | frozenset(d.year for d in entered),
        )


class EnteredDay(Protocol):
    day: date
    is_workday: bool
    year: int
