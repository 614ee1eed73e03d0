"""APScheduler 3 baseline for `make bench-timers` (tests/bench/timers.py): one date job per
deadline. Each scenario runs in its own process (RSS is that process's own) and prints one
line `RESULT <json>` in the shape of `TimerFigures`:

- `memory`: MemoryJobStore, N jobs due evenly over a window that starts `--lead` seconds
  after arming began (fast, but lost on restart and not shareable between processes);
- `sqlalchemy`: SQLAlchemyJobStore on a SQLite file (durable), the same measurements;
- `restart-arm` + `restart-fire`: the SQLAlchemy store is armed with N jobs by a scheduler
  started paused, the process then dies (`os._exit`, no shutdown); once every run date has
  passed a new process starts a scheduler on the same file: seconds until every overdue job
  has fired, and whether each fired exactly once.

Scheduler: BackgroundScheduler by default (`--scheduler asyncio` for AsyncIOScheduler with a
coroutine job). It is the fairer of the two: its thread coalesces the wake-up that every
`add_job` on a running scheduler requests, whereas AsyncIOScheduler queues one event-loop
callback per added job and runs a full `_process_jobs` (two store queries with SQLAlchemy)
for each. Every job has `misfire_grace_time=None` and `coalesce=False`, so a late job still
runs (with the default grace of 1 s a late job is silently skipped) and a firing that is
missing is a real loss.

Lateness = time.monotonic() when the job function starts minus the run date mapped onto the
monotonic clock (wall and monotonic clocks are read together once, before arming).
APScheduler deletes a date job from its store only after handing it to the executor, so its
firing is at-least-once across a crash; the stamp is taken before that delete commits."""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import sys
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypedDict

from apscheduler.jobstores.base import BaseJobStore
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine

FIRE = "tests.bench.timers_baseline:fire"
FIRE_ASYNC = "tests.bench.timers_baseline:fire_async"
SETTLE_S = 2.0  # keep running after the last expected firing, to catch a doubled one
JOB_DEFAULTS = {"misfire_grace_time": None, "coalesce": False, "max_instances": 1}


class TimerFigures(TypedDict, total=False):
    """What every side reports (the hub's `run_hub` too). Times from `time.monotonic()`."""

    expected: int  # deadlines armed for the live part (= n)
    arm_s: float  # seconds from the first deadline armed until the last one is
    arm_us_per_deadline: float
    rss_mib: float  # VmRSS after arming minus VmRSS just before arming (n pending)
    rss_total_mib: float  # VmRSS after arming (interpreter, libraries and the n pending)
    peak_rss_mib: float  # VmHWM at the end minus VmRSS just before arming
    lead_s: float  # first deadline due this long after arming began
    window_s: float  # deadlines due evenly over this many seconds
    arm_overran_s: float  # > 0: arming finished after the first deadline was due
    lateness_p50_ms: float  # fire time minus due time, first firing of each deadline
    lateness_p99_ms: float
    lateness_max_ms: float
    fired: int  # distinct deadlines that fired at least once
    doubles: int  # firings beyond the first, summed over deadlines
    left_in_store: int  # jobs/deadlines still pending at the end (should be 0)
    restart_expected: int  # deadlines overdue when the restarted process starts
    restart_all_fired_s: float  # restarted engine start -> last overdue firing
    restart_first_fired_s: float  # restarted engine start -> first overdue firing
    restart_from_spawn_s: float  # the restarted process's spawn -> last overdue firing
    restart_overdue_at_start: int  # counted in the store before the engine starts
    restart_fired: int
    restart_doubles: int
    restart_left_in_store: int
    not_run: str  # set instead of the figures when a side could not run
    notes: list[str]
    problems: list[str]  # work found wrong by the side itself


# ---------------------------------------------------------------- shared measurement helpers


def vm_mib(field: str = "VmRSS") -> float:
    """A /proc/self/status memory field (VmRSS, VmHWM) in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"{field} not in /proc/self/status")


def percentile_ms(sorted_s: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of sorted seconds, in milliseconds."""
    return round(1000 * sorted_s[max(0, math.ceil(q * len(sorted_s)) - 1)], 2)


