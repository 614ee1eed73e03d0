"""The assessment projection as a consumer of committed events: real actions through the
API, then the projection (in small batches, repeatedly, after a rebuild) against a fold of
each case's whole timeline from scratch; the follow-up visit; the report endpoints."""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from sqlmodel import col, select

from hub.assessment.fold import fold_case
from hub.assessment.models import AssessedCase, Holding
from hub.assessment.projection import AssessmentProjection, rebuild, rebuild_all
from hub.assessment.render import sections
from hub.cases.machine import Action, CaseState, allowed_actions
from hub.cases.models import CaseEvent
from hub.clock import FrozenClock
from hub.deps import Hub
from hub.outbox.consumer import step
from hub.realtime.bus import MemoryBus
from hub.realtime.relay import Relay
from hub.sla.engine import SlaEngine
from hub.sla.reminders import flag_unassessed
from tests.helpers import Api, Auth
from tests.world import World


@pytest.fixture
def api(client: httpx.AsyncClient, auth: Auth) -> Api:
    return Api(client, auth)


async def project(hub: Hub, batch: int = 500) -> None:
    """Number what was committed (the relay's job), then step the projection to the head."""
    relay = Relay(hub.db, MemoryBus(), hub.metrics, hub.clock)
    while await relay.assign():  # a batch at a time, until every event has a position
        pass
    while await step(hub.db, AssessmentProjection(), hub.clock.now(), batch=batch):
        pass


async def stored(hub: Hub) -> tuple[dict[int, dict[str, Any]], dict[tuple[int, int], Any]]:
    async with hub.db.read() as session:
        facts = (await session.exec(select(AssessedCase))).all()
        spells = (await session.exec(select(Holding))).all()
    return (
        {f.case_id: f.model_dump() for f in facts},
        {(h.case_id, h.n): h.model_dump(exclude={"id"}) for h in spells},
    )


async def recomputed(hub: Hub) -> tuple[dict[int, dict[str, Any]], dict[tuple[int, int], Any]]:
    """Each case's facts folded from its own events alone, in seq order."""
    async with hub.db.read() as session:
        stmt = select(CaseEvent).order_by(col(CaseEvent.case_id), col(CaseEvent.seq))
        events = (await session.exec(stmt)).all()
    by_case: dict[int, list[CaseEvent]] = {}
    for e in events:
        by_case.setdefault(e.case_id, []).append(e)
    facts, spells = {}, {}
    for case_id, mine in by_case.items():
        fact, holdings = fold_case(mine)
        assert fact is not None
        facts[case_id] = fact.model_dump()
        for h in holdings:
            spells[(h.case_id, h.n)] = h.model_dump(exclude={"id"})
    return facts, spells


async def test_lateness_before_a_transfer_stays_with_the_department_that_held_it(
    api: Api, hub: Hub, clock: FrozenClock
) -> None:
    housing = await api.create(title="房屋漏水", category_code="C02")  # county housing, 1 h
    clock.advance(timedelta(hours=2))  # housing never signed for it
    urban = housing["cooperating_department_ids"][0]
    moved = await api.act("dispatcher", housing, "transfer", department_id=urban, reason="错派")
    clock.advance(timedelta(minutes=10))
    await api.act("admin", moved, "acknowledge")
    await project(hub)
    _facts, spells = await stored(hub)
    first, second = spells[(housing["id"], 1)], spells[(housing["id"], 2)]
    assert first["department_id"] == housing["department_id"] and first["end"] == "transferred"
    assert first["acknowledged_at"] is None and first["ended_at"] > first["ack_due_at"]
    assert second["department_id"] == urban
    assert second["acknowledged_at"] <= second["ack_due_at"]
    r = await api.client.get(
        "/api/v1/assessment/339901/indicators?period=day&date=2026-11-23",
        headers=api.auth("county_commander"),
    )
    assert r.status_code == 200, r.text
    by_dept = {d["id"]: d["indicators"]["ack_on_time"] for d in r.json()["departments"]}
    assert (by_dept[housing["department_id"]]["numerator"], by_dept[urban]["numerator"]) == (0, 1)
    assert by_dept[housing["department_id"]]["denominator"] == 1


