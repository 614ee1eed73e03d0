"""Ingest benchmark (issue #2): cases per second through `POST /api/v1/cases` of the real hub,
against a one-row-insert FastAPI baseline on the same engine settings, on SQLite and on a
durable PostgreSQL in the same run. Load: wrk (closed loop, -t2 -c20) after a warm-up.

Fails (exit 1) only when the work was wrong: a non-2xx answer or socket error, a 2xx without
its row, or a case with fewer than two events. Run: `make bench-ingest`."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from hub.auth.security import issue_token
from hub.db import Database
from hub.migrate import upgrade
from tests import world
from tests.servers import free_port, start_postgres

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
LUA = Path(__file__).with_name("post_case.lua")
BASELINE_APP = "tests.bench.baseline_app:create_app"
SECRET = "ingest-benchmark-secret-0123456789abcdef"
THREADS, CONNECTIONS = 2, 20
SOCKET_ERRORS = ("connect_errors", "read_errors", "write_errors", "timeouts")
Result = dict[str, Any]


def fsync_rate(directory: str, seconds: float = 2.0) -> Result:
    """Durable commits cannot beat the disk: 4 KiB appends, each followed by fsync."""
    path = Path(directory) / "fsync-probe"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    n, started = 0, time.monotonic()
    while (elapsed := time.monotonic() - started) < seconds:
        os.write(fd, b"\0" * 4096)
        os.fsync(fd)
        n += 1
    os.close(fd)
    path.unlink()
    return {"fsyncs_per_s": round(n / elapsed, 1), "mean_ms": round(1000 * elapsed / n, 3)}


def sql_scalar(url: str, sql: str) -> int:
    async def run() -> int:
        engine = create_async_engine(url)
        async with engine.connect() as conn:
            n = int((await conn.execute(text(sql))).scalar_one())
        await engine.dispose()
        return n

    return asyncio.run(run())


def prepare_hub(url: str) -> int:
    """Migrations, then the test world; returns the admin user's id."""
    upgrade(url)

    async def seed(db: Database) -> None:
        await world.seed(db)
        await db.dispose()

    asyncio.run(seed(Database(url)))
    return sql_scalar(url, "SELECT id FROM users WHERE username = 'admin'")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def serve(app: str, env: dict[str, str], logdir: str) -> Iterator[tuple[int, int]]:
    """One uvicorn worker as a subprocess; yields (pid, port) once /healthz answers."""
    port = free_port()
    cmd = [str(BIN / "uvicorn"), app, "--factory", "--host", "127.0.0.1", "--port", str(port)]
    cmd += ["--no-access-log", "--log-level", "warning"]
    log = Path(logdir) / f"{app.split(':')[0]}-{port}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **env}, stdout=out, stderr=out)
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{app} did not start:\n{log.read_text()[-3000:]}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        yield proc.pid, port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        errors = log.read_text(errors="replace").strip()
        if errors:
            print(f"--- {app} log (tail) ---\n{errors[-2000:]}", file=sys.stderr)


def wrk(port: int, seconds: int, token: str) -> Result:
    cmd = ["wrk", f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency", "-s"]
    cmd += [str(LUA), f"http://127.0.0.1:{port}/api/v1/cases"]
    env = {**os.environ, "HUB_BENCH_TOKEN": token, "HUB_BENCH_PATH": "/api/v1/cases"}
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=seconds + 60)
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith("BENCH_JSON ")]
    if out.returncode != 0 or not lines:
        raise RuntimeError(f"wrk failed ({out.returncode}):\n{out.stdout}\n{out.stderr}")
    r: Result = json.loads(lines[-1].removeprefix("BENCH_JSON "))
    r["socket_errors"] = sum(r[k] for k in SOCKET_ERRORS)
    r["ok"] = r["requests"] - r["non_2xx_3xx"]  # the endpoints never redirect: 2xx
    r["ok_per_s"] = round(r["ok"] / (r["duration_us"] / 1e6), 1)  # errors do not count
    r["wrk_output"] = out.stdout.replace(lines[-1], "").strip()
    return r


