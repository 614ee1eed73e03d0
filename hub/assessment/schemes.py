"""Assessment schemes: how a period's indicators weigh into a department's (or a
township's) score. Pure: validation, the defaults, the weighted score with its breakdown.

A scheme is data (`AssessmentScheme` rows, versioned per kind with an effective date, like
the responsibility list); the version in force on a period's first day scores it. Each
weight is a share of 100 points; an indicator with nothing to judge in the period (no
case due) drops out and the others are scaled up to 100, which the breakdown shows."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from hub.assessment.indicators import Ratio


class SchemeKind(StrEnum):
    RESIDENT = "resident"  # county departments with staff resident in the township (常驻)
    ON_CALL = "on_call"  # county departments that report on call (报到)
    COUNTY = "county"  # county departments without posts in the township
    TOWNSHIP_OFFICE = "township_office"  # the township's own offices
    TOWNSHIP = "township"  # a township as a whole, ranked within its county


# The scored components: an indicator and whether more of it is better.
COMPONENTS: dict[str, bool] = {
    "township_score": True,
    "ack_on_time": True,
    "checkin_on_time": True,
    "resolve_on_time": True,
    "rework_rate": False,
    "return_rate": False,
    "accurate_dispatch": True,
    "county_response": True,
    "satisfaction_rate": True,
    "resolved_on_time": True,
    "closed_on_time": True,
    "closure_rate": True,
}
# 下考上: the township's view is at least this share of a department's assessment (Tianjin).
MIN_TOWNSHIP_SHARE = {SchemeKind.RESIDENT: 0.3, SchemeKind.ON_CALL: 0.3, SchemeKind.COUNTY: 0.3}

DEFAULTS: dict[SchemeKind, tuple[str, dict[str, float]]] = {
    SchemeKind.RESIDENT: (
        "常驻部门考核办法（街乡评价40%）",
        {
            "township_score": 0.4,
            "ack_on_time": 0.1,
            "checkin_on_time": 0.15,
            "resolve_on_time": 0.2,
            "rework_rate": 0.05,
            "satisfaction_rate": 0.1,
        },
    ),
    SchemeKind.ON_CALL: (
        "报到部门考核办法（街乡评价35%）",
        {
            "township_score": 0.35,
            "ack_on_time": 0.1,
            "checkin_on_time": 0.2,
            "resolve_on_time": 0.2,
            "satisfaction_rate": 0.15,
        },
    ),
    SchemeKind.COUNTY: (
        "区县部门考核办法（街乡评价30%）",
        {
            "township_score": 0.3,
            "county_response": 0.2,
            "resolve_on_time": 0.25,
            "rework_rate": 0.1,
            "satisfaction_rate": 0.15,
        },
    ),
    SchemeKind.TOWNSHIP_OFFICE: (
        "街乡科室考核办法",
        {
            "ack_on_time": 0.2,
            "checkin_on_time": 0.2,
            "resolve_on_time": 0.35,
            "rework_rate": 0.1,
            "satisfaction_rate": 0.15,
        },
    ),
    SchemeKind.TOWNSHIP: (
        "街乡综合考核办法",
        {
            "closed_on_time": 0.35,
            "closure_rate": 0.2,
            "accurate_dispatch": 0.15,
            "satisfaction_rate": 0.3,
        },
    ),
}
DEFAULT_FROM = date(2026, 1, 1)


class SchemeError(ValueError):
    pass


def validate(kind: SchemeKind, weights: dict[str, float]) -> dict[str, float]:
    """The weights if they make a scheme; SchemeError saying what is wrong if not."""
    unknown = sorted(set(weights) - set(COMPONENTS))
    if unknown:
        raise SchemeError(f"not a scored indicator: {', '.join(unknown)}")
    if not weights:
        raise SchemeError("a scheme needs at least one weight")
    if any(not math.isfinite(w) or w < 0 or w > 1 for w in weights.values()):
        raise SchemeError("each weight is a share between 0 and 1")
    if abs(sum(weights.values()) - 1) > 1e-6:
        raise SchemeError(f"the weights add up to {sum(weights.values()):.4g}, not 1")
    least = MIN_TOWNSHIP_SHARE.get(kind)
    if least is not None and weights.get("township_score", 0) < least:
        raise SchemeError(
            f"the township's score must be at least {least:.0%} of a {kind.value} department's"
            " assessment (下考上)"
        )
    return weights


@dataclass(frozen=True)
class Part:
    indicator: str
    weight: float
    value: float | None  # the indicator's 0–100 points (None: nothing to judge)
    points: float  # what it adds to the score after scaling

    def as_dict(self) -> dict[str, Any]:
        return {
            "indicator": self.indicator,
            "weight": self.weight,
            "value": None if self.value is None else round(self.value, 2),
            "points": round(self.points, 2),
        }


def score(
    weights: dict[str, float], indicators: dict[str, Ratio]
) -> tuple[float | None, list[Part]]:
    """The 0–100 score and its breakdown; None when no weighted indicator has data."""
    values: dict[str, float | None] = {}
    for name in weights:
        v = indicators[name].value
        values[name] = None if v is None else 100 * (v if COMPONENTS[name] else 1 - v)
    judged = sum(w for n, w in weights.items() if values[n] is not None)
    parts = []
    for name, w in weights.items():
        v = values[name]
        points = 0.0 if v is None or judged == 0 else v * w / judged
        parts.append(Part(name, w, v, points))
    if judged == 0:
        return None, parts
    return round(sum(p.points for p in parts), 2), parts
