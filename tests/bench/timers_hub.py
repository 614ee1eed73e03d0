"""The hub side of `make bench-timers` (tests/bench/timers.py): N deadline rows in the
SLA engine on the embedded SQLite, fired by the real engine with the outbox relay running.

Each deadline is the one rung (acknowledge breach) of a dispatched case, so each firing is
the real thing: the case locked, a `sla_breach` event chained onto its timeline, the row
marked fired, all in one transaction, then numbered and published by the relay.

- setup (not timed): N dispatched cases are inserted whose clocks put their deadlines
  evenly over the window;
- arm (timed): the auditor plans every open case and writes the missing deadline rows
  — the same code that arms a case at dispatch;
- live: the engine fires them; each firing is stamped (monotonic) after its commit;
  doubles are counted from the durable record (the events);
- restart: with no engine running, `restart_n` more deadlines become overdue; a new
  `hub worker` process starts on the same database and is timed until all have fired.

Contract of `run_hub` and the keys: see tests/bench/timers_baseline.py (TimerFigures)."""

from __future__ import annotations

import asyncio
import gc
import os
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert
from sqlmodel import col, select

from hub.auth.models import User
from hub.cases.machine import CaseState
from hub.cases.models import Case, CaseEvent
from hub.config import Settings
from hub.db import Database
from hub.deps import Hub
from hub.enums import HandlingTier, Priority, Source, TimeUnit
from hub.migrate import upgrade_async
from hub.org.models import Department
from hub.realtime.runtime import Realtime
from hub.sla.auditor import audit_open_cases
from hub.sla.engine import SlaEngine
from hub.sla.ladder import LadderOverride, Rung, RungKind, Step, StepLimit, build_ladder
from hub.sla.models import Deadline, DeadlineStatus
from tests import world
from tests.bench.timers_baseline import Clock, TimerFigures, lateness_figures, tally, vm_mib
from tests.helpers import GRID

ROOT = Path(__file__).resolve().parents[2]
SECRET = "bench-secret-that-is-long-enough-for-production-0123"
LIMIT_S = 60  # each case's acknowledge limit: its clock starts this long before its due time
CASES: Any = Case.__table__  # type: ignore[attr-defined]
SETUP_S_PER_CASE = 60e-6  # measured ~30-45 µs; the deadlines' lead is planned from this


def run_hub(
    n: int, *, window_s: float, lead_s: float, restart_n: int, workdir: Path
) -> TimerFigures:
    return asyncio.run(_run(n, window_s, lead_s, restart_n, workdir))


def _ladder() -> dict[str, Any]:
    limit = StepLimit(within=LIMIT_S, unit=TimeUnit.SECONDS)
    one_rung = (Rung(step=Step.ACK, at=1.0, kind=RungKind.BREACH),)
    ladder = build_ladder(
        ack=limit, checkin=limit, resolve=limit, override=LadderOverride(rungs=one_rung)
    )
    return ladder.model_dump(mode="json")


