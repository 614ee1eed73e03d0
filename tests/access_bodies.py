"""What the access matrix (tests/test_access_matrix.py) sends to each writing route: the
smallest valid body, naming the caller's side's own objects, so that every answer is about
access, not about input. A new writing route must be added to `BODIES` (the sweep says so)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hub.cases.machine import Action
from tests.access_world import PNG, Side
from tests.world import World

_REASONED = {Action.RETURN, Action.ESCALATE, Action.REOPEN, Action.CANCEL, Action.REJECT}
_BODIES: dict[Action, dict[str, Any]] = {
    Action.CLASSIFY: {"category_code": "T01"},
    Action.TRANSFER: {"department_id": 1, "reason": "x"},
    Action.MERGE: {"into_case_id": 1},
    Action.EVALUATE: {"township_score": 3},
    Action.FOLLOW_UP: {"satisfaction": "satisfied", "resolved": True},
}


def minimal(action: Action) -> dict[str, Any]:
    """The smallest valid body of each action, so the answer is about access, not input."""
    if action in _BODIES:
        return _BODIES[action]
    return {"reason": "x"} if action in _REASONED else {}


_ENTRY = {
    "name_zh": "事项",
    "name_en": "Matter",
    "case_class": "event",
    "tier": "township",
    "primary_department": "urban",
    "ack_within": 1,
    "ack_unit": "hours",
    "checkin_within": 2,
    "checkin_unit": "hours",
    "resolve_within": 3,
    "resolve_unit": "days",
}
Body = Callable[[Side, World], dict[str, Any]]
# What each writing route is sent: valid input naming the side's objects, so that the
# answer is about access. A new writing route must be added here (the sweep says so).
BODIES: dict[tuple[str, str], Body] = {
    ("POST", "/api/v1/users"): lambda s, w: {
        "json": {
            "username": f"new-{s.name}",
            "display_name": "x",
            "password": "pw1234",
            "role": "dispatcher",
            "region_id": w.region[s.township],
        }
    },
    ("PATCH", "/api/v1/users/{user_id}"): lambda s, w: {"json": {"display_name": "x"}},
    ("POST", "/api/v1/api-keys"): lambda s, w: {
        "json": {
            "name": "k",
            "role": "dispatcher",
            "region_id": w.region[s.township],
            "grants": ["case.read"],
        }
    },
    ("DELETE", "/api/v1/api-keys/{key_id}"): lambda s, w: {},
    ("PUT", "/api/v1/posts"): lambda s, w: {
        "json": {
            "department_id": s.department_id,
            "township_id": w.region[s.township],
            "slot": "A",
            "mode": "resident",
            "staff_id": s.staff_id,
        }
    },
    ("PATCH", "/api/v1/staff/{staff_id}/duty"): lambda s, w: {"json": {"duty_status": "off"}},
    ("POST", "/api/v1/catalogue"): lambda s, w: {"json": {**_ENTRY, "code": "N01"}},
    ("PUT", "/api/v1/catalogue/{code}"): lambda s, w: {"json": _ENTRY},
    ("DELETE", "/api/v1/catalogue/{code}"): lambda s, w: {},
    ("PUT", "/api/v1/sla/calendar/{year}"): lambda s, w: {"json": {"holidays": []}},
    ("POST", "/api/v1/cases"): lambda s, w: {"json": {"title": "x", "grid_code": s.grid}},
    ("POST", "/api/v1/assessment/schemes"): lambda s, w: {
        "json": {
            "kind": "township",
            "name": "x",
            "effective_from": "2026-01-01",
            "weights": {"closed_on_time": 1.0},
        }
    },
    ("POST", "/api/v1/cases/{case_id}/attachments"): lambda s, w: {
        "files": {"file": ("site.png", PNG, "image/png")}
    },
} | {
    ("POST", f"/api/v1/cases/{{case_id}}/{a.value}"): (
        lambda s, w, a=a: {"json": {"version": 999, **minimal(a)}}
    )
    for a in Action
}