def settled(count: Callable[[], int]) -> int:
    """The row count once requests still in flight after wrk stopped have landed."""
    last, now = -1, count()
    for _ in range(50):
        if now == last:
            break
        time.sleep(0.3)
        last, now = now, count()
    return now


def measure(
    pid: int, port: int, token: str, count: Callable[[], int], a: argparse.Namespace
) -> Result:
    warm = wrk(port, a.warmup, token)
    before = settled(count)
    cpu0 = cpu_seconds(pid)
    r = wrk(port, a.duration, token)
    r["server_cpu_s"] = round(cpu_seconds(pid) - cpu0, 2)
    r["rows"] = settled(count) - before
    r["warmup_errors"] = warm["non_2xx_3xx"] + warm["socket_errors"]
    r["problems"] = []
    if r["non_2xx_3xx"] or r["socket_errors"] or r["warmup_errors"]:
        errors = (r["non_2xx_3xx"], r["socket_errors"], r["warmup_errors"])
        r["problems"].append("{} non-2xx, {} socket errors, {} errors in warm-up".format(*errors))
    # wrk abandons up to one request per connection when time is up; the server may still
    # commit those, so rows = 2xx + (0..connections). Fewer rows than 2xx = lost writes.
    if not 0 <= r["rows"] - r["ok"] <= CONNECTIONS + r["timeouts"]:
        r["problems"].append(f"{r['rows']} rows committed for {r['ok']} 2xx answers")
    return r


def bench_database(
    kind: str, hub_url: str, base_url: str, tmp: str, a: argparse.Namespace
) -> Result:
    print(f"== {kind}: preparing (migrations + test world)", flush=True)
    admin = prepare_hub(hub_url)
    now = datetime.now(UTC)
    token = issue_token(
        user_id=admin, token_version=0, secret=SECRET, now=now, ttl_s=7200, kind="access"
    )
    out: Result = {"admin_user_id": admin}
    print(f"== {kind}: baseline (insert one row, commit)", flush=True)
    rows = "SELECT count(*) FROM bench_rows"
    with serve(BASELINE_APP, {"BENCH_DATABASE_URL": base_url}, tmp) as (pid, port):
        out["baseline"] = measure(pid, port, "unused", lambda: sql_scalar(base_url, rows), a)
    print(f"== {kind}: hub (POST /api/v1/cases)", flush=True)
    env = {
        "HUB_DATABASE_URL": hub_url,
        "HUB_SECRET_KEY": SECRET,
        "HUB_MODE": "production",
        "HUB_LOG_LEVEL": "warning",
        "HUB_CASES_PER_CLIENT_PER_MIN": "0",  # one client sends everything: no rate limit
    }
    cases = "SELECT count(*) FROM cases"
    with serve("hub.main:create_app", env, tmp) as (pid, port):
        hub = measure(pid, port, token, lambda: sql_scalar(hub_url, cases), a)
    few = sql_scalar(
        hub_url,
        "SELECT count(*) FROM cases c WHERE"
        " (SELECT count(*) FROM case_events e WHERE e.case_id = c.id) < 2",
    )
    hub["cases_total"] = sql_scalar(hub_url, cases)
    hub["events_total"] = sql_scalar(hub_url, "SELECT count(*) FROM case_events")
    hub["cases_with_fewer_than_2_events"] = few
    if few:
        hub["problems"].append(f"{few} cases have fewer than 2 events")
    out["hub"] = hub
    return out


FIGURES: list[tuple[str, Callable[[Result], float], bool]] = [
    ("2xx requests/s", lambda r: r["ok_per_s"], True),
    ("latency p50 ms", lambda r: r["p50_us"] / 1000, True),
    ("latency p99 ms", lambda r: r["p99_us"] / 1000, True),
    ("latency max ms", lambda r: r["max_us"] / 1000, True),
    ("server CPU ms/request", lambda r: 1000 * r["server_cpu_s"] / max(r["requests"], 1), True),
    ("non-2xx + socket errors", lambda r: r["non_2xx_3xx"] + r["socket_errors"], False),
    ("2xx answers", lambda r: r["ok"], False),
    ("rows committed (2xx + in flight at stop)", lambda r: r["rows"], False),
]


