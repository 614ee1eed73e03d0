"""The production topology, proven on this machine with real processes on loopback: nginx
in front of three `hub serve` replicas and two `hub worker`s on one PostgreSQL and one
Redis. Walls and a staff phone connect through nginx; cases are created through nginx
while one replica is killed with SIGKILL and another stopped with SIGTERM. Every screen
reconnects through nginx to the replica left and resumes with `since`: no gap, no
duplicate; every SLA rung fires exactly once; every wall's counters equal the database's.
The figures it prints are in docs/benchmarks.md ("Topology")."""

from __future__ import annotations

import asyncio
import json
import signal
import statistics
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import col, select
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from hub.audit.chains import verify_chains
from hub.auth.security import issue_token
from hub.cases.models import Case, CaseEvent
from hub.clock import SystemClock
from hub.db import Database
from hub.realtime.counters import region_counters
from hub.regions.models import Region
from hub.sla.models import Deadline, DeadlineStatus
from tests import world as w
from tests.conftest import SECRET
from tests.helpers import GRID
from tests.procs import HubProcess, RedisServer
from tests.servers import PostgresServer
from tests.topology import Nginx, WorkerProcess, replicas

pytestmark = pytest.mark.postgres
COUNTY = "339901"
CASES = 36
RUNGS = [
    {"step": step, "at": at, "kind": kind, **({"actions": ["flag_township"]} if at == 1 else {})}
    for step in ("ack", "checkin", "resolve")
    for at, kind in ((0.5, "warning"), (1.0, "breach"))
]
CLOCK = SystemClock()  # wall-clock: the processes run on the real clock, so the tokens do too


def _token(user_id: int) -> str:
    return issue_token(
        user_id=user_id, token_version=0, secret=SECRET, now=CLOCK.now(), ttl_s=900, kind="access"
    )


@dataclass
class Screen:
    """A wall or a phone as the pages behave: on any close, reconnect and resume `since`
    the last position applied."""

    name: str
    addr: str
    token: str
    topics: list[dict[str, str]]
    positions: list[int] = field(default_factory=list)
    first: int | None = None  # the position the first subscription started after
    closes: Counter[str] = field(default_factory=Counter)
    modes: list[str] = field(default_factory=list)
    outages_s: list[float] = field(default_factory=list)
    counters: dict[str, Any] | None = None
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    _since: int | None = None
    _lost_at: float | None = None

    async def run(self) -> None:
        while True:
            try:
                await self._session()
            except ConnectionClosed as closed:
                code = closed.rcvd.code if closed.rcvd else "dropped"
                self.closes[str(code)] += 1
            except (OSError, InvalidStatus, TimeoutError) as exc:
                self.closes[type(exc).__name__] += 1
            if self._lost_at is None:
                self._lost_at = time.monotonic()
            await asyncio.sleep(0.1)

    async def _session(self) -> None:
        async with connect(f"ws://{self.addr}/ws", compression=None, open_timeout=5) as ws:
            await ws.send(json.dumps({"type": "auth", "token": self.token}))
            welcome = json.loads(await asyncio.wait_for(ws.recv(), 5))
            assert welcome["type"] == "welcome", welcome
            subscribe: dict[str, Any] = {"type": "subscribe", "topics": self.topics}
            if self._since is not None:
                subscribe["since"] = self._since
            await ws.send(json.dumps(subscribe))
            async for raw in ws:
                self._apply(json.loads(raw))

    def _apply(self, frame: dict[str, Any]) -> None:
        kind = frame["type"]
        if kind == "subscribed":
            self.modes.append(frame["mode"])
            if self._since is None:
                self._since = self.first = frame["position"]
            if self._lost_at is not None:
                self.outages_s.append(time.monotonic() - self._lost_at)
                self._lost_at = None
            self.ready.set()
        elif kind == "event":
            self.positions.append(frame["position"])
            self._since = frame["position"]
        elif kind == "counters":
            self.counters = frame["counters"]


@pytest.fixture
async def database(pg: PostgresServer, pg_template: str) -> AsyncIterator[str]:
    name = f"t_{uuid.uuid4().hex[:12]}"
    pg.psql(f"CREATE DATABASE {name} TEMPLATE {pg_template}")
    yield pg.url(name)
    pg.psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


