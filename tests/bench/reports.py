"""Report benchmark: how long the hub takes to generate one month's report for the demo
city over its full sample history (issue target: under 2 seconds).

Loads the demo city into a fresh SQLite file (`hub demo`, its default months of history),
folds the whole timeline into the assessment projection (timed: the rebuild), then, for
the busiest month of the history and for the city, one county and one township, requests
`GET /api/v1/reports/{code}/monthly` as JSON and as XLSX through the real app in this
process (one client, one core: like a browser asking), ROUNDS times each, and prints the
median with the spread. Also times the monthly rankings endpoint. Fails (exit 1) when a
report is empty or an answer is not 200. Run: `make bench-reports` (--reuse FILE keeps a
loaded database between runs)."""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
from sqlmodel import select

from hub.assessment.models import AssessedCase
from hub.assessment.projection import rebuild
from hub.auth.models import User
from hub.auth.security import issue_token
from hub.clock import SHANGHAI, SystemClock
from hub.config import Settings
from hub.demo.load import load_demo
from hub.main import build_hub, create_app
from hub.migrate import upgrade_async
from hub.outbox.runner import ConsumerRunner, default_consumers
from hub.realtime.bus import MemoryBus
from hub.realtime.relay import Relay
from hub.regions.models import Region

ROUNDS = 5


def _spread(xs: list[float]) -> str:
    return f"{statistics.median(xs):.3f} s (min {min(xs):.3f}, max {max(xs):.3f})"


async def _load(url: str, reuse: bool) -> None:
    if not reuse:
        started = time.perf_counter()
        await load_demo(Settings(database_url=url), cases=400, only_if_empty=True)
        print(f"demo loaded in {time.perf_counter() - started:.1f} s", flush=True)


async def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reuse", type=Path, help="a SQLite file with the demo already loaded")
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    args = parser.parse_args(argv)
    path = args.reuse or Path(tempfile.mkdtemp()) / "reports.db"
    url = f"sqlite+aiosqlite:///{path}"
    await _load(url, reuse=args.reuse is not None)
    await upgrade_async(url)
    settings = Settings(database_url=url)
    hub = build_hub(settings, clock=SystemClock())
    problems: list[str] = []
    try:
        relay = Relay(hub.db, MemoryBus(), hub.metrics, hub.clock)
        while await relay.assign():  # a batch at a time, until every event has a position
            pass
        started = time.perf_counter()
        await rebuild(hub.db)
        runner = ConsumerRunner(hub.db, hub.clock, default_consumers())
        scanned = await runner.run_once()
        fold_s = time.perf_counter() - started
        async with hub.db.read() as session:
            facts = (await session.exec(select(AssessedCase))).all()
            regions = (await session.exec(select(Region))).all()
            admin = (await session.exec(select(User).where(User.username == "admin"))).first()
        assert admin is not None
        months = Counter(f.created_at.astimezone(SHANGHAI).strftime("%Y-%m") for f in facts)
        span = sorted(months)
        busiest, n_cases = months.most_common(1)[0]
        print(
            f"history: {len(facts)} cases over {len(span)} months ({span[0]} … {span[-1]});"
            f" projection rebuilt from {scanned} events in {fold_s:.2f} s;"
            f" busiest month {busiest} ({n_cases} cases created)",
            flush=True,
        )
        by_tier = {r.tier.value: r for r in sorted(regions, key=lambda r: r.code)}
        token = issue_token(
            user_id=admin.id or 0,
            token_version=admin.token_version,
            secret=settings.secret_key,
            now=hub.clock.now(),
            ttl_s=3600,
            kind="access",
        )
        headers = {"Authorization": f"Bearer {token}"}
        app = create_app(hub=hub)
        transport = httpx.ASGITransport(app=app)
        rows: list[tuple[str, str]] = []
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            for tier in ("city", "county", "township"):
                code = by_tier[tier].code
                for label, path in (
                    ("monthly JSON", f"/api/v1/reports/{code}/monthly?date={busiest}-15"),
                    (
                        "monthly XLSX",
                        f"/api/v1/reports/{code}/monthly?date={busiest}-15&format=xlsx",
                    ),
                    ("rankings", f"/api/v1/assessment/{code}/rankings?date={busiest}-15"),
                ):
                    times = []
                    for _ in range(args.rounds):
                        t0 = time.perf_counter()
                        r = await client.get(path, headers=headers)
                        times.append(time.perf_counter() - t0)
                        if r.status_code != 200:
                            problems.append(f"{path}: {r.status_code} {r.text[:200]}")
                            break
                    body: Any = r.json() if label != "monthly XLSX" else None
                    if label == "monthly JSON" and not body["volume"]["current"]["created"]:
                        problems.append(f"{path}: an empty report")
                    rows.append((f"{tier} {code} {label}", _spread(times)))
        print(f"\n| report | median (min, max) of {args.rounds} |\n| --- | --- |")
        for name, figure in rows:
            print(f"| {name} | {figure} |")
    finally:
        await hub.aclose()
    for p in problems:
        print("PROBLEM:", p, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))