def table(results: dict[str, Result]) -> str:
    lines = ["| database | figure | hub | baseline | ratio |", "| --- | --- | ---: | ---: | ---: |"]
    for kind, res in results.items():
        for name, get, ratioed in FIGURES:
            hub, base = get(res["hub"]), get(res["baseline"])
            ratio, f = (f"{hub / base:.2f}", ",.1f") if ratioed and base else ("–", ",.0f")
            lines.append(f"| {kind} | {name} | {hub:{f}} | {base:{f}} | {ratio} |")
    return "\n".join(lines)


def run_all(a: argparse.Namespace, tmp: str, report: Result) -> dict[str, Result]:
    results: dict[str, Result] = {}
    if a.only in (None, "sqlite"):
        sq = f"sqlite+aiosqlite:///{tmp}"
        results["sqlite"] = bench_database("sqlite", f"{sq}/hub.db", f"{sq}/base.db", tmp, a)
    if a.only in (None, "postgres"):
        pg = start_postgres(durable=True)
        try:
            shown = ("server_version", "fsync", "synchronous_commit")
            report["postgres"] = {k: pg.psql(f"SHOW {k}").strip() for k in shown}
            pg.psql("CREATE DATABASE hub")
            pg.psql("CREATE DATABASE baseline")
            results["postgres"] = bench_database(
                "postgres", pg.url("hub"), pg.url("baseline"), tmp, a
            )
        finally:
            pg.stop()
    return results


def main() -> int:
    p = argparse.ArgumentParser(description="ingest benchmark: hub vs one-row-insert baseline")
    p.add_argument("--duration", type=int, default=15, help="seconds of measured load")
    p.add_argument("--warmup", type=int, default=3, help="seconds of warm-up load")
    p.add_argument("--only", choices=["sqlite", "postgres"], help="run one database only")
    a = p.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: run `make system-deps` (apt-get install wrk)")
    tmp = tempfile.mkdtemp(prefix="hub-bench-")
    report: Result = {"started_at": datetime.now(UTC).isoformat(timespec="seconds")}
    report["machine"] = {"cpus": os.cpu_count(), "note": "2 cores, shared; numbers drift"}
    report["load"] = f"wrk -t{THREADS} -c{CONNECTIONS} -d{a.duration}s after {a.warmup}s warm-up"
    report["token"] = "admin user (unscoped); hub rate limit off (HUB_CASES_PER_CLIENT_PER_MIN=0)"
    report["fsync"] = fsync_rate(tmp)
    print(f"disk: {report['fsync']['fsyncs_per_s']:,.0f} fsync/s (4 KiB appends, {tmp})")
    try:
        results = report["results"] = run_all(a, tmp, report)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    report["table"] = table(results)
    targets = {
        f"{k}: ratio >= 0.5": r["hub"]["ok_per_s"] >= 0.5 * r["baseline"]["ok_per_s"]
        for k, r in results.items()
    }
    if "sqlite" in results:
        targets["sqlite: >= 500 cases/s"] = results["sqlite"]["hub"]["ok_per_s"] >= 500
    report["targets_met"] = targets
    report["problems"] = problems = [
        f"{k} {side}: {p}"
        for k, r in results.items()
        for side in ("hub", "baseline")
        for p in r[side]["problems"]
    ]
    path = ROOT / "bench-results" / f"ingest-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps(report, indent=2, ensure_ascii=False))
    print(f"\n{report['load']}; {report['token']}; ratio = hub / baseline")
    print("latency is closed-loop (wrk waits for each reply): the latency at saturation\n")
    print(report["table"])
    for name, ok in targets.items():
        print(f"target {name}: {'met' if ok else 'MISSED'}")
    print(f"\nwritten: {path.relative_to(ROOT)}")
    for problem in problems:
        print(f"FAIL {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