async def _walk(api: Api, clock: FrozenClock, case: dict[str, Any], script: list[str]) -> None:
    """Act along `script` as far as the case allows (each a real action by its role)."""
    actors = {
        "acknowledge": "admin",
        "check-in": "admin",
        "resolve": "admin",
        "return": "admin",
        "verify": "leader",
        "reject": "leader",
        "close": "leader",
        "evaluate": "leader",
        "follow-up": "dispatcher",
        "reopen": "dispatcher",
        "cancel": "dispatcher",
        "escalate": "leader",
        "dispatch": "dispatcher",
        "confirm-whistle": "leader",
    }
    bodies: dict[str, dict[str, Any]] = {
        "reject": {"reason": "未整改到位"},
        "return": {"reason": "不属本部门"},
        "reopen": {"reason": "群众反映仍未解决"},
        "cancel": {"reason": "重复上报"},
        "escalate": {"reason": "需要区级部门"},
        "evaluate": {"township_score": 4, "reasons": ["resolved_well"]},
        "follow-up": {"satisfaction": "basically_satisfied", "resolved": True},
    }
    for action in script:
        # The case's own actions (`allowed_actions` of an answer are its caller's).
        if Action(action) not in allowed_actions(CaseState(case["state"])):
            continue
        clock.advance(timedelta(minutes=40))
        r = await api.act_raw(actors[action], case, action, **bodies.get(action, {}))
        if r.status_code == 200:
            case = r.json()


_ACTIONS = st.sampled_from(
    [
        "acknowledge",
        "check-in",
        "resolve",
        "verify",
        "reject",
        "close",
        "evaluate",
        "follow-up",
        "reopen",
        "return",
        "dispatch",
        "escalate",
        "confirm-whistle",
        "cancel",
    ]
)


@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    derandomize=True,
)
@given(scripts=st.lists(st.lists(_ACTIONS, max_size=14), min_size=2, max_size=3))
async def test_the_projection_equals_a_recomputation_after_random_actions(
    api: Api, hub: Hub, clock: FrozenClock, scripts: list[list[str]]
) -> None:
    await rebuild(hub.db)
    for i, script in enumerate(scripts):
        case = await api.create(title=f"随机 {i}", category_code=("T01", "C02", "C01")[i % 3])
        await _walk(api, clock, case, script)
        await project(hub, batch=3)  # small batches: resumes mid-case from stored rows
    assert await stored(hub) == await recomputed(hub)
    seen: list[int] = []
    folded = await rebuild_all(hub.db, hub.clock, progress=lambda n, _total: seen.append(n))
    assert folded == seen[-1] > 0
    assert await stored(hub) == await recomputed(hub)


async def test_projection_is_once_per_event_through_repeated_steps(
    api: Api, hub: Hub, clock: FrozenClock
) -> None:
    case = await api.create(title="占道经营", category_code="T01")
    await _walk(api, clock, case, ["acknowledge", "check-in", "resolve", "reject", "check-in"])
    await project(hub, batch=2)
    await project(hub, batch=2)
    facts, spells = await stored(hub)
    assert facts[case["id"]]["rework_count"] == 1
    assert spells[(case["id"], 1)]["rejections"] == 1
    assert spells[(case["id"], 1)]["resolutions"] == 1
    assert (facts, spells) == await recomputed(hub)


async def test_an_unsatisfied_follow_up_can_reopen_the_case(
    api: Api, hub: Hub, clock: FrozenClock
) -> None:
    case = await api.create(title="噪音扰民", category_code="T01", source="hotline_12345")
    await _walk(api, clock, case, ["acknowledge", "check-in", "resolve", "verify", "close"])
    case = await api.get(case["id"])
    assert case["state"] == "closed"
    r = await api.act_raw("dispatcher", case, "follow-up", satisfaction="satisfied",
                          resolved=True, reopen=True, reason="x")  # fmt: skip
    assert r.status_code == 422 and "only an unsatisfied" in r.text
    r = await api.act_raw("dispatcher", case, "follow-up", satisfaction="unsatisfied",
                          resolved=False, reopen=True)  # fmt: skip
    assert r.status_code == 422 and "say why" in r.text
    reopened = await api.act(
        "dispatcher",
        case,
        "follow-up",
        satisfaction="unsatisfied",
        resolved=False,
        reopen=True,
        reason="仍有噪音",
    )
    assert reopened["state"] == "dispatched"
    kinds = [e["type"] for e in await api.events(case["id"])]
    assert kinds[-3:] == ["followed_up", "reopened", "dispatched"]
    await project(hub)
    facts, _spells = await stored(hub)
    fact = facts[case["id"]]
    assert (fact["followup_satisfaction"], fact["followup_resolved"], fact["reopens"]) == (
        "unsatisfied",
        False,
        1,
    )


