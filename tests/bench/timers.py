"""Timer benchmark: N pending deadlines in the hub's SLA engine against APScheduler 3 with one
date job per deadline, in the same run (tests/bench/timers_baseline.py):

- memory: MemoryJobStore at N (fast, but lost on restart and not shareable);
- sqlalchemy: SQLAlchemyJobStore on a SQLite file with the hub's settings (WAL,
  synchronous=NORMAL) at --sql-n (durable);
- sqlalchemy as shipped: the same store with SQLite's defaults (rollback journal,
  synchronous=FULL) at --shipped-n, the setting of the calibration in PERFORMANCE.md;
- restart: --restart-n jobs left overdue in the SQLAlchemy store (hub settings) by a process
  that died; a new process starts a scheduler on it: seconds until all have fired.

Figures: time to arm, RSS growth holding N pending, lateness p50/p99/max of the firings
(fire time minus due time, one monotonic clock), fired exactly once, and the restart time.
Every scenario runs in its own process; the hub's is `run_hub` in tests/bench/timers_hub.py
(contract there). Fails (exit 1) only when the work was wrong: a missed or doubled firing,
a job left behind, a scenario that crashed. Run: `make bench-timers` (--quick: small N)."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.bench.ingest import fsync_rate

ROOT = Path(__file__).resolve().parents[2]
Result = dict[str, Any]
SIDES = ("hub", "memory", "sqlalchemy", "shipped")
HEADINGS = ("hub", "APScheduler memory", "APScheduler SQLAlchemy", "SQLAlchemy as shipped")
HUB_CHILD = "import sys; from tests.bench.timers import hub_child; sys.exit(hub_child())"
# Seconds of lead before the first deadline is due: enough for arming to finish first
# (measured: memory store ~35-60 µs per job, SQLAlchemy/WAL 0.4-0.85 ms, as shipped 2-3.5 ms).
ARM_S_PER_JOB = {"memory": 100e-6, "sqlalchemy": 1e-3, "shipped": 4e-3}


def lead(side: str, n: int) -> float:
    return round(5 + n * ARM_S_PER_JOB[side], 1)


def run_child(label: str, cmd: Sequence[str], timeout: float, problems: list[str]) -> Result:
    """One scenario process; its result is the JSON after `RESULT ` on its last such line."""
    print(f"== {label}", flush=True)
    started = time.monotonic()
    try:
        out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        problems.append(f"{label}: no result within {timeout:.0f} s")
        return {"not_run": "timed out"}
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith("RESULT ")]
    if out.returncode != 0 or not lines:
        tail = (out.stderr or out.stdout)[-2000:]
        problems.append(f"{label}: exited {out.returncode} without a result:\n{tail}")
        return {"not_run": f"crashed (exit {out.returncode})"}
    r: Result = json.loads(lines[-1].removeprefix("RESULT "))
    r["process_s"] = round(time.monotonic() - started, 1)
    if out.stderr.strip():
        print(f"   stderr (tail): {out.stderr.strip()[-800:]}", file=sys.stderr)
    summary = ", ".join(
        f"{k} {r[k]}" for k in ("arm_s", "lateness_p99_ms", "restart_all_fired_s") if k in r
    )
    print(f"   {summary or r.get('not_run', '')} ({r['process_s']} s)", flush=True)
    return r


def baseline(scenario: str, *args: str) -> list[str]:
    return [sys.executable, "-m", "tests.bench.timers_baseline", scenario, *args]


def run_baselines(a: argparse.Namespace, tmp: Path, problems: list[str]) -> dict[str, Result]:
    common = ["--window", str(a.window), "--scheduler", a.scheduler]
    res: dict[str, Result] = {}
    drain = 60 + max(60.0, a.window) + 120  # the child's own drain limit, then start-up
    for side, n, db, pragmas in (
        ("memory", a.n, None, "hub"),
        ("sqlalchemy", a.sql_n, tmp / "sqlalchemy.db", "hub"),
        ("shipped", a.shipped_n, tmp / "shipped.db", "default"),
    ):
        if not n:
            continue
        scenario = "memory" if db is None else "sqlalchemy"
        args = [*common, "--n", str(n), "--lead", str(lead(side, n)), "--pragmas", pragmas]
        args += [] if db is None else ["--db", str(db)]
        timeout = lead(side, n) * 3 + a.window + drain
        label = f"APScheduler {side}: {n:,} date jobs over {a.window:g} s"
        res[side] = run_child(label, baseline(scenario, *args), timeout, problems)
    if a.restart_n:
        restart = restart_baseline(a, tmp / "restart.db", problems)
        into = res.setdefault("sqlalchemy", {"not_run": "--sql-n 0 (restart only)"})
        into["notes"] = into.get("notes", []) + restart.pop("notes", [])
        into.update({k: v for k, v in restart.items() if k.startswith("restart")})
    return res


def restart_baseline(a: argparse.Namespace, db: Path, problems: list[str]) -> Result:
    args = ["--n", str(a.restart_n), "--db", str(db), "--scheduler", a.scheduler]
    label = f"APScheduler sqlalchemy restart: arm {a.restart_n:,} jobs, then the process dies"
    armed = run_child(label, baseline("restart-arm", *args, "--window", "1"), 600, problems)
    if "not_run" in armed:
        return {"restart_not_run": armed["not_run"]}
    last_due = float(armed["notes"][0].removeprefix("last_due_wall="))
    time.sleep(max(0.0, last_due + 1.0 - time.time()))  # every job overdue
    spawned = ["--spawned-at", repr(time.monotonic())]
    label = "APScheduler sqlalchemy restart: a new process fires the overdue jobs"
    fired = run_child(label, baseline("restart-fire", *args, *spawned), 600, problems)
    fired["restart_arm_s"] = armed["arm_s"]
    fired["restart_process_s"] = fired.pop("process_s", None)
    return fired


def hub_child(argv: Sequence[str] | None = None) -> int:
    """Entry of the hub's own process: calls `run_hub` and prints `RESULT <json>`."""
    p = argparse.ArgumentParser()
    for name in ("--n", "--restart-n"):
        p.add_argument(name, type=int, required=True)
    for name in ("--window", "--lead"):
        p.add_argument(name, type=float, required=True)
    p.add_argument("--workdir", type=Path, required=True)
    a = p.parse_args(argv)
    from tests.bench.timers_hub import run_hub

    try:
        out: Result = dict(
            run_hub(a.n, window_s=a.window, lead_s=a.lead, restart_n=a.restart_n, workdir=a.workdir)
        )
    except NotImplementedError as e:
        out = {"not_run": str(e) or "NotImplementedError"}
    print("RESULT " + json.dumps(out), flush=True)
    return 0