async def _insert_cases(hub: Hub, clock: Clock, due_mono: list[float]) -> tuple[int, int]:
    """Dispatched cases whose acknowledge deadline falls at each `due_mono`; their ids."""
    ref = await hub.reference.get()
    place = ref.grids[GRID]
    entry = ref.current["T01"]  # township tier, the township's urban office
    async with hub.db.read() as session:
        admin = (await session.exec(select(User.id).where(User.username == "admin"))).one()
        dept = (
            await session.exec(
                select(Department.id).where(
                    Department.code == "urban", Department.region_id == place.township_id
                )
            )
        ).one()
    ladder = _ladder()
    now = hub.clock.now()
    first = last = 0
    for start in range(0, len(due_mono), 5_000):
        rows: list[dict[str, Any]] = []
        for due in due_mono[start : start + 5_000]:
            started = clock.run_date(due) - timedelta(seconds=LIMIT_S)
            rows.append(
                {
                    "title": "计时基准",
                    "description": "",
                    "category_code": entry.code,
                    "catalogue_entry_id": entry.id,
                    "grid_id": place.grid_id,
                    "community_id": place.community_id,
                    "township_id": place.township_id,
                    "county_id": place.county_id,
                    "city_id": place.city_id,
                    "source": Source.GRID_PATROL,
                    "reporter": "",
                    "priority": Priority.NORMAL,
                    "tier": HandlingTier.TOWNSHIP,
                    "whistle_level": 2,
                    "state": CaseState.DISPATCHED,
                    "department_id": dept,
                    "cooperating_department_ids": [],
                    "rework_count": 0,
                    "clock_started_at": started,
                    "resolve_started_at": started,
                    "ack_due_at": started + timedelta(seconds=LIMIT_S),
                    "sla_ladder": ladder,
                    "sla_status": "ok",
                    "created_at": now,
                    "updated_at": now,
                    "dispatched_at": started,
                    "version": 1,
                    "created_by": admin,
                }
            )
        async with hub.db.transaction() as session:
            conn = await session.connection()
            result = await conn.execute(insert(CASES).returning(CASES.c.id), rows)
            ids = [r[0] for r in result]
        first = first or min(ids)
        last = max(ids)
    return first, last


def _spread(start: float, count: int, span: float) -> list[float]:
    return [start + span * i / max(1, count - 1) for i in range(count)]


async def _pending(hub: Hub, case_from: int) -> int:
    async with hub.db.read() as session:
        stmt = select(func.count()).where(
            col(Deadline.status) == DeadlineStatus.PENDING, col(Deadline.case_id) >= case_from
        )
        return int((await session.exec(stmt)).one())


async def _doubles(hub: Hub, case_from: int, case_to: int) -> tuple[int, int]:
    """(distinct deadlines with a breach event, events beyond one per deadline)."""
    async with hub.db.read() as session:
        stmt = select(CaseEvent.payload).where(
            col(CaseEvent.type) == "sla_breach",
            col(CaseEvent.case_id) >= case_from,
            col(CaseEvent.case_id) <= case_to,
        )
        per = Counter(p["deadline_id"] for p in (await session.exec(stmt)).all())
    return len(per), sum(v - 1 for v in per.values())


async def _run(
    n: int, window_s: float, lead_s: float, restart_n: int, workdir: Path
) -> TimerFigures:
    url = f"sqlite+aiosqlite:///{workdir / 'hub.db'}"
    await upgrade_async(url)
    db = Database(url)
    await world.seed(db)
    settings = Settings(
        database_url=url, secret_key=SECRET, mode="production", sla_audit_every_s=3600
    )
    hub = Hub(settings=settings, db=db)
    notes: list[str] = []
    problems: list[str] = []

    # -- setup and arming ------------------------------------------------------------
    clock = Clock()
    setup_s = n * SETUP_S_PER_CASE * 2 + 2
    first_due = time.monotonic() + setup_s + lead_s
    due = _spread(first_due, n, window_s)
    t = time.monotonic()
    first_id, last_id = await _insert_cases(hub, clock, due)
    notes.append(f"setup: {n:,} dispatched cases inserted in {time.monotonic() - t:.1f} s")
    rss_before = vm_mib()
    armed_at = time.monotonic()
    armed = await audit_open_cases(hub)
    arm_s = time.monotonic() - armed_at
    rss_after = vm_mib()
    if armed != n:
        problems.append(f"armed {armed} deadline rows, expected {n}")

    # -- live: the engine (and the relay) fire them -----------------------------------
    hub.realtime = Realtime(hub.db, hub.metrics, "memory://", clock=hub.clock)
    await hub.realtime.start()
    engine = hub.sla = SlaEngine(hub, worker_id="bench")
    stamps: list[tuple[int, float]] = []

    def stamp(rows: list[Deadline]) -> None:
        now = time.monotonic()
        stamps.extend((r.case_id - first_id, now) for r in rows)

    engine.on_fired = stamp
    # As `hub serve` does once it has started: what lives as long as the process stays out
    # of the collector's full passes.
    gc.freeze()
    await engine.start()
    # Not polling the store meanwhile: the measurement should not load the hub it measures.
    await asyncio.sleep(max(0.0, due[-1] + 2 - time.monotonic()))
    for _ in range(240):  # then up to two minutes for stragglers
        if not await _pending(hub, first_id):
            break
        await asyncio.sleep(0.5)
    await engine.stop()
    await hub.realtime.stop()
    hub.realtime = hub.sla = None
    fired, doubles_seen, late, _, _ = tally(stamps, due)
    durable, durable_doubles = await _doubles(hub, first_id, last_id)
    left = await _pending(hub, first_id)
    figures: TimerFigures = {
        "expected": n,
        "arm_s": round(arm_s, 2),
        "arm_us_per_deadline": round(arm_s / n * 1e6, 1),
        "rss_mib": round(rss_after - rss_before, 1),
        "rss_total_mib": round(rss_after, 1),
        "peak_rss_mib": round(vm_mib("VmHWM") - rss_before, 1),
        "lead_s": round(first_due - armed_at, 1),
        "window_s": window_s,
        "arm_overran_s": round(max(0.0, armed_at + arm_s - first_due), 2),
        **lateness_figures(late),
        "fired": min(fired, durable),
        "doubles": max(doubles_seen, durable_doubles),
        "left_in_store": left,
    }
    if durable != fired:
        problems.append(f"{fired} firings stamped but {durable} deadlines have an event")

    # -- restart: overdue while nothing runs, then a new worker process ----------------
    if restart_n:
        figures.update(await _restart(hub, restart_n, url, notes, problems))
    await hub.aclose()
    figures["notes"] = notes
    figures["problems"] = problems
    return figures