async def test_reports_are_scoped_and_come_as_json_xlsx_and_csv(
    api: Api, hub: Hub, clock: FrozenClock
) -> None:
    case = await api.create(title="井盖缺失", category_code="T01")
    await _walk(api, clock, case, ["acknowledge", "check-in", "resolve", "verify", "close"])
    await project(hub)
    url = "/api/v1/reports/339901001/weekly?date=2026-11-23"
    mine = await api.client.get(url, headers=api.auth("dispatcher"))
    assert mine.status_code == 200, mine.text
    report = mine.json()
    assert report["volume"]["current"]["created"] == 1
    assert report["period"]["first"] == "2026-11-23" and report["period"]["last"] == "2026-11-29"
    # Another township's dispatcher, and a township asking for its county: as if absent.
    for user, path in (("dispatcher_west", url), ("dispatcher", "/api/v1/reports/339901/weekly")):
        r = await api.client.get(path, headers=api.auth(user))
        assert r.status_code == 404, r.text
    for bad in ("?date=1999-12-31", "?date=2026-02-30", "?format=pdf"):
        r = await api.client.get(url.split("?")[0] + bad, headers=api.auth("dispatcher"))
        assert r.status_code == 422, (bad, r.text)
    # The workbook, opened back and read cell by cell against the JSON.
    r = await api.client.get(url + "&format=xlsx", headers=api.auth("dispatcher"))
    assert r.status_code == 200 and r.headers["content-type"].startswith(
        "application/vnd.openxmlformats"
    )
    book = load_workbook(io.BytesIO(r.content))
    expected = sections(report, "zh")
    assert book.sheetnames == [s[0] for s in expected]
    for title, _en, head, _head_en, rows, percent in expected:
        sheet = book[title]
        assert sheet.freeze_panes == "A3"
        assert [c.value for c in sheet[2]] == head
        got = [[c.value for c in row] for row in sheet.iter_rows(min_row=3)]
        assert got == [[None if v == "" else v for v in row] for row in rows]
        for row in sheet.iter_rows(min_row=3):
            for i in percent:
                if isinstance(row[i].value, float):
                    assert row[i].number_format == "0.0%"
    summary = book["指标汇总"]
    first = report["summary"][0]
    assert summary["A3"].value == first["label"]["zh"]
    assert summary["C3"].value == first["denominator"]
    r = await api.client.get(url + "&format=csv&lang=en", headers=api.auth("dispatcher"))
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    text = r.content.decode("utf-8-sig")
    assert "Indicators" in text and "Department ranking" in text


async def test_the_12345_system_follows_up_with_an_api_key_granted_it(
    api: Api, hub: Hub, clock: FrozenClock, world: World
) -> None:
    case = await api.create(title="路灯不亮", category_code="T01", source="hotline_12345")
    await _walk(api, clock, case, ["acknowledge", "check-in", "resolve", "verify", "close"])
    case = await api.get(case["id"])

    async def key(grants: list[str]) -> dict[str, str]:
        r = await api.client.post(
            "/api/v1/api-keys",
            json={"name": "12345", "role": "dispatcher", "grants": grants,
                  "region_id": world.region["339901001"]},
            headers=api.auth("admin"),
        )  # fmt: skip
        assert r.status_code == 201, r.text
        return {"X-API-Key": r.json()["key"]}

    body = {"version": case["version"], "satisfaction": "satisfied", "resolved": True}
    url = f"/api/v1/cases/{case['id']}/follow-up"
    r = await api.client.post(url, json=body, headers=await key(["case.read"]))
    assert r.status_code == 403 and r.json()["message"] == "API key lacks grant follow-up"
    r = await api.client.post(url, json=body, headers=await key(["case.read", "follow-up"]))
    assert r.status_code == 200, r.text
    assert (await api.events(case["id"]))[-1]["payload"]["satisfaction"] == "satisfied"