def run_hub_side(a: argparse.Namespace, tmp: Path, problems: list[str]) -> Result:
    workdir = tmp / "hub"
    workdir.mkdir()
    args = ["--n", str(a.n), "--restart-n", str(a.restart_n), "--window", str(a.window)]
    args += ["--lead", str(lead("memory", a.n)), "--workdir", str(workdir)]
    label = f"hub: {a.n:,} deadlines over {a.window:g} s, restart with {a.restart_n:,} overdue"
    return run_child(label, [sys.executable, "-c", HUB_CHILD, *args], a.hub_timeout, problems)


def check(side: str, r: Result) -> list[str]:
    """The work-was-right checks for one side's figures."""
    if "not_run" in r:
        return []
    found = [f"{side}: {p}" for p in r.get("problems", [])]
    pairs = (("fired", "expected"), ("restart_fired", "restart_expected"))
    for got, want in pairs:
        if want in r and r.get(got) != r[want]:
            found.append(f"{side}: {r.get(got)} of {r[want]} deadlines fired ({got})")
    for key in ("doubles", "restart_doubles", "left_in_store", "restart_left_in_store"):
        if r.get(key):
            found.append(f"{side}: {key} = {r[key]}")
    if r.get("restart_overdue_at_start", r.get("restart_expected")) != r.get("restart_expected"):
        found.append(
            f"{side}: {r['restart_overdue_at_start']} overdue at restart, expected "
            f"{r['restart_expected']}"
        )
    return found


