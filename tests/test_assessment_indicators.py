"""Every indicator and a weighted score against a hand-computed fixture (docs/assessment.md
defines them): spells handed on before and after their due time, steps due on either side
of the period's edges in China Standard Time, merged and cancelled cases, a reopened and a
reworked case, a whistle answered late by the county, a 2027 estimated deadline."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from hub.assessment.indicators import Ratio, Window, all_indicators
from hub.assessment.models import AssessedCase, Holding
from hub.assessment.periods import PeriodKind, custom, period_of
from hub.assessment.schemes import DEFAULTS, SchemeError, SchemeKind, score, validate
from hub.assessment.service import ranked
from hub.clock import SHANGHAI

NOV = period_of(PeriodKind.MONTH, date(2026, 11, 15))
W = Window(NOV.start, NOV.end, datetime(2026, 12, 3, tzinfo=UTC))


def t(text: str) -> datetime:
    """A CST wall time such as "11-05 10:00" (2026 unless the text has a year)."""
    full = text if text.count("-") == 2 else f"2026-{text}"
    return datetime.fromisoformat(full).replace(tzinfo=SHANGHAI).astimezone(UTC)


def spell(n: int, **kw: Any) -> Holding:
    values: dict[str, Any] = {
        "case_id": n,
        "n": 1,
        "department_id": 1,
        "city_id": 1,
        "county_id": 2,
        "township_id": 3,
        "source": "grid_patrol",
        "started_at": t("11-05 09:00"),
    }
    values.update(kw)
    return Holding(**values)


SPELLS = [
    # h1: every step on time; from the hotline
    spell(
        1,
        source="hotline_12345",
        ack_due_at=t("11-05 10:00"),
        acknowledged_at=t("11-05 09:50"),
        checkin_due_at=t("11-05 12:00"),
        checked_in_at=t("11-05 11:00"),
        resolve_due_at=t("11-08 18:00"),
        resolved_at=t("11-07 10:00"),
        resolutions=1,
    ),
    # h2: a level-3 whistle, acknowledged and on site late, never resolved (still held)
    spell(
        2,
        whistle_level=3,
        ack_due_at=t("11-05 10:00"),
        acknowledged_at=t("11-05 10:30"),
        checkin_due_at=t("11-05 12:00"),
        checked_in_at=t("11-05 13:00"),
        resolve_due_at=t("11-08 18:00"),
    ),
    # h3: transferred away before its acknowledgement was due: not judged on it
    spell(3, ack_due_at=t("11-05 10:00"), ended_at=t("11-05 09:30"), end="transferred"),
    # h4: transferred away after its acknowledgement was due: late, and stays late
    spell(4, ack_due_at=t("11-05 10:00"), ended_at=t("11-05 11:00"), end="transferred"),
    # h5: due before the period (31 Oct, 23:59 CST): last month's
    spell(
        5,
        started_at=t("10-31 20:00"),
        ack_due_at=t("10-31 23:59"),
        acknowledged_at=t("11-01 08:00"),
    ),
    # h6: due after the period (1 Dec, 00:30 CST), started in it
    spell(6, started_at=t("11-30 23:50"), ack_due_at=t("12-01 00:30")),
    # h7: the period's last half hour; a level-3 whistle answered in time
    spell(
        7,
        whistle_level=3,
        started_at=t("11-30 22:00"),
        ack_due_at=t("11-30 23:30"),
        acknowledged_at=t("11-30 23:00"),
    ),
    # h8: still held, never acknowledged, due in the period
    spell(8, started_at=t("11-20 08:00"), ack_due_at=t("11-20 09:00")),
    # h9: due in 2027 on an estimated calendar: not this period's
    spell(9, started_at=t("11-25 08:00"), resolve_due_at=t("2027-01-15 18:00")),
    # h10: resolved twice (rework once), then returned
    spell(
        10,
        started_at=t("11-10 08:00"),
        resolutions=2,
        rejections=1,
        ended_at=t("11-12 08:00"),
        end="returned",
    ),
    # h11: never acknowledged, the whistle raised past its due time: late, but not a
    # wrong dispatch (the case went up, not back)
    spell(
        11,
        started_at=t("11-06 09:00"),
        ack_due_at=t("11-06 10:00"),
        ended_at=t("11-06 11:00"),
        end="escalated",
    ),
]


def case(n: int, **kw: Any) -> AssessedCase:
    values: dict[str, Any] = {
        "case_id": n,
        "city_id": 1,
        "county_id": 2,
        "township_id": 3,
        "community_id": 4,
        "grid_id": 5,
        "source": "grid_patrol",
        "priority": "normal",
        "state": "closed",
        "created_at": t("11-01 09:00"),
        "original_resolve_due_at": t("11-10 18:00"),
    }
    values.update(kw)
    return AssessedCase(**values)


CASES = [
    # c1: resolved and closed in time; 12345; satisfied; the township gave 5
    case(
        1,
        source="hotline_12345",
        resolved_at=t("11-09 10:00"),
        verify_due_at=t("11-10 10:00"),
        closed_at=t("11-09 12:00"),
        followup_satisfaction="satisfied",
        followup_resolved=True,
        followed_up_at=t("11-12 10:00"),
        township_score=5,
        evaluated_at=t("11-09 13:00"),
    ),
    # c2: resolved late; 12345; unsatisfied and not solved; the township gave 2
    case(
        2,
        source="hotline_12345",
        resolved_at=t("11-11 10:00"),
        verify_due_at=t("11-12 10:00"),
        closed_at=t("11-12 09:00"),
        followup_satisfaction="unsatisfied",
        followup_resolved=False,
        followed_up_at=t("11-13 10:00"),
        township_score=2,
        evaluated_at=t("11-12 10:00"),
    ),
    # c3: resolved in time but verified late; basically satisfied; scored in December
    case(
        3,
        resolved_at=t("11-09 10:00"),
        verify_due_at=t("11-09 18:00"),
        closed_at=t("11-10 09:00"),
        followup_satisfaction="basically_satisfied",
        followup_resolved=True,
        followed_up_at=t("11-14 10:00"),
        township_score=4,
        evaluated_at=t("12-01 10:00"),
    ),
    case(4, state="merged"),  # goes with the case it was merged into
    case(5, state="cancelled"),
    # c6: still open, reworked once
    case(6, state="acknowledged", original_resolve_due_at=t("11-15 18:00"), rework_count=1),
    # c7: due in 2027, counted on an estimated calendar
    case(
        7,
        state="dispatched",
        original_resolve_due_at=t("2027-01-15 18:00"),
        deadlines_estimated=True,
    ),
    # c8: due (and followed up) in October
    case(
        8,
        original_resolve_due_at=t("10-31 20:00"),
        resolved_at=t("10-31 10:00"),
        closed_at=t("10-31 12:00"),
        followup_satisfaction="satisfied",
        followed_up_at=t("10-31 13:00"),
    ),
    # c9: resolved in time in the last hour of the period, not closed yet
    case(
        9,
        state="resolved",
        original_resolve_due_at=t("11-30 23:00"),
        resolved_at=t("11-30 22:00"),
    ),
    # c10: reopened: its resolution is gone, the original due time stands
    case(10, state="dispatched", original_resolve_due_at=t("11-20 18:00"), reopens=1),
]

EXPECTED = {
    "ack_on_time": (2, 6),  # h1, h7 of h1 h2 h4 h7 h8 h11
    "checkin_on_time": (1, 2),  # h1 of h1 h2
    "resolve_on_time": (1, 2),  # h1 of h1 h2 (h9 is due in 2027)
    "rework_rate": (1, 2),  # h10 of the started spells that resolved: h1 h10
    "return_rate": (1, 10),  # h10 of the ten started in November (h5 started in October)
    "accurate_dispatch": (7, 10),  # less h3 h4 (transferred) and h10 (returned)
    "county_response": (1, 2),  # h7 of the level-3 spells h2 h7
    "hotline_response": (1, 1),  # h1
    "resolved_on_time": (3, 6),  # c1 c3 c9 of 应结案 c1 c2 c3 c6 c9 c10
    "closed_on_time": (1, 6),  # c1 (c3 closed after its verification was due)
    "closure_rate": (3, 6),  # c1 c2 c3
    "case_rework_rate": (1, 6),  # c6
    "satisfaction_rate": (2, 3),  # c1 c3 of the November follow-ups c1 c2 c3
    "hotline_resolution": (1, 2),  # c1 of c1 c2
    "hotline_satisfaction": (1, 2),
    "township_score": (7, 10),  # 5 + 2 of at most 2 × 5 (c3 was scored in December)
}


def test_every_indicator_matches_the_hand_count() -> None:
    got = all_indicators(CASES, SPELLS, W)
    assert set(got) == set(EXPECTED)
    assert {k: (r.numerator, r.denominator) for k, r in got.items()} == EXPECTED


def test_a_period_not_over_yet_counts_only_what_was_due_by_now() -> None:
    mid = Window(NOV.start, NOV.end, t("11-05 10:15"))  # after h1's due time, before h7's
    got = all_indicators(CASES, SPELLS, mid)
    assert (got["ack_on_time"].numerator, got["ack_on_time"].denominator) == (1, 3)  # h1 h2 h4


def test_the_weighted_score_matches_the_hand_computation() -> None:
    _name, weights = DEFAULTS[SchemeKind.RESIDENT]
    total, parts = score(weights, all_indicators(CASES, SPELLS, W))
    # 0.4×70 + 0.1×33.33 + 0.15×50 + 0.2×50 + 0.05×(100−50) + 0.1×66.67
    assert total == pytest.approx(58.0, abs=0.01)
    assert {p.indicator: round(p.points, 2) for p in parts} == {
        "township_score": 28.0,
        "ack_on_time": 3.33,
        "checkin_on_time": 7.5,
        "resolve_on_time": 10.0,
        "rework_rate": 2.5,
        "satisfaction_rate": 6.67,
    }


def test_an_indicator_with_nothing_to_judge_drops_out_and_the_rest_scale_up() -> None:
    indicators = all_indicators(CASES, SPELLS, W)
    indicators["checkin_on_time"] = Ratio(0, 0)
    _name, weights = DEFAULTS[SchemeKind.RESIDENT]
    total, parts = score(weights, indicators)
    assert total == pytest.approx((58.0 - 7.5) / 0.85, abs=0.01)
    assert next(p for p in parts if p.indicator == "checkin_on_time").value is None
    assert score(weights, {k: Ratio(0, 0) for k in indicators})[0] is None


@pytest.mark.parametrize(
    ("weights", "message"),
    [
        ({"township_score": 0.5, "speed": 0.5}, "not a scored indicator: speed"),
        ({"township_score": 0.5, "ack_on_time": 0.4}, "add up to 0.9"),
        ({"township_score": 0.2, "ack_on_time": 0.8}, "at least 30%"),
        ({"township_score": 1.5, "ack_on_time": -0.5}, "between 0 and 1"),
    ],
)
def test_a_scheme_that_breaks_the_rules_is_refused(weights: dict[str, float], message: str) -> None:
    with pytest.raises(SchemeError, match=message):
        validate(SchemeKind.RESIDENT, weights)


def test_every_default_scheme_is_valid() -> None:
    for kind, (_name, weights) in DEFAULTS.items():
        assert validate(kind, weights) == weights


def test_rankings_share_tied_ranks_and_list_the_unjudged_last() -> None:
    rows = ranked({1: 80.0, 2: 92.5, 3: 80.0, 4: None}, {1: 90.0, 2: 70.0, 4: 50.0})
    assert [(r["id"], r["rank"], r["previous_rank"], r["change"]) for r in rows] == [
        (2, 1, 2, 22.5),
        (1, 2, 1, -10.0),
        (3, 2, None, None),
        (4, None, 3, None),
    ]


def test_periods_are_whole_days_in_china_standard_time() -> None:
    month = period_of(PeriodKind.MONTH, date(2027, 3, 9))
    assert month.start == datetime(2027, 2, 28, 16, tzinfo=UTC)
    assert month.end == datetime(2027, 3, 31, 16, tzinfo=UTC)
    assert (month.previous().first, month.previous().last) == (date(2027, 2, 1), date(2027, 2, 28))
    week = period_of(PeriodKind.WEEK, date(2026, 12, 3))  # a Thursday
    assert (week.first, week.last) == (date(2026, 11, 30), date(2026, 12, 6))
    assert week.previous().first == date(2026, 11, 23)
    day = period_of(PeriodKind.DAY, date(2026, 12, 31))
    assert day.previous().first == date(2026, 12, 30) and len(day.days) == 1
    with pytest.raises(ValueError, match="at most 366"):
        custom(date(2026, 1, 1), date(2027, 1, 2))
    with pytest.raises(ValueError, match="ends before"):
        custom(date(2026, 2, 1), date(2026, 1, 1))


def test_a_2027_estimated_due_time_counts_in_january_2027() -> None:
    jan = period_of(PeriodKind.MONTH, date(2027, 1, 1))
    later = Window(jan.start, jan.end, jan.end)
    got = all_indicators(CASES, SPELLS, later)
    assert (got["resolve_on_time"].numerator, got["resolve_on_time"].denominator) == (0, 1)  # h9
    assert got["resolved_on_time"].denominator == 1  # c7, still open