def tally(
    firings: Iterable[tuple[int, float]], due: Sequence[float] | None
) -> tuple[int, int, list[float], float, float]:
    """(distinct fired, doubles, sorted lateness of first firings, first, last fire time).
    `firings` are (deadline index, monotonic time); `due` maps index -> due monotonic time
    (None: no lateness). Indices outside `due` count as doubles (they were never armed)."""
    first: dict[int, float] = {}
    doubles = 0
    lo, hi = math.inf, -math.inf
    for i, t in firings:
        lo, hi = min(lo, t), max(hi, t)
        if i in first or (due is not None and not 0 <= i < len(due)):
            doubles += 1
        else:
            first[i] = t
    late = sorted(t - due[i] for i, t in first.items()) if due is not None else []
    return len(first), doubles, late, lo, hi


def lateness_figures(late: Sequence[float]) -> TimerFigures:
    if not late:
        return {}
    return {
        "lateness_p50_ms": percentile_ms(late, 0.50),
        "lateness_p99_ms": percentile_ms(late, 0.99),
        "lateness_max_ms": percentile_ms(late, 1.0),
    }


# ---------------------------------------------------------------- the jobs

_FIRINGS: list[tuple[int, float]] = []


def fire(i: int) -> None:
    _FIRINGS.append((i, time.monotonic()))  # list.append is atomic under the GIL


async def fire_async(i: int) -> None:
    _FIRINGS.append((i, time.monotonic()))


# ---------------------------------------------------------------- schedulers and stores


def sqlite_engine(path: Path, pragmas: str) -> Engine:
    """`hub`: the hub's own SQLite settings (WAL, synchronous=NORMAL, busy_timeout), as the
    ingest baseline does; `default`: SQLAlchemy's and SQLite's defaults (rollback journal,
    synchronous=FULL), i.e. the job store as shipped."""
    engine = create_engine(f"sqlite:///{path}")
    if pragmas == "hub":

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=10000")
            cur.close()

    return engine


def make_store(a: argparse.Namespace) -> BaseJobStore:
    if a.scenario == "memory":
        return MemoryJobStore()
    return SQLAlchemyJobStore(engine=sqlite_engine(Path(a.db), a.pragmas))


def make_scheduler(a: argparse.Namespace, store: BaseJobStore) -> BaseScheduler:
    kind = AsyncIOScheduler if a.scheduler == "asyncio" else BackgroundScheduler
    return kind(jobstores={"default": store}, job_defaults=JOB_DEFAULTS, timezone=UTC)


class Clock:
    """Wall and monotonic read together once: run dates are wall datetimes (APScheduler
    compares them with datetime.now()), lateness is measured on the monotonic clock."""

    def __init__(self) -> None:
        self.wall, self.mono = time.time(), time.monotonic()

    def run_date(self, mono: float) -> datetime:
        return datetime.fromtimestamp(self.wall + (mono - self.mono), UTC)

    def due(self, run_date: datetime) -> float:
        return self.mono + (run_date.timestamp() - self.wall)


def arm(
    scheduler: BaseScheduler, a: argparse.Namespace, clock: Clock, first_due: float, span: float
) -> tuple[list[float], float]:
    """Adds a.n date jobs due evenly over [first_due, first_due + span] (monotonic);
    returns their due times and the seconds it took."""
    func = FIRE_ASYNC if a.scheduler == "asyncio" else FIRE
    due: list[float] = []
    started = time.monotonic()
    for i in range(a.n):
        run_date = clock.run_date(first_due + span * i / a.n)
        scheduler.add_job(func, "date", run_date=run_date, args=(i,), id=str(i))
        due.append(clock.due(run_date))
    return due, time.monotonic() - started


async def wait_for(want: int, until: float) -> None:
    """Until `want` firings were recorded or the monotonic deadline passes, then SETTLE_S
    more, so a doubled firing is seen; `tally` sorts out misses and doubles afterwards.
    Polled, not signalled: the jobs run on executor threads and the check is one len()."""
    while time.monotonic() < until and len(_FIRINGS) < want:  # noqa: ASYNC110
        await asyncio.sleep(0.1)
    await asyncio.sleep(SETTLE_S)


# ---------------------------------------------------------------- scenarios