async def test_evaluation_reasons_come_from_the_fixed_list(
    api: Api, hub: Hub, clock: FrozenClock
) -> None:
    case = await api.create(title="违章搭建", category_code="T01")
    await _walk(api, clock, case, ["acknowledge", "check-in", "resolve", "verify", "close"])
    case = await api.get(case["id"])
    r = await api.act_raw("leader", case, "evaluate", township_score=2, reasons=["lazy"])
    assert r.status_code == 422 and "reasons" in r.text
    twice = ["not_resolved", "not_resolved"]
    r = await api.act_raw("leader", case, "evaluate", township_score=2, reasons=twice)
    assert r.status_code == 422 and "listed twice" in r.text
    done = await api.act(
        "leader", case, "evaluate", township_score=2, reasons=["slow_to_report", "not_resolved"]
    )
    assert done["township_score"] == 2
    await project(hub)
    facts, _spells = await stored(hub)
    assert facts[case["id"]]["reasons"] == ["slow_to_report", "not_resolved"]
    assert facts[case["id"]]["evaluated_department_id"] == case["department_id"]


async def test_a_new_scheme_version_scores_the_periods_from_its_date(
    api: Api, hub: Hub, clock: FrozenClock
) -> None:
    url = "/api/v1/assessment/schemes"
    bad = [
        ({"township_score": 0.2, "ack_on_time": 0.8}, "at least 30%"),
        ({"township_score": 0.5, "nonsense": 0.5}, "not a scored indicator"),
        ({"township_score": 0.5}, "add up to 0.5"),
    ]
    for weights, message in bad:
        body = {"kind": "resident", "name": "x", "effective_from": "2026-12-01", "weights": weights}
        r = await api.client.post(url, json=body, headers=api.auth("admin"))
        assert r.status_code == 422 and message in r.text, r.text
    raw = (
        b'{"kind":"resident","name":"x","effective_from":"2026-12-01",'
        b'"weights":{"township_score":NaN}}'
    )
    r = await api.client.post(
        url, content=raw, headers={**api.auth("admin"), "Content-Type": "application/json"}
    )
    assert r.status_code == 422, r.text
    good = {"township_score": 0.5, "resolve_on_time": 0.5}
    body = {"kind": "resident", "name": "新办法", "effective_from": "2026-12-01", "weights": good}
    r = await api.client.post(url, json=body, headers=api.auth("dispatcher"))
    assert r.status_code == 403
    r = await api.client.post(url, json=body, headers=api.auth("admin"))
    assert r.status_code == 201 and r.json()["version"] == 1, r.text
    listed = (await api.client.get(url, headers=api.auth("auditor"))).json()["items"]
    assert [s["version"] for s in listed if s["kind"] == "resident"] == [0, 1]
    for day, version in (("2026-11-15", 0), ("2026-12-15", 1)):
        r = await api.client.get(
            f"/api/v1/assessment/339901/rankings?date={day}", headers=api.auth("county_commander")
        )
        assert r.status_code == 200, r.text
        assert r.json()["schemes"]["resident"]["version"] == version


async def test_an_unassessed_whistle_is_flagged_to_the_township_leader_once_per_closing(
    api: Api, hub: Hub, clock: FrozenClock
) -> None:
    done = ["acknowledge", "check-in", "resolve", "verify", "close"]
    whistle = await api.create(title="垃圾堆放", category_code="T01")  # a level-2 whistle
    assessed = await api.create(title="道路破损", category_code="T01")
    await _walk(api, clock, whistle, done)
    await _walk(api, clock, assessed, done)
    await api.act("leader", await api.get(assessed["id"]), "evaluate", township_score=5)
    principal = await SlaEngine(hub, worker_id="t").principal()
    clock.advance(timedelta(days=2))
    assert await flag_unassessed(hub, principal) == 0  # not due yet
    clock.advance(timedelta(days=2))
    assert await flag_unassessed(hub, principal) == 1
    assert await flag_unassessed(hub, principal) == 0  # once
    flag = (await api.events(whistle["id"]))[-1]
    assert flag["type"] == "assessment_overdue"
    assert flag["payload"]["township_id"] == whistle["township_id"]
    assert flag["payload"]["reached"]["rank"] == "township_command"
    assert all(e["type"] != "assessment_overdue" for e in await api.events(assessed["id"]))
    await project(hub)
    r = await api.client.get("/api/v1/assessment/339901001/unassessed", headers=api.auth("leader"))
    assert [(i["case_id"], i["flagged_at"] is not None) for i in r.json()["items"]] == [
        (whistle["id"], True)
    ]
    # Reopened and closed again: a new closing, a new limit, one new flag.
    case = await api.act("dispatcher", await api.get(whistle["id"]), "reopen", reason="复发")
    await _walk(api, clock, case, done)
    clock.advance(timedelta(days=4))
    assert await flag_unassessed(hub, principal) == 1
    kinds = [e["type"] for e in await api.events(whistle["id"])]
    assert kinds.count("assessment_overdue") == 2


