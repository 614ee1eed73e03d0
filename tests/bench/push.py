"""Live-push benchmark (issue #4): the hub's websocket fan-out against a bare `websockets`
broadcast server (`tests/bench/bare_server.py`), same client harness, same run.

Scenarios (each against the hub and the bare server):
1. realistic mix: 1,900 staff inboxes + 100 region walls/consoles, cases created through
   `POST /api/v1/cases` on an open-loop schedule over the townships: create-to-screen
   latency at every region socket that should see the case, task-push latency at the
   assignee's inbox. The hub runs on the memory bus and again on a Redis bus (one process).
2. broadcast: 1,000 sockets on the city region at a steady rate: latency until the last.
3. fan-out capacity: the same sockets, the rate ramping until delivered frames/s stop rising.
4. memory: RSS growth per idle authenticated inbox socket.

Fails (exit 1) only when the work was wrong: a lost, duplicated or misdelivered frame, a
socket that failed or was closed (except slow-consumer closes at saturation), a failed
create. Run: `make bench-push`; the hub's SQLite database is the demo city plus 1,900
staff (`tests/bench/push_world.py`), copied fresh for each hub process."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import signal
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Coroutine, Iterator
from contextlib import ExitStack, closing, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.bench.push_clients import ClientPool
from tests.bench.push_load import (
    BareDriver,
    Driver,
    HubDriver,
    Target,
    bare_server,
    copy_db,
    hub_server,
    redis_server,
)
from tests.bench.push_report import rows, targets
from tests.bench.push_scenarios import Ctx, EventsOf, broadcast, memory, mix
from tests.bench.push_stats import Result, table
from tests.bench.push_world import BenchWorld, build, token

ROOT = Path(__file__).resolve().parents[2]
SECRET = "push-benchmark-secret-0123456789abcdef"
RAMP = (5.0, 7.5, 11.0, 17.0, 25.0, 38.0, 57.0, 85.0)  # cases/s, 2 frames per case per socket


def events_in(db_file: Path) -> EventsOf:
    def count(ids: list[int]) -> dict[int, int]:
        with closing(sqlite3.connect(db_file, timeout=30)) as con:
            rows = con.execute("SELECT case_id, count(*) FROM case_events GROUP BY case_id")
            wanted = set(ids)
            return {cid: n for cid, n in rows if cid in wanted}

    return count


def two_each(ids: list[int]) -> dict[int, int]:
    return dict.fromkeys(ids, 2)


@contextmanager
def profiled(target: Target, out: Path | None) -> Iterator[None]:
    """Optionally `py-spy record` the hub process for the duration of a phase."""
    if out is None or not target.name.startswith("hub"):
        yield
        return
    spy = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "py-spy"),
            "record",
            "--pid",
            str(target.pid),
            "--rate",
            "100",
            "--nonblocking",
            "--format",
            "raw",  # collapsed stacks: flamegraph.pl or speedscope read them
            "--output",
            str(out),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield
    finally:
        spy.send_signal(signal.SIGINT)
        try:
            spy.wait(timeout=30)
        except subprocess.TimeoutExpired:
            spy.kill()
        print(f"   profile: {out.relative_to(ROOT)}", flush=True)


async def phase(
    name: str,
    which: str,
    a: argparse.Namespace,
    world: BenchWorld,
    template: Path,
    tmp: Path,
    samples: dict[int, str],
    problems: list[str],
) -> Result:
    print(f"== {which}: {name}", flush=True)
    with ExitStack() as stack:
        events: EventsOf = two_each
        if name == "bare":
            target = stack.enter_context(bare_server(SECRET))
        else:
            bus = stack.enter_context(redis_server()).url if name == "hub-redis" else "memory://"
            db = copy_db(template, tmp / f"{name}-{which}" / "hub.db")
            target, events = stack.enter_context(hub_server(db, SECRET, bus)), events_in(db)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        out = ROOT / "bench-results" / f"push-profile-{name}-{which}-{stamp}.txt"
        stack.enter_context(profiled(target, out if a.profile else None))
        pool = ClientPool(target.host, target.port, a.workers)
        driver: Driver = (
            BareDriver(target, samples)
            if name == "bare"
            else HubDriver(target, token(world.admin_id, SECRET))
        )
        c = Ctx(target, pool, driver, world, SECRET, events, problems)
        res: Result = {}
        try:
            if which == "mix":
                if name != "hub-redis":
                    res["memory"] = await memory(c, a.idle)
                    print(f"   {res['memory']['kib_per_socket']} KiB per idle socket", flush=True)
                res["mix"] = await mix(c, a.rate, a.duration, a.warmup)
                found = res["mix"].pop("samples", {})
                if name != "bare":
                    samples.update(found)
            else:
                res["broadcast"], res["capacity"] = await broadcast(
                    c, a.sockets, a.broadcast_rate, a.duration, a.warmup, RAMP, a.step
                )
        finally:
            await driver.close()
            pool.stop()
    for key in ("mix", "broadcast"):
        if key in res:
            r = res[key]
            print(
                f"   {key}: create-to-screen {r['create_to_screen']['p99_ms']} ms p99, "
                f"task {r['task_push']['p99_ms']} ms p99, last-of-N "
                f"{r['last_of_n']['p99_ms']} ms p99, lost {r['lost']}",
                flush=True,
            )
    return res


async def run_all(a: argparse.Namespace, tmp: Path, report: Result) -> dict[str, Result]:
    template = tmp / "template" / "hub.db"
    template.parent.mkdir()
    print("== building the world (demo city + 1,900 staff with posts and accounts)", flush=True)
    world = await build(f"sqlite+aiosqlite:///{template}")
    report["world"] = {"inboxes": len(world.inboxes), "watchers": len(world.watchers)}
    results: dict[str, Result] = {"hub": {}, "bare": {}}
    samples: dict[int, str] = {}
    problems: list[str] = report["problems"]
    names = ["hub", "bare"] + ([] if a.no_redis else ["hub-redis"])
    for which in ("mix", "broadcast"):
        for name in names if which == "mix" else names[:2]:
            if which in a.scenarios.split(",") and name in a.servers.split(","):
                results.setdefault(name, {}).update(
                    await phase(name, which, a, world, template, tmp, samples, problems)
                )
    report["frame_bytes"] = {
        ("created", "dispatched")[k]: len(v.encode()) for k, v in samples.items() if k < 2
    }
    return results


def run(coro: Coroutine[Any, Any, dict[str, Result]]) -> dict[str, Result]:
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    return uvloop.run(coro)


def main() -> int:
    p = argparse.ArgumentParser(description="live-push benchmark: hub vs bare websockets")
    p.add_argument("--duration", type=float, default=20, help="measured seconds per scenario")
    p.add_argument("--warmup", type=float, default=2, help="seconds of load before measuring")
    p.add_argument("--rate", type=float, default=20, help="cases/s in the realistic mix")
    p.add_argument("--broadcast-rate", type=float, default=10, help="cases/s in broadcast")
    p.add_argument("--sockets", type=int, default=1000, help="sockets in broadcast/capacity")
    p.add_argument("--idle", type=int, default=1000, help="idle sockets for the memory figure")
    p.add_argument("--step", type=float, default=4, help="seconds per capacity ramp step")
    p.add_argument("--workers", type=int, default=4, help="client processes")
    p.add_argument("--no-redis", action="store_true", help="skip the Redis-bus hub run")
    p.add_argument("--profile", action="store_true", help="py-spy record each hub phase")
    p.add_argument("--servers", default="hub,bare,hub-redis", help="run against these only")
    p.add_argument("--scenarios", default="mix,broadcast", help="mix (1, 4), broadcast (2, 3)")
    a = p.parse_args()
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if hard < 2 * (1900 + 100) + 500:
        sys.exit(f"open-file limit {hard} is too low for 2,000 client + 2,000 server sockets")
    report: Result = {
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "note": "2 cores, shared"},
        "args": vars(a),
        "problems": [],
    }
    with tempfile.TemporaryDirectory(prefix="hub-push-") as tmp:
        results = run(run_all(a, Path(tmp), report))
    report["results"] = results
    report["table"] = table(rows(results, a))
    report["targets_met"] = met = targets(results)
    path = ROOT / "bench-results" / f"push-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(report, indent=2, ensure_ascii=False))
    print(
        f"\nratio = hub / bare; latency from the create request's send to the frame's "
        f"arrival (one monotonic clock); {a.rate:g} cases/s mix, "
        f"{a.broadcast_rate:g} cases/s broadcast, {a.duration:g} s each\n"
    )
    print(report["table"])
    for name, ok in met.items():
        print(f"target {name}: {'–' if ok is None else 'met' if ok else 'MISSED'}")
    print(f"\nwritten: {path.relative_to(ROOT)}")
    for problem in report["problems"]:
        print(f"FAIL {problem}", file=sys.stderr)
    return 1 if report["problems"] else 0


if __name__ == "__main__":
    sys.exit(main())
