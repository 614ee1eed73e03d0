"""One reliability stack: PostgreSQL, Redis, `hub serve` processes (timers off) and
`hub worker` processes, the world, the well-behaved clients; and the steps every run
shares: wait until subscribed, wait until drained, wait until the clients converge, check."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.reliability import checks
from tests.reliability.clients import Clients, Seen
from tests.reliability.load import Creator
from tests.reliability.stack import (
    ROOT,
    PostgresServer,
    Proc,
    Redis,
    base_env,
    hub_proc,
    scan_logs,
    start_postgres,
    worker_proc,
)
from tests.reliability.world import Reliable, build_world

POLL_S = 1.0
STABLE_S = 5.0  # no new case or event for this long: the hubs have finished


def say(t0: float, what: str) -> None:
    print(f"[{time.monotonic() - t0:7.1f} s] {what}", flush=True)


@dataclass
class Stack:
    name: str
    pg: PostgresServer
    redis: Redis
    env: dict[str, str]
    hubs: list[Proc]
    workers: list[Proc]
    world: Reliable
    logs: Path
    tmp: Path
    t0: float
    clients: Clients | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def db(self) -> str:
        return self.name

    def addrs(self) -> list[str]:
        up = [h.addr for h in self.hubs if h.alive()]
        return up or [h.addr for h in self.hubs]

    def say(self, what: str) -> None:
        say(self.t0, what)

    async def connect_clients(self, processes: int, within_s: float = 120) -> float:
        self.clients = Clients(processes)
        started = time.monotonic()
        await self.clients.start(self.world.sockets, [h.addr for h in self.hubs])
        give_up = started + within_s
        while time.monotonic() < give_up:
            progress = await self.clients.progress()
            waiting = sum(1 for _, first, _, _ in progress if first is None)
            if not waiting:
                return time.monotonic() - started
            await asyncio.sleep(POLL_S)
        raise RuntimeError(f"{waiting} sockets not subscribed after {within_s} s")

    async def drain(
        self, within_s: float, *, every_deadline: bool = True
    ) -> tuple[float, dict[str, int]]:
        """Until no event lacks a position and no due deadline is pending (with
        `every_deadline`, no deadline at all: the drills' last rung is seconds away)."""
        started = still_since = time.monotonic()
        left: dict[str, int] = {}
        last_counts = ""
        while time.monotonic() < started + within_s:
            left = await asyncio.to_thread(checks.backlogs, self.pg, self.db)
            if every_deadline:
                pending = await asyncio.to_thread(
                    self.pg.psql,
                    "SELECT count(*) FROM sla_deadlines WHERE status = 'pending'",
                    self.db,
                )
                left["deadlines_pending"] = int(pending.strip() or 0)
            # A create the client gave up on may still be queued in a hub: wait until
            # the numbers of cases and events stop moving too.
            counts = await asyncio.to_thread(
                self.pg.psql,
                "SELECT (SELECT count(*) FROM cases), (SELECT count(*) FROM case_events)",
                self.db,
            )
            if counts != last_counts:
                last_counts, still_since = counts, time.monotonic()
            if not any(left.values()) and time.monotonic() - still_since >= STABLE_S:
                break
            await asyncio.sleep(POLL_S)
        return time.monotonic() - started, left

    async def converge(self, within_s: float) -> tuple[float | None, int]:
        """Seconds until every socket had as many events as the database says it should."""
        assert self.clients is not None
        started = time.monotonic()
        stream = await asyncio.to_thread(checks.expected_streams, self.pg, self.db)
        streams = checks.Streams(stream, self.world.sockets)
        behind = len(self.world.sockets)
        while time.monotonic() < started + within_s:
            progress = {sid: (f, last, n) for sid, f, last, n in await self.clients.progress()}
            behind = checks.lagging(self.world.sockets, progress, streams)
            if not behind:
                return time.monotonic() - started, 0
            await asyncio.sleep(POLL_S)
        return None, behind

    async def stop_clients(self) -> dict[int, Seen]:
        assert self.clients is not None
        seen = await self.clients.stop()
        return {s.sid: s for s in seen}

    def client_figures(self, seen: dict[int, Seen]) -> dict[str, Any]:
        codes: Counter[int] = Counter()
        for s in seen.values():
            codes.update(s.close_codes)
        return {
            "sockets": len(seen),
            "reconnects": sum(max(0, s.connects - 1) for s in seen.values()),
            "duplicates_dropped_by_client": sum(s.duplicates for s in seen.values()),
            "resyncs": sum(len(s.resyncs) for s in seen.values()),
            "error_frames": sum(len(s.errors) for s in seen.values()),
            "close_codes": {str(k): v for k, v in sorted(codes.items())},
            "events_received": sum(len(s.pos) for s in seen.values()),
        }

    def verify_clients(self, seen: dict[int, Seen]) -> checks.Verdict:
        v = checks.Verdict()
        stream = checks.expected_streams(self.pg, self.db)
        ok, problems = checks.converged(
            self.world.sockets, seen, checks.Streams(stream, self.world.sockets)
        )
        v.figures["sockets_converged"] = f"{ok}/{len(self.world.sockets)}"
        v.problems += problems[:20]
        if len(problems) > 20:
            v.problems.append(f"... and {len(problems) - 20} more sockets")
        for s in seen.values():
            for e in s.errors[:1]:
                v.problems.append(f"socket {s.sid} error frame: {e}")
        return v

    def verify_processes(self) -> checks.Verdict:
        v = checks.Verdict()
        for p in self.hubs + self.workers:
            if not p.alive():
                v.problems.append(f"{p.name} died by itself (start #{p.starts})")
        return v

    def finish(self, *, strict_logs: bool = False) -> checks.Verdict:
        """Stop every process, then check their exits, their logs and the audit chain.
        A traceback nothing handled is a problem; with `strict_logs` (a run without
        injected faults) so is every traceback the hub logged."""
        v = checks.Verdict()
        for p in self.hubs + self.workers:
            code = p.stop()
            # uvicorn re-raises SIGTERM once it has shut down cleanly: -15 is a clean exit.
            if code not in (0, -15, None):
                v.problems.append(f"{p.name} exited with {code} on SIGTERM")
        found = scan_logs(sorted(self.logs.glob("*.log")))
        v.figures["log_tracebacks"] = [
            f"{f.log}: {f.count} x [{f.header or 'uncaught'}] {f.exception}" for f in found
        ] or "none"
        for f in found:
            if f.unhandled or (strict_logs and not f.client_error):
                v.problems.append(
                    f"{f.log}: {f.count} x {'unhandled ' if f.unhandled else ''}"
                    f"[{f.header or 'uncaught'}] {f.exception}"
                )
        ok, line = checks.audit_verify({**os.environ, **self.env})
        v.figures["audit_verify"] = line
        if not ok:
            v.problems.append(f"hub audit verify: {line}")
        return v

    def close(self) -> None:
        if self.clients is not None:
            self.clients.exit()
        for p in self.hubs + self.workers:
            p.stop()
        self.redis.kill()
        self.pg.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)