async def test_the_overdue_list_holds_what_went_late_in_the_period(
    api: Api, hub: Hub, clock: FrozenClock
) -> None:
    late = await api.create(title="下水道堵塞", category_code="T01")  # resolve: 3 working days
    prompt = await api.create(title="路灯损坏", category_code="T01")
    await _walk(api, clock, prompt, ["acknowledge", "check-in", "resolve"])
    clock.advance(timedelta(days=4))
    await _walk(api, clock, late, ["acknowledge", "check-in", "resolve"])
    await project(hub)
    r = await api.client.get(
        "/api/v1/reports/339901001/weekly?date=2026-11-23", headers=api.auth("dispatcher")
    )
    overdue = r.json()["overdue"]
    assert [o["case_id"] for o in overdue] == [late["id"]]
    assert overdue[0]["resolved_at"] is not None and overdue[0]["late_h"] > 0


async def test_the_report_counts_the_cases_each_rung_reached(
    api: Api, hub: Hub, clock: FrozenClock
) -> None:
    """Housing cases an hour past their acknowledgement: the ladder pushes the B post; a
    whistle raised by hand counts by the level it went to."""
    for i in range(2):
        await api.create(title=f"房屋漏水 {i}", category_code="C02")
    raised = await api.create(title="占道经营", category_code="T01")
    await api.act("leader", raised, "escalate", reason="需要区级部门")
    clock.advance(timedelta(hours=1, minutes=5))
    await SlaEngine(hub, worker_id="t").run_due()
    await project(hub)
    r = await api.client.get(
        "/api/v1/reports/339901001/daily?date=2026-11-23", headers=api.auth("dispatcher")
    )
    esc = r.json()["escalations"]
    async with hub.db.read() as session:
        stmt = select(CaseEvent).where(CaseEvent.type == "sla_escalation")
        fired = (await session.exec(stmt)).all()
    by_action: dict[str, set[int]] = {}
    for e in fired:
        by_action.setdefault(e.payload["action"], set()).add(e.case_id)
    assert by_action and esc["cases_by_action"] == {k: len(v) for k, v in by_action.items()}
    assert esc["cases_by_action"].get("push_backup", 0) >= 2
    assert esc["whistles_raised_to"] == {"3": 1}


async def test_staff_are_ranked_within_their_department(
    api: Api, hub: Hub, clock: FrozenClock, world: World
) -> None:
    case = await api.create(title="聚众斗殴", category_code="C01")  # police, level 3
    case = await api.act("leader", case, "confirm-whistle")
    assert case["assigned_staff_id"] == world.staff["police_a"]
    clock.advance(timedelta(minutes=5))
    await api.act("staff", case, "acknowledge")
    await project(hub)
    police = world.dept[("339901", "police")]
    base = "/api/v1/assessment/339901/rankings?period=day&date=2026-11-23"
    headers = api.auth("county_commander")
    r = await api.client.get(f"{base}&department_id={police}", headers=headers)
    assert r.status_code == 200, r.text
    [row] = r.json()["staff"]
    assert row["id"] == world.staff["police_a"]
    assert row["indicators"]["ack_on_time"] == {"numerator": 1, "denominator": 1, "value": 1.0}
    r = await api.client.get(f"{base}&department_id=999999", headers=headers)
    assert r.status_code == 404 and "no department 999999" in r.text
