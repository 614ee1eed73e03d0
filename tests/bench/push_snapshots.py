"""Snapshot storm (issue #12): N city walls connect and subscribe at once to a city with
OPEN_CASES open cases, while cases keep being created through the API.

Figures: the time from the first connect until every wall has its snapshot; create-to-
screen at 10 city walls subscribed beforehand (the last of them to get the `created`
frame), for the cases created during the storm against the same figure measured idle just
before in the same run (the baseline, per shared/PERFORMANCE.md); sockets dropped;
failed creates; errors in the hub's log (a timer, the relay, the pool). Fails (exit 1) when
the work was wrong: a socket that failed or was closed, a create that failed, a case a
watching wall did not get, an error logged by the hub.

The open cases are inserted directly (`seed_open_cases`: plain rows with no ladder, so the
timers and the auditor leave them alone; the cases created during the run are real and
armed). Run: `make bench-snapshots` (`--walls 1000,5000 --runs 3`)."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import resource
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from statistics import median
from typing import Any

from sqlmodel import select

from hub.cases.models import Case
from hub.db import Database
from hub.enums import Priority, SlaStatus, Source
from hub.org.models import Department
from hub.regions.models import Region
from tests.bench.push_clients import ClientPool, Spec
from tests.bench.push_load import HubDriver, Sent, Target, copy_db, open_loop
from tests.bench.push_scenarios import planner, schedule
from tests.bench.push_stats import Result, summary
from tests.bench.push_world import BenchWorld, build, token
from tests.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
SECRET = "snapshot-benchmark-secret-0123456789abcdef"
OPEN_CASES = 10_000
WATCHERS = 10  # city walls subscribed before the storm: where create-to-screen is taken
STATES = ("reported", "classified", "dispatched", "acknowledged", "on_site", "resolved")
TITLES = ("井盖缺失", "占道经营", "违章停车", "垃圾堆放", "路灯不亮", "噪声扰民", "管道漏水")
LOG_PROBLEM = re.compile(r"Traceback|ERROR|QueuePool|Exception", re.I)


async def seed_open_cases(url: str, n: int, created_by: int, seed: int = 12) -> None:
    """`n` open cases spread over every grid of the city, inserted as plain rows."""
    rng = random.Random(seed)
    db = Database(url)
    try:
        async with db.read() as s:
            regions = {r.code: r for r in (await s.exec(select(Region))).all()}
            depts = [d.id for d in (await s.exec(select(Department))).all()]
        ids = {code: r.id for code, r in regions.items()}
        grids = [r for r in regions.values() if r.tier.value == "grid"]
        now = datetime.now(UTC)
        rows: list[dict[str, Any]] = []
        for k in range(n):
            g = rng.choice(grids).code
            state = rng.choice(STATES)
            created = now - timedelta(minutes=rng.randint(5, 60 * 24 * 20))
            rows.append(
                {
                    "title": f"{rng.choice(TITLES)} {g[-6:]}-{k}",
                    "description": "（压测数据）" * rng.randint(5, 40),
                    "grid_id": ids[g],
                    "community_id": ids[g[:12]],
                    "township_id": ids[g[:9]],
                    "county_id": ids[g[:6]],
                    "city_id": ids[g[:4]],
                    "source": rng.choice(list(Source)),
                    "reporter": "压测",
                    "priority": rng.choice(list(Priority)),
                    "whistle_level": rng.choice((None, 1, 2, 3)),
                    "state": state,
                    "department_id": None if state in STATES[:2] else rng.choice(depts),
                    "cooperating_department_ids": [],
                    "rework_count": 0,
                    "sla_status": rng.choice(list(SlaStatus)),
                    "created_at": created,
                    "updated_at": created,
                    "dispatched_at": None if state in STATES[:2] else created,
                    "resolve_due_at": created + timedelta(days=rng.randint(1, 30)),
                    "version": rng.randint(1, 5),
                    "created_by": created_by,
                }
            )
        table = Case.__table__  # type: ignore[attr-defined]
        await db.write_sync(lambda conn: conn.execute(table.insert(), rows))
    finally:
        await db.dispose()


@contextmanager
def hub_process(db_file: Path, log: Path) -> Iterator[Target]:
    """`hub serve`'s server (uvicorn, websockets-sansio) with its log kept for the checks."""
    port = free_port()
    env = {
        **os.environ,
        "HUB_DATABASE_URL": f"sqlite+aiosqlite:///{db_file}",
        "HUB_SECRET_KEY": SECRET,
        "HUB_MODE": "production",
        "HUB_LOG_LEVEL": "warning",
        "HUB_CASES_PER_CLIENT_PER_MIN": "0",
    }
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                *(sys.executable, "-m", "uvicorn", "hub.main:create_app", "--factory"),
                *("--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"),
                *("--ws", "websockets-sansio", "--no-access-log", "--backlog", "4096"),
            ],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 60
            import urllib.request

            while True:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                        break
                except OSError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        tail = log.read_text()[-2000:]
                        raise RuntimeError(f"hub did not start: {tail}") from None
                    time.sleep(0.1)
            yield Target("hub", "127.0.0.1", port, proc.pid)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _profile(target: Target, on: bool, name: str) -> subprocess.Popen[bytes] | None:
    if not on:
        return None
    out = ROOT / "bench-results" / f"snapshots-profile-{name}-{datetime.now(UTC):%H%M%S}.txt"
    out.parent.mkdir(exist_ok=True)
    print(f"   profile: {out.relative_to(ROOT)}", flush=True)
    spy = Path(sys.executable).parent / "py-spy"
    return subprocess.Popen(
        [
            *(str(spy), "record", "--pid", str(target.pid), "--rate", "100", "--nonblocking"),
            *("--format", "raw", "--output", str(out)),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _metric(target: Target, name: str) -> float | None:
    import urllib.request

    url = f"http://{target.host}:{target.port}/metrics"
    with urllib.request.urlopen(url, timeout=30) as r:
        for line in r.read().decode().splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
    return None


def latencies(sends: list[Sent], got: dict[tuple[int, int], float], sids: range) -> Result:
    """Per case: until the last watcher had its `created` frame. Missing ones counted."""
    values, missing = [], 0
    for s in sends:
        if s.error is not None or not s.key:
            continue
        times = [got.get((sid, s.key)) for sid in sids]
        if any(t is None for t in times):
            missing += 1
            continue
        values.append(max(t for t in times if t is not None) - s.t_sent)
    answered = summary(s.t_done - s.t_sent for s in sends if s.error is None and s.t_done)
    return {**summary(values), "missing": missing, "request": answered}


async def create_during(
    driver: HubDriver, world: BenchWorld, rate: float, seconds: float, first_k: int
) -> list[Sent]:
    sends = schedule(planner(world, first_k), rate, seconds, time.monotonic() + 0.2, first_k)
    tasks: list[asyncio.Task[None]] = []
    await open_loop(sends, driver.fire, tasks)
    await asyncio.gather(*tasks)
    return sends


async def one_run(
    a: argparse.Namespace, world: BenchWorld, template: Path, tmp: Path, walls: int, run: int
) -> Result:
    db = copy_db(template, tmp / f"run-{walls}-{run}" / "hub.db")
    log = db.with_name("hub.log")
    city = next(w for w in world.watchers if w.tier == "city")
    wall_users = [w.user_id for w in world.watchers if w.tier == "city"]
    tokens = {uid: token(uid, SECRET) for uid in wall_users}
    topic = (("region", city.region_code),)
    res: Result = {"walls": walls, "run": run}
    with hub_process(db, log) as target:
        pool = ClientPool(target.host, target.port, a.workers)
        # The watchers in a process of their own: the storm's clients, busy reading
        # snapshots, must not delay when a watcher's frames are seen.
        watch_pool = ClientPool(target.host, target.port, 1)
        driver = HubDriver(target, token(world.admin_id, SECRET))
        spy: subprocess.Popen[bytes] | None = None
        try:
            await driver.warm(16)
            watchers = [
                Spec(i, tokens[wall_users[i % len(wall_users)]], topic) for i in range(WATCHERS)
            ]
            ok, errors, _ = await watch_pool.connect(watchers)
            assert ok == WATCHERS, errors
            idle = await create_during(driver, world, a.rate, a.idle_s, 0)
            await asyncio.sleep(1.5)
            storm_specs = [
                Spec(WATCHERS + i, tokens[wall_users[i % len(wall_users)]], topic)
                for i in range(walls)
            ]
            spy = _profile(target, a.profile, f"{walls}-{run}")
            creating = asyncio.create_task(
                create_during(driver, world, a.rate, a.storm_s, len(idle))
            )
            ok, errors, converged_s = await pool.connect(storm_specs, in_flight=a.in_flight)
            during = await creating
            await asyncio.sleep(1.5)
            res["snapshots_built"] = _metric(target, "hub_ws_snapshots_built_total")
            got = await watch_pool.collect()
            storm_got = await pool.collect()
            got.closed += storm_got.closed
            res["busy_retries"] = storm_got.retried
        finally:
            if spy is not None:
                spy.send_signal(signal.SIGINT)
                spy.wait(timeout=30)
            await driver.close()
            pool.stop()
            watch_pool.stop()
    first: dict[tuple[int, int], float] = {}
    for sid, case, etype, t in zip(
        got.records.sid, got.records.case, got.records.etype, got.records.t, strict=True
    ):
        if etype == 0 and sid < WATCHERS:
            first.setdefault((sid, case), t)
    sids = range(WATCHERS)
    res["converged_s"] = round(converged_s, 2)
    res["ready"] = ok
    res["connect_errors"] = errors[:5]
    res["dropped"] = len(got.closed)
    res["idle"] = latencies(idle, first, sids)
    res["storm"] = latencies(during, first, sids)
    res["creates_failed"] = sum(s.error is not None for s in idle + during)
    res["create_errors"] = [s.error for s in idle + during if s.error][:3]
    text = log.read_text(errors="replace")
    res["log_problems"] = [line for line in text.splitlines() if LOG_PROBLEM.search(line)][:10]
    return res


def problems(r: Result) -> list[str]:
    out = []
    tag = f"walls={r['walls']} run={r['run']}"
    if r["ready"] != r["walls"] or r["connect_errors"]:
        out.append(
            f"{tag}: {r['walls'] - r['ready']} walls without a snapshot: {r['connect_errors']}"
        )
    if r["dropped"]:
        out.append(f"{tag}: {r['dropped']} sockets dropped")
    if r["creates_failed"]:
        out.append(f"{tag}: {r['creates_failed']} creates failed: {r['create_errors']}")
    for phase in ("idle", "storm"):
        if r[phase]["missing"]:
            out.append(f"{tag}: {r[phase]['missing']} {phase} cases missed by a watcher")
    if r["log_problems"]:
        out.append(f"{tag}: the hub logged {r['log_problems'][:3]}")
    return out


def table(results: list[Result]) -> str:
    lines = [
        "| walls | figure | median | min–max | runs |",
        "| ---: | --- | ---: | ---: | ---: |",
    ]
    for walls in sorted({r["walls"] for r in results}):
        rs = [r for r in results if r["walls"] == walls]
        figures = {
            "all walls have their snapshot, s": [r["converged_s"] for r in rs],
            "create-to-screen p99 idle, ms": [r["idle"]["p99_ms"] for r in rs],
            "create-to-screen p99 during the storm, ms": [r["storm"]["p99_ms"] for r in rs],
            "create-to-screen max during the storm, ms": [r["storm"]["max_ms"] for r in rs],
            "storm p99 / idle p99": [
                r["storm"]["p99_ms"] / r["idle"]["p99_ms"]
                for r in rs
                if r["storm"]["p99_ms"] and r["idle"]["p99_ms"]
            ],
            "sockets dropped": [r["dropped"] for r in rs],
            "subscribes answered busy (sent again)": [r.get("busy_retries", 0) for r in rs],
            "snapshots built (shared by all the walls)": [
                r["snapshots_built"] for r in rs if r.get("snapshots_built") is not None
            ],
            "failed creates + hub errors logged": [
                r["creates_failed"] + len(r["log_problems"]) for r in rs
            ],
        }
        for name, vs in figures.items():
            if not vs:
                continue
            spread = f"{min(vs):.2f}–{max(vs):.2f}"
            lines.append(f"| {walls:,} | {name} | {median(vs):.2f} | {spread} | {len(vs)} |")
    return "\n".join(lines)


async def main_async(a: argparse.Namespace, tmp: Path) -> list[Result]:
    template = tmp / "template" / "hub.db"
    template.parent.mkdir()
    print(f"== building the world: demo city + {OPEN_CASES:,} open cases", flush=True)
    url = f"sqlite+aiosqlite:///{template}"
    world = await build(url)
    started = time.monotonic()
    await seed_open_cases(url, a.open_cases, world.admin_id)
    print(f"   seeded in {time.monotonic() - started:.1f} s", flush=True)
    results = []
    for walls in (int(w) for w in a.walls.split(",")):
        for run in range(1, a.runs + 1):
            print(f"== {walls:,} walls, run {run}", flush=True)
            r = await one_run(a, world, template, tmp, walls, run)
            print(
                f"   converged {r['converged_s']} s, create-to-screen p99 idle "
                f"{r['idle']['p99_ms']} ms / storm {r['storm']['p99_ms']} ms, dropped "
                f"{r['dropped']}, problems {problems(r)}",
                flush=True,
            )
            results.append(r)
    return results


def main() -> int:
    p = argparse.ArgumentParser(description="snapshot storm: N city walls subscribe at once")
    p.add_argument("--walls", default="1000,5000", help="comma-separated wall counts")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--open-cases", type=int, default=OPEN_CASES)
    p.add_argument("--rate", type=float, default=5.0, help="cases/s created throughout")
    p.add_argument("--idle-s", type=float, default=8.0, help="seconds of creates before")
    p.add_argument("--storm-s", type=float, default=8.0, help="seconds of creates during")
    p.add_argument("--workers", type=int, default=4, help="client processes")
    p.add_argument("--profile", action="store_true", help="py-spy record the storm")
    p.add_argument("--in-flight", type=int, default=500, help="handshakes at once per worker")
    a = p.parse_args()
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    with tempfile.TemporaryDirectory(prefix="hub-snapshots-") as tmp:
        try:
            import uvloop

            results = uvloop.run(main_async(a, Path(tmp)))
        except ImportError:
            results = asyncio.run(main_async(a, Path(tmp)))
    found = [p for r in results for p in problems(r)]
    report = {
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "load_avg": os.getloadavg(), "note": "2 cores, shared"},
        "args": vars(a),
        "results": results,
        "problems": found,
    }
    out = ROOT / "bench-results" / f"snapshots-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(report, indent=2, ensure_ascii=False))
    print()
    print(table(results))
    print(f"\nwritten: {out.relative_to(ROOT)}")
    for problem in found:
        print(f"FAIL {problem}", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
