"""The assessment indicators, as pure functions of the projection's rows and a period.
docs/assessment.md defines each (numerator, denominator, edge cases); the names here are
the keys of the API and the reports.

Timeliness is judged by due time: a step counts in the period its due time falls in, once
that time has passed or the step is done (`as_of` is now, or the period's end). A
department's spell is judged by its own first due times; a case (for a region) by its
original ones, which re-routing never moves later."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hub.assessment.models import AssessedCase, Holding
from hub.enums import Satisfaction, Source

_NOT_DUE = frozenset({"merged", "cancelled"})  # out of 应结案数: merged cases go with their target
_MISDISPATCH = frozenset({"returned", "transferred"})
_CONTENT = frozenset({Satisfaction.SATISFIED.value, Satisfaction.BASICALLY.value})
HOTLINE = Source.HOTLINE_12345.value


@dataclass(frozen=True)
class Window:
    start: datetime
    end: datetime  # exclusive
    as_of: datetime  # what has happened by now: due times after it are not due yet

    def within(self, at: datetime | None) -> bool:
        return at is not None and self.start <= at < self.end and at <= self.as_of

    def due(self, at: datetime | None, done: datetime | None) -> bool:
        """A step due in the period counts once its time is up, or once it is done."""
        if at is None or not self.start <= at < self.end:
            return False
        return at <= self.as_of or (done is not None and done <= self.as_of)


@dataclass(frozen=True)
class Ratio:
    numerator: int
    denominator: int

    @property
    def value(self) -> float | None:
        return None if self.denominator == 0 else self.numerator / self.denominator

    def as_dict(self) -> dict[str, Any]:
        v = self.value
        return {
            "numerator": self.numerator,
            "denominator": self.denominator,
            "value": None if v is None else round(v, 4),
        }


def _ratio(rows: Iterable[Any], counts: Callable[[Any], bool], hit: Callable[[Any], bool]) -> Ratio:
    n = d = 0
    for row in rows:
        if counts(row):
            d += 1
            n += hit(row)
    return Ratio(n, d)


def _step_ratio(spells: Iterable[Holding], w: Window, due: str, done: str) -> Ratio:
    """Spells whose step was due in the window; on time if done by its due time. A spell
    handed on before its due time without doing the step is not judged on it."""

    def counts(h: Holding) -> bool:
        at, finished = getattr(h, due), getattr(h, done)
        if not w.due(at, finished):
            return False
        return finished is not None or h.ended_at is None or h.ended_at > at

    def hit(h: Holding) -> bool:
        finished = getattr(h, done)
        return finished is not None and finished <= getattr(h, due)

    return _ratio(spells, counts, hit)


def holding_indicators(spells: list[Holding], w: Window) -> dict[str, Ratio]:
    """A department's (or staff member's, or region's) spells, judged by their own clocks."""
    started = [h for h in spells if w.within(h.started_at)]
    resolved = [h for h in started if h.resolutions > 0]
    level3 = [h for h in spells if h.whistle_level == 3]
    hotline = [h for h in spells if h.source == HOTLINE]
    return {
        "ack_on_time": _step_ratio(spells, w, "ack_due_at", "acknowledged_at"),
        "checkin_on_time": _step_ratio(spells, w, "checkin_due_at", "checked_in_at"),
        "resolve_on_time": _step_ratio(spells, w, "resolve_due_at", "resolved_at"),
        "rework_rate": Ratio(sum(h.rejections > 0 for h in resolved), len(resolved)),
        "return_rate": Ratio(sum(h.end == "returned" for h in started), len(started)),
        "accurate_dispatch": Ratio(sum(h.end not in _MISDISPATCH for h in started), len(started)),
        "county_response": _step_ratio(level3, w, "ack_due_at", "acknowledged_at"),
        "hotline_response": _step_ratio(hotline, w, "ack_due_at", "acknowledged_at"),
    }


def case_indicators(cases: list[AssessedCase], w: Window) -> dict[str, Ratio]:
    """A region's cases, judged by their original due times (应结案数 = cases due)."""
    due = [
        c
        for c in cases
        if c.state not in _NOT_DUE and w.due(c.original_resolve_due_at, c.resolved_at)
    ]
    follow = [c for c in cases if w.within(c.followed_up_at)]
    hotline = [c for c in follow if c.source == HOTLINE]
    return {
        "resolved_on_time": Ratio(sum(_resolved_on_time(c) for c in due), len(due)),
        "closed_on_time": Ratio(sum(_closed_on_time(c) for c in due), len(due)),
        "closure_rate": Ratio(sum(_closed(c, w) for c in due), len(due)),
        "case_rework_rate": Ratio(sum(c.rework_count > 0 for c in due), len(due)),
        "satisfaction_rate": Ratio(sum(_content(c) for c in follow), len(follow)),
        "hotline_resolution": Ratio(sum(bool(c.followup_resolved) for c in hotline), len(hotline)),
        "hotline_satisfaction": Ratio(sum(_content(c) for c in hotline), len(hotline)),
    }


def _resolved_on_time(c: AssessedCase) -> bool:
    due = c.original_resolve_due_at
    return c.resolved_at is not None and due is not None and c.resolved_at <= due


def _closed(c: AssessedCase, w: Window) -> bool:
    return c.closed_at is not None and c.closed_at <= w.as_of


def _closed_on_time(c: AssessedCase) -> bool:
    """Resolved by its original due time, and closed by the township's verification due
    time that resolution started (no verification limit: by the resolution due time)."""
    if not _resolved_on_time(c) or c.closed_at is None:
        return False
    limit = c.verify_due_at or c.original_resolve_due_at
    assert limit is not None
    return c.closed_at <= limit


def _content(c: AssessedCase) -> bool:
    return c.followup_satisfaction in _CONTENT


def township_scores(cases: list[AssessedCase], w: Window) -> tuple[int, int]:
    """(sum, count) of the township's 1–5 scores given in the window (一哨一考核)."""
    scores = [c.township_score for c in cases if w.within(c.evaluated_at) and c.township_score]
    return sum(scores), len(scores)


def all_indicators(cases: list[AssessedCase], spells: list[Holding], w: Window) -> dict[str, Ratio]:
    total, n = township_scores(cases, w)
    out = {**holding_indicators(spells, w), **case_indicators(cases, w)}
    # The mean score as a ratio of points to the most a case could get (5 per case).
    out["township_score"] = Ratio(total, 5 * n)
    return out


INDICATORS: dict[str, tuple[str, str]] = {
    "ack_on_time": ("及时签收率", "Acknowledged in time"),
    "checkin_on_time": ("报到及时率", "Reported on site in time"),
    "resolve_on_time": ("按期处置率（部门）", "Resolved in time (department)"),
    "rework_rate": ("返工率（部门）", "Rework rate (department)"),
    "return_rate": ("退回率", "Return rate"),
    "accurate_dispatch": ("准确派遣率", "Accurate dispatch rate"),
    "county_response": ("乡呼县应响应率", "County answered level-3 whistles in time"),
    "hotline_response": ("12345响应率", "12345 response rate"),
    "resolved_on_time": ("按期处置率", "Resolved on time"),
    "closed_on_time": ("按期结案率", "Closed on time"),
    "closure_rate": ("结案率", "Closure rate"),
    "case_rework_rate": ("返工率", "Rework rate"),
    "satisfaction_rate": ("满意率", "Satisfaction rate"),
    "hotline_resolution": ("12345解决率", "12345 resolution rate"),
    "hotline_satisfaction": ("12345满意率", "12345 satisfaction rate"),
    "township_score": ("街乡评价得分率", "Township's score (share of the maximum)"),
}