async def start_stack(
    name: str, *, hubs: int, workers: int, staff: int, walls: int, ack_s: int, resolve_s: int
) -> Stack:
    t0 = time.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix=f"hub-{name}-"))
    logs = ROOT / "bench-results" / f"{name}-logs"
    shutil.rmtree(logs, ignore_errors=True)
    logs.mkdir(parents=True)
    pg = start_postgres()
    redis = Redis(tmp)
    try:
        say(t0, f"PostgreSQL on {pg.port}; building the world")
        world = await build_world(
            pg, name, staff=staff, walls=walls, ack_s=ack_s, resolve_s=resolve_s
        )
        redis.start()
        env = base_env(pg.url(name), redis.url)
        hub_procs = [hub_proc(i, env, logs) for i in range(hubs)]
        worker_procs = [worker_proc(i, env, logs) for i in range(workers)]
        for p in hub_procs + worker_procs:
            await asyncio.to_thread(p.start)
        say(t0, f"{hubs} hubs, {workers} workers, Redis on {redis.port}")
    except BaseException:
        redis.kill()
        pg.stop()
        raise
    return Stack(name, pg, redis, env, hub_procs, worker_procs, world, logs, tmp, t0)


def load_figures(creator: Creator) -> dict[str, Any]:
    s = creator.stats
    return {
        "statuses": dict(sorted(s.statuses.items())),
        "in_flight_max": s.in_flight_max,
        "arrivals_that_waited_for_a_slot": s.capped,
    }


def five_xx(creator: Creator, *, allow_503: bool) -> list[str]:
    bad = {k: n for k, n in creator.stats.statuses.items() if k.startswith("5")}
    if allow_503:
        bad.pop("503", None)
    if not bad:
        return []
    return [f"5xx answers {bad}; first bodies: {creator.stats.five_xx[:3]}"]