Getter = Callable[[Result], Any]
# figure, value, ratio against (None: no ratio), what the memory store shows for it
FIGURES: list[tuple[str, Getter, bool, str | None]] = [
    ("deadlines (N)", lambda r: r.get("expected"), False, None),
    ("firings/s (N / window)", lambda r: r["expected"] / r["window_s"], False, None),
    ("arm s", lambda r: r.get("arm_s"), True, None),
    ("arm µs per deadline", lambda r: r.get("arm_us_per_deadline"), True, None),
    ("RSS growth with N pending, MiB", lambda r: r.get("rss_mib"), True, None),
    ("RSS of the process then, MiB", lambda r: r.get("rss_total_mib"), True, None),
    ("lateness p50 ms", lambda r: r.get("lateness_p50_ms"), True, None),
    ("lateness p99 ms", lambda r: r.get("lateness_p99_ms"), True, None),
    ("lateness max ms", lambda r: r.get("lateness_max_ms"), True, None),
    ("fired / expected", lambda r: f"{r['fired']:,} / {r['expected']:,}", False, None),
    ("doubled firings", lambda r: r.get("doubles"), False, None),
    ("restart: overdue deadlines", lambda r: r.get("restart_expected"), False, "lost"),
    ("restart: all overdue fired, s", lambda r: r.get("restart_all_fired_s"), True, "lost"),
    ("restart: first fired, s", lambda r: r.get("restart_first_fired_s"), True, "lost"),
    (
        "restart: fired / doubled",
        lambda r: f"{r['restart_fired']:,} / {r['restart_doubles']}",
        False,
        "lost",
    ),
]


def cell(r: Result | None, get: Getter) -> Any:
    if r is None or "not_run" in r:
        return None
    try:
        return get(r)
    except (KeyError, TypeError, ZeroDivisionError):
        return None


def fmt(v: Any) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:,.2f}" if abs(v) < 10 else f"{v:,.1f}"
    return f"{v:,}" if isinstance(v, int) else str(v)


def ratio(hub: Any, base: Any) -> str:
    ok = isinstance(hub, int | float) and isinstance(base, int | float) and base
    return f"{hub / base:.2f}" if ok else "–"


def table(res: dict[str, Result]) -> str:
    head = ("figure", *HEADINGS, "ratio hub/memory", "ratio hub/SQLAlchemy")
    lines = ["| " + " | ".join(head) + " |", "| --- |" + " ---: |" * (len(head) - 1)]
    for name, get, ratioed, memory_text in FIGURES:
        vals = {side: cell(res.get(side), get) for side in SIDES}
        shown = [fmt(vals[s]) for s in SIDES]
        if memory_text and "memory" in res:
            shown[1] = memory_text
        if name.startswith("restart"):
            shown[3] = "–"  # the restart scenario runs with the hub's SQLite settings only
        rm = ratio(vals["hub"], vals["memory"]) if ratioed and not memory_text else "–"
        rs = ratio(vals["hub"], vals["sqlalchemy"]) if ratioed else "–"
        lines.append("| " + " | ".join([name, *shown, rm, rs]) + " |")
    return "\n".join(lines)


