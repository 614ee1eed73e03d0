"""Re-routing never erases lateness already accrued: transfer, return, escalation, rework,
reopen and merge keep the original due times assessment judges a case by, restart only
the clocks the new holder needs, and say so on the timeline. On both databases."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from hub.clock import FrozenClock
from hub.deps import Hub
from hub.enums import Tier
from hub.realtime.counters import region_counters
from tests.helpers import Api, Auth
from tests.test_lifecycle import assert_rebuilds
from tests.world import World


@pytest.fixture
def api(client: httpx.AsyncClient, auth: Auth) -> Api:
    return Api(client, auth)


async def police_case(api: Api) -> dict[str, Any]:
    """C01 confirmed: police hold it, 15 min to sign, 30 to report on site, 2 h to resolve."""
    case = await api.create(title="夜间施工噪音扰民", category_code="C01")
    return await api.act("leader", case, "confirm-whistle")


def last(events: list[dict[str, Any]], type: str) -> dict[str, Any]:
    return [e for e in events if e["type"] == type][-1]


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


async def on_time_rate(hub: Hub, world: World, clock: FrozenClock) -> Any:
    async with hub.db.read() as session:
        counters = await region_counters(session, Tier.COUNTY, world.region["339901"], clock.now())
    return counters["on_time_rate"]


async def housing_case(api: Api) -> dict[str, Any]:
    """C02: housing, no confirmation; 1 h to sign, 2 h on site, 5 working days."""
    return await api.create(title="房屋漏水", category_code="C02")


DAY_S = 86400


async def test_a_transfer_to_the_same_department_launders_nothing(
    api: Api, hub: Hub, clock: FrozenClock
) -> None:
    case = await housing_case(api)
    resolve_due = case["resolve_due_at"]
    assert case["original_resolve_due_at"] == resolve_due
    clock.advance(timedelta(days=8))  # a day past the five working days
    assert (await api.get(case["id"]))["overdue"] is True
    moved = await api.act(
        "dispatcher", case, "transfer", department_id=case["department_id"], reason="换人处理"
    )
    # The department still holds it: the resolve clock runs on, only signing and
    # reporting on site start again for the new person.
    assert moved["resolve_due_at"] == resolve_due
    assert moved["original_resolve_due_at"] == resolve_due
    assert moved["overdue"] is True
    assert at(moved["ack_due_at"]) == clock.now() + timedelta(hours=1)
    d = last(await api.events(case["id"]), "transferred")["payload"]["deadlines"]
    assert d["kept"] == ["resolve"] and d["restarted"] == ["ack", "checkin"]
    assert d["late_s"] == {"ack": 8 * DAY_S - 3600, "checkin": 8 * DAY_S - 7200, "resolve": DAY_S}
    assert at(d["original_due"]["resolve"]) == at(resolve_due)  # stored and sent as UTC
    await assert_rebuilds(hub)


async def test_a_transfer_to_another_department_gives_it_time_but_keeps_the_originals(
    api: Api, hub: Hub, world: World, clock: FrozenClock
) -> None:
    case = await housing_case(api)
    original = case["original_resolve_due_at"]
    clock.advance(timedelta(days=8))
    urban = world.dept[("339901", "urban")]
    moved = await api.act("dispatcher", case, "transfer", department_id=urban, reason="不属住建")
    assert moved["resolve_due_at"] == "2026-12-08T10:00:00+08:00"  # its own five days
    assert moved["original_resolve_due_at"] == original and moved["overdue"] is True
    d = last(await api.events(case["id"]), "transferred")["payload"]["deadlines"]
    assert d["restarted"] == ["ack", "checkin", "resolve"] and d["kept"] == []
    assert d["late_s"]["resolve"] == DAY_S
    # Resolved within the new department's own limit, still late for assessment.
    case = await api.act("admin", moved, "acknowledge")
    case = await api.act("admin", case, "check-in")
    case = await api.act("admin", case, "resolve")
    assert await on_time_rate(hub, world, clock) == 0.0
    await assert_rebuilds(hub)


async def test_return_and_redispatch_keep_the_originals_and_the_queue_shows_it_late(
    api: Api, hub: Hub, clock: FrozenClock
) -> None:
    case = await police_case(api)
    original = case["original_resolve_due_at"]
    clock.advance(timedelta(hours=3))
    returned = await api.act("liaison", case, "return", reason="不属本部门")
    assert returned["resolve_due_at"] is None
    assert returned["original_resolve_due_at"] == original
    assert returned["overdue"] is True  # waiting in the dispatcher's queue, still late
    d = last(await api.events(case["id"]), "returned")["payload"]["deadlines"]
    assert d["stopped"] == ["ack", "checkin", "resolve"] and d["late_s"]["resolve"] == 3600
    again = await api.act("dispatcher", returned, "dispatch")
    assert again["original_resolve_due_at"] == original and again["overdue"] is True
    await assert_rebuilds(hub)


async def test_rework_restarts_the_holders_clocks_but_not_the_assessment(
    api: Api, hub: Hub, world: World, clock: FrozenClock
) -> None:
    case = await police_case(api)
    original = case["original_resolve_due_at"]
    case = await api.act("staff", case, "acknowledge")
    case = await api.act("staff", case, "check-in")
    clock.advance(timedelta(hours=1))
    case = await api.act("staff", case, "resolve")
    assert await on_time_rate(hub, world, clock) == 1.0
    clock.advance(timedelta(hours=2))  # the township takes its time and rejects
    case = await api.act("dispatcher", case, "reject", reason="未处理到位")
    assert at(case["resolve_due_at"]) == clock.now() + timedelta(hours=2)
    assert case["original_resolve_due_at"] == original and case["overdue"] is True
    d = last(await api.events(case["id"]), "rejected")["payload"]["deadlines"]
    # The case was resolved, so no department clock ran: they start anew; verify stops.
    assert d["started"] == ["checkin", "resolve"] and d["stopped"] == ["verify"]
    case = await api.act("staff", case, "check-in")
    case = await api.act("staff", case, "resolve")
    assert await on_time_rate(hub, world, clock) == 0.0  # a rejected result was no result
    await assert_rebuilds(hub)


async def close_it(api: Api, case: dict[str, Any]) -> dict[str, Any]:
    for user, action in (("staff", "acknowledge"), ("staff", "check-in"), ("staff", "resolve")):
        case = await api.act(user, case, action)
    case = await api.act("dispatcher", case, "verify")
    return await api.act("dispatcher", case, "close")


async def test_reopening_a_late_case_keeps_it_late_and_an_on_time_one_starts_afresh(
    api: Api, hub: Hub, clock: FrozenClock
) -> None:
    late = await police_case(api)
    clock.advance(timedelta(hours=3))
    late = await close_it(api, late)
    original = late["original_resolve_due_at"]
    reopened = await api.act("dispatcher", late, "reopen", reason="群众反映仍未解决")
    assert reopened["original_resolve_due_at"] == original and reopened["overdue"] is True
    d = last(await api.events(late["id"]), "reopened")["payload"]["deadlines"]
    assert d == {
        "originals_renewed": False,
        "late_s": {"ack": 9900, "checkin": 9000, "resolve": 3600},
    }

    timely = await close_it(api, await police_case(api))
    reopened = await api.act("dispatcher", timely, "reopen", reason="复发")
    # Re-dispatched now (a level-3 whistle waits for the leader again): new originals.
    reopened = await api.act("leader", reopened, "confirm-whistle")
    assert at(reopened["original_resolve_due_at"]) == clock.now() + timedelta(hours=2)
    await assert_rebuilds(hub)


async def test_merging_a_late_report_into_a_fresh_one_carries_its_lateness(
    api: Api, hub: Hub, clock: FrozenClock
) -> None:
    old = await police_case(api)
    clock.advance(timedelta(hours=3))
    fresh = await police_case(api)
    assert fresh["overdue"] is False
    await api.act("dispatcher", old, "merge", into_case_id=fresh["id"])
    fresh = await api.get(fresh["id"])
    assert fresh["original_resolve_due_at"] == old["original_resolve_due_at"]
    assert fresh["overdue"] is True
    d = last(await api.events(fresh["id"]), "merged_from")["payload"]["deadlines"]
    assert d["originals_taken"] == ["ack", "checkin", "resolve"] and d["late_s"]["resolve"] == 3600
    await assert_rebuilds(hub)


async def test_escalating_keeps_the_originals_of_the_lower_whistle(
    api: Api, hub: Hub, clock: FrozenClock
) -> None:
    # T01: level 2, 3 working days. Escalated by hand after 4 days: late, and stays so.
    case = await api.create(title="占道经营", category_code="T01")
    original = case["original_resolve_due_at"]
    clock.advance(timedelta(days=4))
    raised = await api.act("dispatcher", case, "escalate", reason="街道无力处置")
    assert raised["state"] == "awaiting_confirmation" and raised["resolve_due_at"] is None
    assert raised["original_resolve_due_at"] == original and raised["overdue"] is True
    d = last(await api.events(case["id"]), "whistle_awaiting_confirmation")
    assert d["payload"]["deadlines"]["started"] == ["confirm"]
    assert d["payload"]["deadlines"]["late_s"]["resolve"] == 86400
    confirmed = await api.act("leader", raised, "confirm-whistle")
    assert confirmed["original_resolve_due_at"] == original
    await assert_rebuilds(hub)


async def test_a_liaison_transferring_an_overdue_whistle_to_its_own_department(
    api: Api, hub: Hub, clock: FrozenClock
) -> None:
    # The laundering this guards against: the resolve-due used to move a whole new limit.
    case = await police_case(api)
    original = case["original_resolve_due_at"]
    clock.advance(timedelta(days=30))
    moved = await api.act(
        "liaison", case, "transfer", department_id=case["department_id"], reason="内部转办"
    )
    moved = await api.act("leader", moved, "confirm-whistle")  # a level-3 whistle again
    assert at(moved["resolve_due_at"]) == clock.now() + timedelta(hours=2)
    assert moved["original_resolve_due_at"] == original and moved["overdue"] is True
    d = last(await api.events(case["id"]), "whistle_awaiting_confirmation")["payload"]
    assert d["deadlines"]["late_s"]["resolve"] == 30 * 86400 - 2 * 3600
