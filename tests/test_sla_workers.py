"""Exactly once through crashes and with several workers: real `hub worker` processes on
a real PostgreSQL killed with SIGKILL at random; a full stop and restart past 500
deadlines; the auditor re-arming rows that went missing."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import delete, func
from sqlmodel import col, select

from hub.audit.chains import verify_chains
from hub.cases.models import CaseEvent
from hub.clock import FrozenClock
from hub.deps import Hub
from hub.sla.engine import SlaEngine
from hub.sla.models import Deadline, DeadlineStatus
from tests.conftest import SECRET
from tests.helpers import Api, Auth

ROOT = Path(__file__).parent.parent
STEPS = ("ack", "checkin", "resolve")
# Two rungs per step: 6 rows per case, every one of them must fire.
RUNGS = [
    rung
    for step in STEPS
    for rung in (
        {"step": step, "at": 0.5, "kind": "warning"},
        {"step": step, "at": 1.0, "kind": "breach", "actions": ["flag_township"]},
    )
]


@pytest.fixture
def api(client: httpx.AsyncClient, auth: Auth) -> Api:
    return Api(client, auth)


async def drill_entry(api: Api, code: str, seconds: tuple[int, int, int]) -> None:
    """A catalogue entry with limits of a few seconds, as a drill would use."""
    ack, checkin, resolve = seconds
    body = {
        "code": code,
        "name_zh": "演练",
        "name_en": "drill",
        "case_class": "event",
        "tier": "township",
        "primary_department": "urban",
        "ack_within": ack,
        "ack_unit": "seconds",
        "checkin_within": checkin,
        "checkin_unit": "seconds",
        "resolve_within": resolve,
        "resolve_unit": "seconds",
        "sla": {"rungs": RUNGS},
    }
    r = await api.client.post("/api/v1/catalogue", json=body, headers=api.auth("admin"))
    assert r.status_code == 201, r.text


async def create_cases(api: Api, code: str, n: int) -> list[int]:
    ids = []
    for i in range(n):
        case = await api.create(title=f"演练 {i}", category_code=code)
        assert case["state"] == "dispatched"
        ids.append(case["id"])
    return ids


async def fired_once(hub: Hub, expected_rows: int) -> None:
    """Every row fired, and each by exactly one rung event."""
    async with hub.db.read() as session:
        statuses = Counter(s for s in (await session.exec(select(Deadline.status))).all())
        events = (
            await session.exec(
                select(CaseEvent).where(col(CaseEvent.type).in_(["sla_warning", "sla_breach"]))
            )
        ).all()
        escalations = (
            await session.exec(select(func.count()).where(col(CaseEvent.type) == "sla_escalation"))
        ).one()
    assert statuses == {DeadlineStatus.FIRED: expected_rows}
    per_row = Counter(e.payload["deadline_id"] for e in events)
    assert len(per_row) == expected_rows
    assert set(per_row.values()) == {1}, "a rung fired twice"
    assert escalations == expected_rows // 2  # each breach flags the township once
    report = await verify_chains(hub.db)
    assert report.ok, report.breaks


class Worker:
    def __init__(self, name: str, db_url: str) -> None:
        self.name = name
        self.env = {
            **os.environ,
            "HUB_DATABASE_URL": db_url,
            "HUB_SECRET_KEY": SECRET,
            "HUB_MODE": "production",
            "HUB_SLA_LEASE_S": "2",
            "HUB_SLA_POLL_S": "0.2",
            "HUB_SLA_BATCH": "20",
            "HUB_LOG_LEVEL": "warning",
        }
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "hub.cli", "worker", "--id", f"{self.name}#{self.starts}"],
            env=self.env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
        )

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=20)


async def pending(hub: Hub) -> int:
    async with hub.db.read() as session:
        stmt = select(func.count()).where(col(Deadline.status) == DeadlineStatus.PENDING)
        return int((await session.exec(stmt)).one())


async def drained(hub: Hub, *, within_s: float) -> None:
    """Wait (polling the database, which is what changes) until no row is pending."""
    give_up = time.monotonic() + within_s
    for _ in range(int(within_s / 0.05)):
        if not await pending(hub) or time.monotonic() > give_up:
            return
        await asyncio.sleep(0.05)


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
async def test_three_workers_killed_at_random_fire_each_rung_exactly_once(
    api: Api, hub: Hub, clock: FrozenClock
) -> None:
    clock.set(datetime.now(UTC))  # wall-clock: the workers run on the real clock
    await drill_entry(api, "D01", (4, 8, 12))
    cases = await create_cases(api, "D01", 170)
    rows = len(cases) * len(RUNGS)  # 1,020 deadlines over the next ~12 seconds
    assert await pending(hub) == rows
    rng = random.Random(20261123)
    workers = [Worker(f"w{i}", hub.settings.database_url) for i in range(3)]
    kills = 0
    try:
        for w in workers:
            w.start()
        until = time.monotonic() + 14
        while time.monotonic() < until:
            await asyncio.sleep(rng.uniform(0.2, 1.2))
            victim = rng.choice(workers)
            victim.kill()  # at any point: claiming, firing, committing
            kills += 1
            await asyncio.sleep(rng.uniform(0, 0.3))
            victim.start()
        await drained(hub, within_s=60)
    finally:
        for w in workers:
            w.stop()
    assert kills >= 10
    await fired_once(hub, rows)


async def test_restart_past_500_deadlines_fires_each_once(
    api: Api, hub: Hub, clock: FrozenClock
) -> None:
    await drill_entry(api, "D02", (60, 120, 180))
    cases = await create_cases(api, "D02", 84)
    rows = len(cases) * len(RUNGS)
    assert rows >= 500
    before = SlaEngine(hub, worker_id="before")
    await before.start()
    await asyncio.sleep(0.3)
    await before.stop()  # everything stops; nothing was due
    assert await pending(hub) == rows
    clock.advance(timedelta(minutes=10))  # past every deadline
    # Two engines come back at once and race for the overdue rows.
    after = [SlaEngine(hub, worker_id=f"after-{i}") for i in range(2)]
    started = time.monotonic()
    for engine in after:
        await engine.start()
    try:
        await drained(hub, within_s=30)
        caught_up_s = time.monotonic() - started
    finally:
        for engine in after:
            await engine.stop()
    assert caught_up_s < 30
    await fired_once(hub, rows)


async def test_the_auditor_rearms_rows_that_went_missing(
    api: Api, hub: Hub, clock: FrozenClock
) -> None:
    await drill_entry(api, "D03", (60, 120, 180))
    cases = await create_cases(api, "D03", 3)
    async with hub.db.transaction() as session:
        await session.exec(delete(Deadline).where(col(Deadline.case_id) == cases[1]))
    engine = SlaEngine(hub, worker_id="auditor")
    assert await engine.audit() == len(RUNGS)
    repairs = hub.metrics.registry.get_sample_value("hub_sla_auditor_repairs_total")
    assert repairs == len(RUNGS)
    assert await engine.audit() == 0  # nothing left to repair
    clock.advance(timedelta(minutes=10))
    assert (await engine.run_due()).fired == 3 * len(RUNGS)
    await fired_once(hub, 3 * len(RUNGS))


async def test_a_lost_claim_fires_nothing(api: Api, hub: Hub, clock: FrozenClock) -> None:
    """Fencing: a worker whose lease ran out and whose rows another worker re-claimed
    must not fire them when it wakes up."""
    await drill_entry(api, "D04", (60, 120, 180))
    await create_cases(api, "D04", 1)
    clock.advance(timedelta(seconds=31))  # the ack warning is due
    slow, fast = SlaEngine(hub, worker_id="slow"), SlaEngine(hub, worker_id="fast")
    token, ids = await slow.claim()
    assert len(ids) == 1
    clock.advance(hub.settings.sla_lease_s * timedelta(seconds=1) + timedelta(seconds=1))
    fast_token, fast_ids = await fast.claim()
    assert fast_ids == ids
    assert (await slow.fire(token, ids)).fired == 0  # the slow worker's token is stale
    assert (await fast.fire(fast_token, fast_ids)).fired == 1
    async with hub.db.read() as session:
        row = (await session.exec(select(Deadline).where(col(Deadline.id) == ids[0]))).one()
    assert row.fired_by == "fast"