def targets(res: dict[str, Result], n: int) -> dict[str, bool | None]:
    """The issue's first targets for the hub; None while the hub side has not run."""
    hub, mem = res.get("hub", {}), res.get("memory", {})
    ran = "not_run" not in hub

    def t(ok: Callable[[], bool]) -> bool | None:
        try:
            return ok() if ran else None
        except (KeyError, TypeError):
            return False

    return {
        f"lateness p99 <= 250 ms at {n:,}": t(lambda: hub["lateness_p99_ms"] <= 250),
        f"lateness max <= 1 s at {n:,}": t(lambda: hub["lateness_max_ms"] <= 1000),
        "every overdue deadline fired within 5 s of a restart": t(
            lambda: (
                hub["restart_all_fired_s"] <= 5 and hub["restart_fired"] == hub["restart_expected"]
            )
        ),
        "RSS growth below the memory store's": t(lambda: hub["rss_mib"] < mem["rss_mib"]),
        "exactly once (live and after restart)": t(lambda: not check("hub", hub)),
    }


def main() -> int:
    p = argparse.ArgumentParser(description="timer benchmark: hub SLA engine vs APScheduler 3")
    p.add_argument("--n", type=int, default=100_000, help="pending deadlines (hub, memory)")
    p.add_argument("--sql-n", type=int, help="jobs in the SQLAlchemy store (default: --n)")
    p.add_argument("--shipped-n", type=int, default=5_000, help="jobs, store as shipped (0: skip)")
    p.add_argument("--restart-n", type=int, default=10_000, help="overdue at restart (0: skip)")
    p.add_argument("--window", type=float, default=60, help="seconds the due times span")
    p.add_argument("--quick", action="store_true", help="10,000 / 1,000 jobs over 10 s")
    p.add_argument("--scheduler", choices=["background", "asyncio"], default="background")
    p.add_argument("--hub-timeout", type=float, default=420, help="seconds for the hub side")
    p.add_argument("--no-hub", action="store_true", help="run the baseline only")
    p.add_argument("--out", type=Path, help="JSON path (default bench-results/timers-*.json)")
    a = p.parse_args()
    if a.quick:
        a.n, a.shipped_n, a.restart_n, a.window = 10_000, 1_000, 1_000, 10.0
    a.sql_n = a.n if a.sql_n is None else a.sql_n
    started = time.monotonic()
    report: Result = {
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "note": "2 cores, shared; numbers drift"},
        "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(a).items()},
        "baseline": f"APScheduler 3, {a.scheduler} scheduler, one date job per deadline, "
        "misfire_grace_time=None, coalesce=False",
    }
    problems: list[str] = []
    with tempfile.TemporaryDirectory(prefix="hub-timers-") as tmp_name:
        tmp = Path(tmp_name)
        report["fsync"] = fsync_rate(tmp_name)
        print(f"disk: {report['fsync']['fsyncs_per_s']:,.0f} fsync/s (4 KiB appends, {tmp})")
        res = run_baselines(a, tmp, problems)
        hub: Result = {"not_run": "--no-hub"} if a.no_hub else run_hub_side(a, tmp, problems)
        res = {"hub": hub, **res}
    report["results"] = res
    report["table"] = table(res)
    report["targets_met"] = met = targets(res, a.n)
    for side, r in res.items():
        problems += check(side, r)
    report["problems"] = problems
    report["elapsed_s"] = round(time.monotonic() - started, 1)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = a.out or ROOT / "bench-results" / f"timers-{stamp}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2, ensure_ascii=False))
    print(f"\n{report['baseline']}; ratio = hub / baseline; lateness = fire - due (monotonic)")
    if "not_run" in hub:
        print(f"hub: not run ({hub['not_run']})")
    print()
    print(report["table"])
    for side, r in res.items():
        for note in r.get("notes", []):
            if not note.startswith("last_due_wall="):
                print(f"note ({side}): {note}")
    for name, ok in met.items():
        print(f"target {name}: {'–' if ok is None else 'met' if ok else 'MISSED'}")
    shown = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
    print(f"\nwritten: {shown} ({report['elapsed_s']:.0f} s in all)")
    for problem in problems:
        print(f"FAIL {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
