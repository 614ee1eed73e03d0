"""The whole escalation ladder on a frozen clock, on both databases: every rung fires at
its time, exactly once, with its effect, and the clock rules for the case's moves."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlmodel import col, select

from hub.clock import FrozenClock
from hub.deps import Hub
from hub.enums import Tier
from hub.realtime.counters import region_counters
from hub.sla.engine import SlaEngine
from hub.sla.models import Deadline, DeadlineStatus
from tests.helpers import Api, Auth
from tests.test_lifecycle import assert_rebuilds
from tests.world import World


@pytest.fixture
def api(client: httpx.AsyncClient, auth: Auth) -> Api:
    return Api(client, auth)


@pytest.fixture
def engine(hub: Hub) -> SlaEngine:
    return SlaEngine(hub, worker_id="test-worker")


def sla_events(events: list[dict[str, Any]]) -> list[tuple[str, str, str | None]]:
    return [
        (e["type"], e["payload"]["step"], e["payload"].get("action"))
        for e in events
        if e["type"].startswith("sla_")
    ]


async def step(clock: FrozenClock, engine: SlaEngine, minutes: float) -> int:
    clock.advance(timedelta(minutes=minutes))
    return (await engine.run_due()).fired


async def test_the_whole_ladder_of_a_level3_whistle(
    api: Api, hub: Hub, world: World, clock: FrozenClock, engine: SlaEngine
) -> None:
    # C01: police, county tier, the township leader must confirm; 15 min to acknowledge,
    # 30 min to check in, 2 h to resolve.
    case = await api.create(title="夜间施工噪音扰民", category_code="C01")
    assert case["state"] == "awaiting_confirmation"
    assert (await engine.run_due()).fired == 0
    assert await step(clock, engine, 22.5) == 1  # 75% of the leader's 30 minutes
    assert await step(clock, engine, 7.5) == 1  # the leader is late: the township is told
    case = await api.get(case["id"])
    assert case["confirm_due_at"] is not None
    case = await api.act("leader", case, "confirm-whistle", note="同意")
    assert case["state"] == "dispatched"
    assert case["confirm_due_at"] is None
    assert case["assigned_staff_id"] == world.staff["police_a"]

    assert await step(clock, engine, 11.25) == 1  # ack warning
    assert await step(clock, engine, 3.75) == 1  # ack breach: the B post gets the task
    case = await api.get(case["id"])
    assert case["assigned_staff_id"] == world.staff["police_b"]
    assert await step(clock, engine, 7.5) == 1  # check-in warning
    assert await step(clock, engine, 7.5) == 2  # ack long overdue + check-in breach
    case = await api.get(case["id"])
    assert case["assigned_staff_id"] == world.staff["police_leader"]
    assert case["sla_status"] == "ok"
    assert await step(clock, engine, 60) == 1  # resolve warning: yellow
    assert (await api.get(case["id"]))["sla_status"] == "warning"
    async with hub.db.read() as session:  # the walls' counters say so too
        counters = await region_counters(session, Tier.COUNTY, world.region["339901"], clock.now())
    assert counters["open_by_sla_status"] == {"warning": 1}
    assert counters["open_by_state"] == {"dispatched": 1}
    assert await step(clock, engine, 30) == 1  # resolve breach: red, county supervises
    case = await api.get(case["id"])
    assert case["sla_status"] == "breached" and case["supervision"] == "county"
    assert case["whistle_level"] == 3  # already the top: nothing to raise
    assert await step(clock, engine, 120) == 1  # long overdue: the city supervises
    case = await api.get(case["id"])
    assert case["supervision"] == "city" and case["overdue"] is True
    assert await step(clock, engine, 24 * 60) == 0  # nothing left, nothing twice

    assert sla_events(await api.events(case["id"])) == [
        ("sla_warning", "confirm", None),
        ("sla_breach", "confirm", None),
        ("sla_escalation", "confirm", "flag_township"),
        ("sla_warning", "ack", None),
        ("sla_breach", "ack", None),
        ("sla_escalation", "ack", "push_backup"),
        ("sla_warning", "checkin", None),
        ("sla_overdue", "ack", None),
        ("sla_escalation", "ack", "push_leader"),
        ("sla_breach", "checkin", None),
        ("sla_escalation", "checkin", "flag_township"),
        ("sla_warning", "resolve", None),
        ("sla_breach", "resolve", None),
        ("sla_escalation", "resolve", "supervise_county"),
        ("sla_escalation", "resolve", "raise_whistle"),
        ("sla_overdue", "resolve", None),
        ("sla_escalation", "resolve", "supervise_city"),
    ]
    await assert_rebuilds(hub)


async def test_resolve_breach_raises_a_level2_whistle_to_the_leader(
    api: Api, hub: Hub, clock: FrozenClock, engine: SlaEngine
) -> None:
    # T01: township tier (level 2); 3 working days to resolve. Monday 10:00 -> Thursday.
    case = await api.create(title="占道经营", category_code="T01")
    assert case["whistle_level"] == 2 and case["state"] == "dispatched"
    case = await api.act("admin", case, "acknowledge")
    case = await api.act("admin", case, "check-in")
    clock.advance(timedelta(days=3))  # Thursday 10:00: due exactly now
    await engine.run_due()
    case = await api.get(case["id"])
    # Raised to level 3, which waits for the township leader (its own clock now runs).
    assert case["whistle_level"] == 3 and case["state"] == "awaiting_confirmation"
    assert case["sla_status"] == "breached" and case["supervision"] == "county"
    assert case["confirm_due_at"] is not None and case["resolve_due_at"] is None
    types = [e["type"] for e in await api.events(case["id"])]
    assert types[-4:] == [
        "sla_breach",
        "sla_escalation",  # the county supervises
        "whistle_awaiting_confirmation",
        "sla_escalation",  # the whistle was raised
    ]
    # The old clock's "long overdue" rung was cancelled with it: the city is not told.
    clock.advance(timedelta(days=10))
    await engine.run_due()
    case = await api.get(case["id"])
    assert case["supervision"] == "county"
    await assert_rebuilds(hub)


async def test_steps_done_in_time_stop_their_rungs(
    api: Api, hub: Hub, clock: FrozenClock, engine: SlaEngine
) -> None:
    case = await api.create(title="占道经营", category_code="T01")
    clock.advance(timedelta(minutes=5))
    case = await api.act("admin", case, "acknowledge")
    case = await api.act("admin", case, "check-in")
    case = await api.act("admin", case, "resolve", note="已清理")
    assert case["verify_due_at"] is not None  # the township's own clock: 1 working day
    clock.advance(timedelta(hours=2))
    assert (await engine.run_due()).fired == 0
    case = await api.act("dispatcher", case, "verify")
    clock.advance(timedelta(days=30))
    assert (await engine.run_due()).fired == 0
    async with hub.db.read() as session:
        rows = (await session.exec(select(Deadline).where(Deadline.case_id == case["id"]))).all()
    assert rows and {r.status for r in rows} == {DeadlineStatus.CANCELLED}


async def test_rework_restarts_the_on_site_and_resolve_clocks(
    api: Api, hub: Hub, clock: FrozenClock, engine: SlaEngine
) -> None:
    case = await api.create(title="占道经营", category_code="T01")
    case = await api.act("admin", case, "acknowledge")
    case = await api.act("admin", case, "check-in")
    case = await api.act("admin", case, "resolve")
    clock.advance(timedelta(hours=1))
    case = await api.act("dispatcher", case, "reject", reason="未清理干净")
    assert case["state"] == "acknowledged" and case["verify_due_at"] is None
    # A new two hours to be back on site, counted from the rejection.
    assert datetime.fromisoformat(case["checkin_due_at"]) == clock.now() + timedelta(hours=2)
    assert await step(clock, engine, 90) == 1  # check-in warning of the new run
    events = sla_events(await api.events(case["id"]))
    assert events == [("sla_warning", "checkin", None)]


async def test_return_and_cancel_stop_every_clock(
    api: Api, hub: Hub, clock: FrozenClock, engine: SlaEngine
) -> None:
    returned = await api.create(title="占道经营", category_code="T01")
    returned = await api.act("admin", returned, "return", reason="不属本部门")
    cancelled = await api.create(title="重复上报", category_code="T01")
    cancelled = await api.act("dispatcher", cancelled, "cancel", reason="重复")
    clock.advance(timedelta(days=30))
    assert (await engine.run_due()).fired == 0
    async with hub.db.read() as session:
        pending = (
            await session.exec(
                select(Deadline).where(col(Deadline.status) == DeadlineStatus.PENDING)
            )
        ).all()
    assert pending == []
