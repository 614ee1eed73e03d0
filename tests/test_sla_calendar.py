"""A year the calendar library does not know: weekends-only, said loudly (API flag for the
walls, metric, log), until an admin enters its holidays — which then move every open
deadline that has not passed yet, on the timeline."""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx
import pytest

from hub.clock import SHANGHAI, FrozenClock
from tests.helpers import Api, Auth


@pytest.fixture
def api(client: httpx.AsyncClient, auth: Auth) -> Api:
    return Api(client, auth)


def cst(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


async def test_unknown_year_is_flagged_then_entered_and_deadlines_move(
    api: Api, client: httpx.AsyncClient, auth: Auth, clock: FrozenClock
) -> None:
    r = await client.get("/api/v1/sla/calendar", headers=auth("wall"))
    assert r.status_code == 200
    assert r.json()["fallback_years"] == [2027]
    metrics = (await client.get("/metrics")).text
    assert 'hub_calendar_unknown_year{year="2027"} 1.0' in metrics

    clock.set(cst("2026-12-30T10:00:00"))  # a Wednesday; T01: 3 working days to resolve
    case = await api.create(title="占道经营", category_code="T01")
    # Weekends and the fixed-date holidays: Thursday, (New Year's Friday off) Monday,
    # Tuesday; an estimate, and said so on the case and its rows.
    assert case["resolve_due_at"] == "2027-01-05T10:00:00+08:00"
    assert case["deadlines_estimated"] is True
    r = await client.get(f"/api/v1/cases/{case['id']}/deadlines", headers=auth("dispatcher"))
    flags = {(d["step"], d["estimated"]) for d in r.json()}
    assert flags == {("ack", False), ("checkin", False), ("resolve", True)}
    created = [e for e in await api.events(case["id"]) if e["type"] == "dispatched"]
    assert created[0]["changes"]["deadlines_estimated"] is True
    ack_due = case["ack_due_at"]
    clock.advance(timedelta(hours=1))  # the 30-minute acknowledgement has passed

    r = await client.put(
        "/api/v1/sla/calendar/2027",
        # Not the real 2027 schedule (nobody has it yet): one that moves the deadline.
        json={"holidays": ["2027-01-01", "2027-01-04"], "workdays": [], "note": "元旦"},
        headers=auth("admin"),
    )
    assert r.status_code == 200, r.text
    assert r.json()["recalculated_cases"] == 1
    moved = await api.get(case["id"])
    assert moved["resolve_due_at"] == "2027-01-06T10:00:00+08:00"
    assert moved["original_resolve_due_at"] == "2027-01-06T10:00:00+08:00"  # same clock
    assert moved["deadlines_estimated"] is False
    assert moved["ack_due_at"] == ack_due  # already passed: it stays as it was
    events = await api.events(case["id"])
    assert events[-1]["type"] == "deadlines_recalculated"
    r = await client.get(f"/api/v1/cases/{case['id']}/deadlines", headers=auth("dispatcher"))
    assert r.status_code == 200
    resolve_rows = [d for d in r.json() if d["step"] == "resolve" and d["kind"] == "breach"]
    assert [d["fire_at"] for d in resolve_rows] == ["2027-01-06T10:00:00+08:00"]
    assert not any(d["estimated"] for d in r.json())

    status = (await client.get("/api/v1/sla/calendar", headers=auth("wall"))).json()
    assert status["fallback_years"] == [] and status["entered_years"] == [2027]
    assert 'hub_calendar_unknown_year{year="2027"} 0.0' in (await client.get("/metrics")).text
    entered = (await client.get("/api/v1/sla/calendar/2027", headers=auth("wall"))).json()
    assert entered["holidays"] == ["2027-01-01", "2027-01-04"]


@pytest.mark.parametrize(
    ("year", "body", "status", "field"),
    [
        (2027, {"holidays": ["2026-12-31"]}, 422, "holidays"),
        (2027, {"holidays": ["2027-01-01"], "workdays": ["2027-01-01"]}, 422, "workdays"),
        (2027, {"holidays": ["not a date"]}, 422, None),
        (2027, {"workdays": ["2027-02-06", "2027-02-06"]}, 422, "listed twice"),
        (2027, {"holidays": [], "extra": 1}, 422, None),
        (1999, {"holidays": []}, 422, None),
    ],
)
async def test_bad_calendar_input_is_refused_and_changes_nothing(
    client: httpx.AsyncClient,
    auth: Auth,
    year: int,
    body: dict[str, object],
    status: int,
    field: str | None,
) -> None:
    r = await client.put(f"/api/v1/sla/calendar/{year}", json=body, headers=auth("admin"))
    assert r.status_code == status, r.text
    if field is not None:
        assert field in r.text
    status_now = (await client.get("/api/v1/sla/calendar", headers=auth("admin"))).json()
    assert status_now["entered_years"] == []


async def test_only_catalogue_editors_enter_holidays(client: httpx.AsyncClient, auth: Auth) -> None:
    r = await client.put(
        "/api/v1/sla/calendar/2027", json={"holidays": []}, headers=auth("dispatcher")
    )
    assert r.status_code == 403
    assert (await client.get("/api/v1/sla/calendar")).status_code == 401