async def _restart(
    hub: Hub, restart_n: int, url: str, notes: list[str], problems: list[str]
) -> TimerFigures:
    clock = Clock()
    due = _spread(time.monotonic() + restart_n * SETUP_S_PER_CASE * 4 + 3, restart_n, 1.0)
    first_id, last_id = await _insert_cases(hub, clock, due)
    await audit_open_cases(hub)  # armed by the (now stopped) hub
    await asyncio.sleep(max(0.0, due[-1] + 0.5 - time.monotonic()))  # all overdue
    overdue = await _pending(hub, first_id)
    env = {
        **os.environ,
        "HUB_DATABASE_URL": url,
        "HUB_SECRET_KEY": SECRET,
        "HUB_MODE": "production",
        "HUB_LOG_LEVEL": "warning",
        "HUB_SLA_AUDIT_EVERY_S": "3600",
    }
    spawned = time.monotonic()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "hub.cli",
        "worker",
        "--id",
        "restarted",
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    line = (await proc.stdout.readline()).decode()
    started = time.monotonic()
    if "timers running" not in line:
        problems.append(f"restarted worker said {line!r}")
    first_fired = all_fired = None
    while time.monotonic() - started < 120:
        left = await _pending(hub, first_id)
        now = time.monotonic()
        if first_fired is None and left < overdue:
            first_fired = now
        if left == 0:
            all_fired = now
            break
        await asyncio.sleep(0.02)
    proc.terminate()
    await asyncio.wait_for(proc.wait(), 30)
    fired, doubles = await _doubles(hub, first_id, last_id)
    if all_fired is None:
        problems.append("the restarted worker did not fire every overdue deadline in 120 s")
    notes.append("restart: first and last firing observed by polling the store every 20 ms")
    return {
        "restart_expected": restart_n,
        "restart_overdue_at_start": overdue,
        "restart_all_fired_s": round((all_fired or time.monotonic()) - started, 2),
        "restart_first_fired_s": round((first_fired or started) - started, 2),
        "restart_from_spawn_s": round((all_fired or time.monotonic()) - spawned, 2),
        "restart_fired": fired,
        "restart_doubles": doubles,
        "restart_left_in_store": await _pending(hub, first_id),
    }
