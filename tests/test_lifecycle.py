"""The whole whistle-and-report lifecycle through the REST API, on both databases."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlmodel import col, select

from hub.cases.models import Case, CaseEvent
from hub.cases.timeline import fold, snapshot
from hub.clock import FrozenClock
from hub.deps import Hub
from tests.helpers import Api, Auth
from tests.world import World


@pytest.fixture
def api(client: httpx.AsyncClient, auth: Auth) -> Api:
    return Api(client, auth)


async def assert_rebuilds(hub: Hub) -> None:
    """Every case's events, folded, give back exactly the stored row."""
    async with hub.db.read() as session:
        cases = (await session.exec(select(Case))).all()
        assert cases
        for case in cases:
            events = (
                await session.exec(
                    select(CaseEvent)
                    .where(CaseEvent.case_id == case.id)
                    .order_by(col(CaseEvent.seq))
                )
            ).all()
            assert [e.seq for e in events] == list(range(1, case.version + 1))
            assert fold(events) == snapshot(case)


async def test_level3_whistle_full_lifecycle(
    api: Api, world: World, hub: Hub, clock: FrozenClock
) -> None:
    case = await api.create(title="夜间施工噪音扰民", category_code="C01", priority="normal")
    assert case["state"] == "awaiting_confirmation"
    assert case["whistle_level"] == 3 and case["tier"] == "county"
    assert case["ack_due_at"] is None  # no clock until the leader confirms
    assert case["cooperating_department_ids"] == [world.dept[("339901", "urban")]]

    # A dispatcher may not confirm a level-3 whistle; the township leader may.
    r = await api.act_raw("dispatcher", case, "confirm-whistle")
    assert r.status_code == 403
    clock.advance(timedelta(minutes=5))
    case = await api.act("leader", case, "confirm-whistle", note="同意吹哨")
    assert case["state"] == "dispatched"
    assert case["department_id"] == world.dept[("339901", "police")]
    assert case["assigned_staff_id"] == world.staff["police_a"]
    assert case["ack_due_at"].endswith("+08:00")  # shown in China Standard Time

    case = await api.act("staff", case, "acknowledge")
    case = await api.act("staff", case, "check-in", lat=30.1, lon=120.2)
    assert case["state"] == "on_site"
    case = await api.act("staff", case, "resolve", note="已劝停施工")
    case = await api.act("dispatcher", case, "reject", reason="现场仍有噪音")
    assert case["state"] == "acknowledged" and case["rework_count"] == 1
    case = await api.act("staff", case, "check-in")
    case = await api.act("staff", case, "resolve", note="设备已撤离")
    case = await api.act("dispatcher", case, "verify")
    case = await api.act("leader", case, "evaluate", township_score=4, resident_satisfaction=5)
    case = await api.act("dispatcher", case, "close")
    assert case["state"] == "closed" and case["township_score"] == 4
    assert set(case["allowed_actions"]) == {"evaluate", "follow-up", "reopen"}

    types = [e["type"] for e in await api.events(case["id"])]
    assert types == [
        "created",
        "whistle_awaiting_confirmation",
        "whistle_confirmed",
        "acknowledged",
        "checked_in",
        "resolved",
        "rejected",
        "checked_in",
        "resolved",
        "verified",
        "evaluated",
        "closed",
    ]
    events = await api.events(case["id"])
    dispatch = next(e for e in events if e["type"] == "whistle_confirmed")
    assert dispatch["payload"]["decision"]["reasons"]
    assert dispatch["actor"].startswith("leader")
    await assert_rebuilds(hub)