async def live(a: argparse.Namespace) -> TimerFigures:
    scheduler = make_scheduler(a, make_store(a))
    scheduler.start()
    rss0 = vm_mib()
    clock = Clock()
    due, arm_s = arm(scheduler, a, clock, clock.mono + a.lead, a.window)
    rss_armed = vm_mib()
    armed_at = time.monotonic()
    drain = max(60.0, a.window)  # a store that falls behind still gets to finish
    await wait_for(a.n, due[-1] + drain)
    left = len(scheduler.get_jobs())
    scheduler.shutdown(wait=False)
    fired, doubles, late, _, _ = tally(_FIRINGS, due)
    out: TimerFigures = {
        "expected": a.n,
        "arm_s": round(arm_s, 3),
        "arm_us_per_deadline": round(1e6 * arm_s / a.n, 1),
        "rss_mib": round(rss_armed - rss0, 1),
        "rss_total_mib": round(rss_armed, 1),
        "peak_rss_mib": round(vm_mib("VmHWM") - rss0, 1),
        "lead_s": a.lead,
        "window_s": a.window,
        "arm_overran_s": round(max(0.0, armed_at - due[0]), 3),
        "fired": fired,
        "doubles": doubles,
        "left_in_store": left,
        "notes": [],
        **lateness_figures(late),
    }
    if out["arm_overran_s"] > 0:
        out["notes"].append(
            f"arming took {arm_s:.1f} s, longer than the {a.lead:g} s lead: the first"
            " deadlines were already due while arming, so lateness includes arming"
        )
    return out


async def restart_arm(a: argparse.Namespace) -> TimerFigures:
    """A paused scheduler writes every job to the store but fires none; then the process
    dies without a shutdown. Run dates start right away and span --window seconds."""
    scheduler = make_scheduler(a, make_store(a))
    scheduler.start(paused=True)
    clock = Clock()
    due, arm_s = arm(scheduler, a, clock, clock.mono, a.window)
    return {
        "expected": a.n,
        "arm_s": round(arm_s, 3),
        "arm_us_per_deadline": round(1e6 * arm_s / a.n, 1),
        "notes": [f"last_due_wall={clock.wall + (due[-1] - clock.mono)!r}"],
    }


async def restart_fire(a: argparse.Namespace) -> TimerFigures:
    store = make_store(a)
    overdue = len(store.get_due_jobs(datetime.now(UTC)))  # untimed: what is waiting
    scheduler = make_scheduler(a, store)
    started = time.monotonic()
    scheduler.start()
    await wait_for(a.n, started + max(120.0, a.n / 50))
    left = len(scheduler.get_jobs())
    scheduler.shutdown(wait=False)
    fired, doubles, _, first, last = tally(_FIRINGS, None)
    out: TimerFigures = {
        "restart_expected": a.n,
        "restart_fired": fired,
        "restart_doubles": doubles,
        "restart_overdue_at_start": overdue,
        "restart_left_in_store": left,
        "notes": [],
    }
    if fired:
        out["restart_all_fired_s"] = round(last - started, 3)
        out["restart_first_fired_s"] = round(first - started, 3)
        if a.spawned_at is not None:
            out["restart_from_spawn_s"] = round(last - a.spawned_at, 3)
    return out


SCENARIOS = {
    "memory": live,
    "sqlalchemy": live,
    "restart-arm": restart_arm,
    "restart-fire": restart_fire,
}


def child(argv: Sequence[str]) -> int:
    p = argparse.ArgumentParser(description="APScheduler 3 baseline scenario (one process)")
    p.add_argument("scenario", choices=sorted(SCENARIOS))
    p.add_argument("--n", type=int, required=True, help="date jobs")
    p.add_argument("--window", type=float, default=60, help="seconds the run dates span")
    p.add_argument("--lead", type=float, default=10, help="seconds from arming to first due")
    p.add_argument("--db", help="SQLite file for the SQLAlchemy store")
    p.add_argument("--pragmas", choices=["hub", "default"], default="hub")
    p.add_argument("--scheduler", choices=["background", "asyncio"], default="background")
    p.add_argument("--spawned-at", type=float, help="time.monotonic() when spawned")
    a = p.parse_args(argv)
    if a.scenario != "memory" and not a.db:
        p.error(f"{a.scenario} needs --db")
    out = asyncio.run(SCENARIOS[a.scenario](a))
    print("RESULT " + json.dumps(out), flush=True)
    if a.scenario == "restart-arm":
        os._exit(0)  # die like a crash: no scheduler shutdown, nothing flushed on the way out
    return 0


if __name__ == "__main__":
    # Re-import under the package name so the jobs' textual reference (FIRE) and this entry
    # point share one module and one _FIRINGS list (not a second copy named __main__).
    from tests.bench.timers_baseline import child as _child

    sys.exit(_child(sys.argv[1:]))