async def _create(http: httpx.AsyncClient, headers: dict[str, str], **body: Any) -> int:
    """POST a case as a client should through a proxy: one Idempotency-Key, retried while
    the proxy answers that the replica behind it went away."""
    key = {"Idempotency-Key": uuid.uuid4().hex}
    payload = {"title": "演练", "grid_code": GRID, **body}
    for _ in range(20):
        try:
            r = await http.post("/api/v1/cases", json=payload, headers={**headers, **key})
        except httpx.TransportError:
            await asyncio.sleep(0.2)
            continue
        if r.status_code in (502, 503, 504):
            await asyncio.sleep(0.2)
            continue
        assert r.status_code in (200, 201), r.text
        case_id: int = r.json()["id"]
        return case_id
    raise AssertionError("the case was never taken")


async def _wait(check: Any, within_s: float, what: str) -> None:
    give_up = time.monotonic() + within_s
    while not await check():
        assert time.monotonic() < give_up, f"gave up waiting for {what}"
        await asyncio.sleep(0.25)


async def test_replicas_killed_and_stopped_behind_nginx_lose_nothing(
    database: str, tmp_path: Path
) -> None:
    started = time.monotonic()
    redis = RedisServer()
    redis.start()
    env = {
        "HUB_DATABASE_URL": database,
        "HUB_BUS_URL": redis.url,
        "HUB_SECRET_KEY": SECRET,
        "HUB_MODE": "production",
        "HUB_SLA_IN_PROCESS": "false",
        "HUB_CASES_PER_CLIENT_PER_MIN": "0",
        "HUB_LOG_LEVEL": "warning",
        "HUB_SLA_LEASE_S": "2",
        "HUB_SLA_POLL_S": "0.2",
    }
    hubs: list[HubProcess] = replicas(env, 3)
    workers = [WorkerProcess(env, f"worker-{i}") for i in range(2)]
    nginx = Nginx(tmp_path / "nginx", [h.addr for h in hubs])
    db = Database(database)
    tasks: list[asyncio.Task[None]] = []
    try:
        for replica in hubs:
            replica.start()
        for worker in workers:
            worker.start()
        nginx.start()
        async with db.read() as session:
            world = await w.load(session)
        wall = _token(world.user["wall"])
        screens = [
            Screen(f"wall-{i}", nginx.addr, wall, [{"kind": "region", "key": COUNTY}])
            for i in range(5)
        ]
        screens.append(
            Screen("staff", nginx.addr, _token(world.user["staff"]), [{"kind": "inbox"}])
        )
        tasks = [asyncio.create_task(s.run(), name=s.name) for s in screens]
        await asyncio.wait_for(asyncio.gather(*(s.ready.wait() for s in screens)), 20)

        admin = {"Authorization": f"Bearer {_token(world.user['admin'])}"}
        dispatcher = {"Authorization": f"Bearer {_token(world.user['dispatcher'])}"}
        async with httpx.AsyncClient(base_url=f"http://{nginx.addr}", timeout=10) as http:
            drill = {
                "code": "D09", "name_zh": "演练", "name_en": "drill", "case_class": "event",
                "tier": "county", "primary_department": "police",
                "ack_within": 4, "ack_unit": "seconds", "checkin_within": 8,
                "checkin_unit": "seconds", "resolve_within": 12, "resolve_unit": "seconds",
                "sla": {"rungs": RUNGS},
            }  # fmt: skip
            r = await http.post("/api/v1/catalogue", json=drill, headers=admin)
            assert r.status_code == 201, r.text
            killed_at = stopped_at = 0.0
            stopping = None
            for i in range(CASES):
                await _create(http, dispatcher, category_code="D09")
                if i == CASES // 3:
                    hubs[0].kill()  # SIGKILL: its sockets drop, its requests in flight fail
                    killed_at = time.monotonic()
                if i == 2 * CASES // 3:
                    assert hubs[1].proc is not None
                    hubs[1].proc.send_signal(signal.SIGTERM)  # closes its sockets with 4010
                    stopped_at = time.monotonic()
                    stopping = asyncio.create_task(asyncio.to_thread(hubs[1].proc.wait, 30))
                await asyncio.sleep(0.15)
            # uvicorn re-raises the SIGTERM it handled once its shutdown is done
            assert stopping is not None and await stopping in (0, -signal.SIGTERM)

            async def no_deadline_pending() -> bool:
                async with db.read() as session:
                    rows = (await session.exec(select(Deadline.status))).all()
                return len(rows) == CASES * len(RUNGS) and DeadlineStatus.PENDING not in rows

            await _wait(no_deadline_pending, 90, "every rung to fire")
            # One more change, after the last rung: every wall's counters are pushed again.
            last_case = await _create(http, dispatcher, category_code="T01")

        async def caught_up() -> bool:
            async with db.read() as session:
                head = (
                    await session.exec(
                        select(CaseEvent.position).where(CaseEvent.case_id == last_case)
                    )
                ).all()
            if None in head or not head:
                return False
            newest = max(p for p in head if p is not None)
            return all(s.positions and s.positions[-1] >= newest for s in screens[:-1])

        await _wait(caught_up, 30, "every wall to see the last case")
        await asyncio.sleep(1.5)  # the counters push after the last event
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        nginx.stop()
        for worker in workers:
            worker.stop()
        for replica in hubs:
            replica.stop()
        redis.kill()

    try:
        async with db.read() as session:
            events = (await session.exec(select(CaseEvent))).all()
            county = (await session.exec(select(Region).where(Region.code == COUNTY))).one()
            assert county.id is not None
            expected_counters = await region_counters(session, county.tier, county.id, CLOCK.now())
            staff_cases = set(
                (
                    await session.exec(
                        select(Case.id).where(Case.assigned_staff_id == world.staff["police_a"])
                    )
                ).all()
            )
            statuses = Counter(
                (
                    await session.exec(
                        select(Deadline.status).where(col(Deadline.case_id) != last_case)
                    )
                ).all()
            )
        report = await verify_chains(db)
    finally:
        await db.dispose()

    assert all(e.position is not None for e in events), "every event was numbered"
    positions = sorted(e.position for e in events if e.position is not None)
    for screen in screens[:-1]:  # the walls: every event of the county after they started
        assert screen.first is not None
        want = [p for p in positions if p > screen.first]
        assert len(screen.positions) == len(set(screen.positions)), f"{screen.name}: duplicate"
        assert screen.positions == want, f"{screen.name}: gap or disorder"
        assert screen.counters == expected_counters, screen.name
    staff = screens[-1]
    assert staff.first is not None
    assert staff.positions == sorted(set(staff.positions)), "staff: duplicate or disorder"
    dispatched = {
        e.position
        for e in events
        if e.type == "dispatched" and e.case_id in staff_cases and (e.position or 0) > staff.first
    }
    assert dispatched and dispatched <= set(staff.positions), "staff: a task never arrived"

    # Every rung fired exactly once, whichever worker held it.
    assert statuses == {DeadlineStatus.FIRED: CASES * len(RUNGS)}
    rung_events = Counter(
        e.payload["deadline_id"] for e in events if e.type in ("sla_warning", "sla_breach")
    )
    assert len(rung_events) == CASES * len(RUNGS) and set(rung_events.values()) == {1}
    assert report.ok, report.breaks

    # Who reconnected, how, and how long the screens were without a socket.
    reconnected = [s for s in screens if s.outages_s]
    assert reconnected, "the killed and the stopped replica held no screen"
    assert all(set(s.modes[1:]) <= {"resume"} for s in screens), "a resume fell back to snapshot"
    closes = sum((s.closes for s in screens), Counter())
    assert closes.get("4010", 0) >= 1, closes  # the stopped replica's sockets
    outages = [o for s in screens for o in s.outages_s]
    print(
        f"\ntopology: {CASES + 1} cases, {len(events)} events, {len(rung_events)} rungs; "
        f"{len(reconnected)} of {len(screens)} screens reconnected {len(outages)} times "
        f"(closes {dict(closes)}); without a socket median {statistics.median(outages):.3f} s, "
        f"max {max(outages):.3f} s; kill at {killed_at - started:.1f} s, stop at "
        f"{stopped_at - started:.1f} s, whole test {time.monotonic() - started:.1f} s"
    )