async def test_grid_case_goes_to_the_grid_worker_and_climbs_on_escalation(
    api: Api, world: World, hub: Hub
) -> None:
    case = await api.create(category_code="G01")
    assert case["state"] == "dispatched" and case["whistle_level"] == 1
    assert case["assigned_staff_id"] == world.staff["grid_worker"]
    case = await api.act("gridworker", case, "escalate", reason="社区无法处理")
    assert case["whistle_level"] == 2 and case["tier"] == "township"
    assert case["department_id"] == world.dept[("339901001", "urban")]
    assert case["assigned_staff_id"] == world.staff["urban_tw_liaison"]
    case = await api.act("dispatcher", case, "escalate", reason="需要区级部门")
    assert case["whistle_level"] == 3
    assert case["department_id"] == world.dept[("339901", "urban")]
    r = await api.act_raw("dispatcher", case, "escalate", reason="again")
    assert r.status_code == 409
    await assert_rebuilds(hub)


async def test_return_transfer_merge_cancel_reopen(api: Api, world: World, hub: Hub) -> None:
    case = await api.create(category_code="C02")
    assert case["state"] == "dispatched"
    assert case["department_id"] == world.dept[("339901", "housing")]
    assert case["assigned_staff_id"] == world.staff["housing_liaison"]  # no posts: liaison
    # The seeded housing liaison has no login; the admin returns on the department's behalf.
    case = await api.act("admin", case, "return", reason="不属于本部门职责")
    assert case["state"] == "returned" and case["department_id"] is None
    case = await api.act(
        "dispatcher", case, "dispatch", department_id=world.dept[("339901", "police")]
    )
    assert case["state"] == "dispatched"
    case = await api.act(
        "dispatcher",
        case,
        "transfer",
        department_id=world.dept[("339901", "housing")],
        reason="转住建",
    )
    assert case["department_id"] == world.dept[("339901", "housing")]

    dup = await api.create(category_code="C02", title="重复上报")
    dup = await api.act("dispatcher", dup, "merge", into_case_id=case["id"])
    assert dup["state"] == "merged"
    target = await api.get(case["id"])
    assert target["version"] == case["version"] + 1  # a merged_from event on the target

    other = await api.create(category_code="T01")
    other = await api.act("dispatcher", other, "cancel", reason="误报")
    assert other["state"] == "cancelled"
    r = await api.act_raw("dispatcher", other, "reopen", reason="x")
    assert r.status_code == 409

    grid = await api.create(category_code="G01")
    for user, action in [
        ("gridworker", "acknowledge"),
        ("gridworker", "check-in"),
        ("gridworker", "resolve"),
        ("dispatcher", "verify"),
        ("dispatcher", "close"),
    ]:
        grid = await api.act(user, grid, action)
    grid = await api.act("dispatcher", grid, "reopen", reason="居民反映问题复发")
    assert grid["state"] == "dispatched" and grid["closed_at"] is None
    await assert_rebuilds(hub)


async def test_uncategorised_case_waits_in_the_queue_then_classify_routes_it(
    api: Api, world: World
) -> None:
    case = await api.create(category_code=None, title="不明问题")
    assert case["state"] == "reported" and case["department_id"] is None
    case = await api.act("dispatcher", case, "classify", category_code="T01")
    assert case["state"] == "dispatched"
    assert case["department_id"] == world.dept[("339901001", "urban")]


async def test_b_post_takes_over_when_a_is_away(
    api: Api, world: World, auth: Auth, client: httpx.AsyncClient
) -> None:
    r = await client.patch(
        f"/api/v1/staff/{world.staff['police_a']}/duty",
        json={"duty_status": "away"},
        headers=auth("staff"),
    )
    assert r.status_code == 200
    case = await api.create(category_code="C01")
    case = await api.act("leader", case, "confirm-whistle")
    assert case["assigned_staff_id"] == world.staff["police_b"]
    events = await api.events(case["id"])
    assert events[-1]["payload"]["decision"]["notified_via"] == "post_B"


async def test_access_rule_refuses_pushing_a_county_matter_down(api: Api, world: World) -> None:
    case = await api.create(category_code=None)
    r = await api.act_raw(
        "dispatcher",
        case,
        "dispatch",
        category_code="C01",
        department_id=world.dept[("339901001", "urban")],
    )
    assert r.status_code == 422
    assert r.json()["field"] == "department_id" and r.json()["rule"] == "access"
    assert (await api.get(case["id"]))["version"] == case["version"]  # nothing written
