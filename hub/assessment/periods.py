"""Assessment periods in China Standard Time: a day, an ISO week (Monday first), a month,
or any span of whole days; each with the one before it, for "change since last period".
Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum

from hub.clock import SHANGHAI

MAX_DAYS = 366  # a custom span longer than a year is refused: use several reports


class PeriodKind(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    CUSTOM = "custom"


@dataclass(frozen=True)
class Period:
    kind: PeriodKind
    first: date  # first day, inclusive
    last: date  # last day, inclusive

    @property
    def start(self) -> datetime:
        return _utc(self.first)

    @property
    def end(self) -> datetime:
        return _utc(self.last + timedelta(days=1))

    @property
    def days(self) -> list[date]:
        return [self.first + timedelta(days=i) for i in range((self.last - self.first).days + 1)]

    def previous(self) -> Period:
        if self.kind is PeriodKind.MONTH:
            last = self.first - timedelta(days=1)
            return Period(self.kind, last.replace(day=1), last)
        span = (self.last - self.first).days + 1
        return Period(self.kind, self.first - timedelta(days=span), self.first - timedelta(days=1))

    def label(self, lang: str = "zh") -> str:
        if self.kind is PeriodKind.MONTH:
            return (
                f"{self.first.year}年{self.first.month}月"
                if lang == "zh"
                else f"{self.first:%B %Y}"
            )
        if self.first == self.last:
            return f"{self.first:%Y-%m-%d}"
        return f"{self.first:%Y-%m-%d} – {self.last:%Y-%m-%d}"

    def as_dict(self) -> dict[str, str]:
        return {
            "kind": self.kind.value,
            "first": self.first.isoformat(),
            "last": self.last.isoformat(),
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "label_zh": self.label("zh"),
            "label_en": self.label("en"),
        }


def _utc(day: date) -> datetime:
    return datetime.combine(day, time(), SHANGHAI).astimezone(UTC)


def local_day(at: datetime) -> date:
    return at.astimezone(SHANGHAI).date()


def period_of(kind: PeriodKind, day: date) -> Period:
    """The day, week or month holding `day`."""
    if kind is PeriodKind.DAY:
        return Period(kind, day, day)
    if kind is PeriodKind.WEEK:
        first = day - timedelta(days=day.weekday())
        return Period(kind, first, first + timedelta(days=6))
    if kind is PeriodKind.MONTH:
        first = day.replace(day=1)
        following = (first + timedelta(days=32)).replace(day=1)
        return Period(kind, first, following - timedelta(days=1))
    return Period(kind, day, day)


def custom(first: date, last: date) -> Period:
    if last < first:
        raise ValueError("the period ends before it starts")
    if (last - first).days + 1 > MAX_DAYS:
        raise ValueError(f"a period may span at most {MAX_DAYS} days")
    return Period(PeriodKind.CUSTOM, first, last)
