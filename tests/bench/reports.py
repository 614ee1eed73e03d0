"""Report benchmark: how long the hub takes to generate one month's report for the demo
city over its full sample history (issue #15's target: under 2 seconds).

Loads the demo city into a fresh SQLite file (`hub demo`; `--history-cases` sets the size
of its months of history), folds the whole timeline into the assessment projection (timed:
`rebuild_all`), then requests through the real app in this process, one client at a time
(like one browser asking):
- `GET /api/v1/reports/{city}/monthly` as JSON and as XLSX for every month of the history;
- the same and `GET /api/v1/assessment/{code}/rankings` for a county and a township, for
  the busiest month;
each `--rounds` times, printing the median with the min and max. Exit 1 when an answer is
not 200 or a month's report is empty. Run: `make bench-reports` (`--reuse FILE` keeps a
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

import httpx
from sqlmodel import select

from hub.assessment.models import AssessedCase
from hub.assessment.projection import rebuild_all
from hub.auth.models import User
from hub.auth.security import issue_token
from hub.clock import SHANGHAI, SystemClock
from hub.config import Settings
from hub.demo.history import HISTORY_CASES
from hub.demo.load import load_demo
from hub.main import build_hub, create_app
from hub.migrate import upgrade_async
from hub.realtime.bus import MemoryBus
from hub.realtime.relay import Relay
from hub.regions.models import Region

ROUNDS = 5


def _spread(xs: list[float]) -> str:
    return f"{statistics.median(xs):.3f} s ({min(xs):.3f}–{max(xs):.3f})"


async def _timed(
    client: httpx.AsyncClient, path: str, headers: dict[str, str], rounds: int, problems: list[str]
) -> tuple[list[float], httpx.Response]:
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        r = await client.get(path, headers=headers)
        times.append(time.perf_counter() - t0)
        if r.status_code != 200:
            problems.append(f"{path}: {r.status_code} {r.text[:200]}")
            break
    return times, r


def _created(r: httpx.Response) -> int:
    if r.status_code != 200:
        return 0
    n: int = r.json()["volume"]["current"]["created"]
    return n


async def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reuse", type=Path, help="a SQLite file with the demo already loaded")
    parser.add_argument("--history-cases", type=int, default=HISTORY_CASES)
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    args = parser.parse_args(argv)
    path = args.reuse or Path(tempfile.mkdtemp()) / "reports.db"
    url = f"sqlite+aiosqlite:///{path}"
    settings = Settings(database_url=url)
    if args.reuse is None:
        started = time.perf_counter()
        await load_demo(settings, cases=400, only_if_empty=True, history_cases=args.history_cases)
        print(f"demo loaded in {time.perf_counter() - started:.1f} s", flush=True)
    await upgrade_async(url)
    hub = build_hub(settings, clock=SystemClock())
    problems: list[str] = []
    try:
        relay = Relay(hub.db, MemoryBus(), hub.metrics, hub.clock)
        while await relay.assign():  # what a running hub's relay does: number the events
            pass
        started = time.perf_counter()
        folded = await rebuild_all(hub.db, hub.clock)
        fold_s = time.perf_counter() - started
        async with hub.db.read() as session:
            facts = (await session.exec(select(AssessedCase))).all()
            regions = (await session.exec(select(Region))).all()
            admin = (await session.exec(select(User).where(User.username == "admin"))).one()
        months = Counter(f.created_at.astimezone(SHANGHAI).strftime("%Y-%m") for f in facts)
        busiest = months.most_common(1)[0][0]
        print(
            f"history: {len(facts)} cases over {len(months)} months ({min(months)} … "
            f"{max(months)}); the projection folded {folded} events in {fold_s:.2f} s "
            f"({1000 * fold_s / max(folded, 1):.3f} ms an event)",
            flush=True,
        )
        first: dict[str, Region] = {}
        for region in sorted(regions, key=lambda r: r.code):
            first.setdefault(region.tier.value, region)
        token = issue_token(
            user_id=admin.id or 0,
            token_version=admin.token_version,
            secret=settings.secret_key,
            now=hub.clock.now(),
            ttl_s=3600,
            kind="access",
        )
        headers = {"Authorization": f"Bearer {token}"}
        transport = httpx.ASGITransport(app=create_app(hub=hub))
        rows: list[tuple[str, int, str, str]] = []
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            city = first["city"].code
            for month in sorted(months):
                base = f"/api/v1/reports/{city}/monthly?date={month}-01"
                json_t, r = await _timed(client, base, headers, args.rounds, problems)
                created = _created(r)
                if not created:
                    problems.append(f"{base}: an empty report")
                xlsx_t, _ = await _timed(
                    client, base + "&format=xlsx", headers, args.rounds, problems
                )
                rows.append((f"city {city}, {month}", created, _spread(json_t), _spread(xlsx_t)))
            for tier in ("county", "township"):
                code = first[tier].code
                base = f"/api/v1/reports/{code}/monthly?date={busiest}-01"
                json_t, r = await _timed(client, base, headers, args.rounds, problems)
                created = _created(r)
                xlsx_t, _ = await _timed(
                    client, base + "&format=xlsx", headers, args.rounds, problems
                )
                rows.append(
                    (f"{tier} {code}, {busiest}", created, _spread(json_t), _spread(xlsx_t))
                )
                rank_t, _ = await _timed(
                    client,
                    f"/api/v1/assessment/{code}/rankings?date={busiest}-01",
                    headers,
                    args.rounds,
                    problems,
                )
                rows.append((f"{tier} {code}, {busiest}: rankings", 0, _spread(rank_t), "—"))
        print(
            f"\n| monthly report | cases created | JSON, median (min–max) of {args.rounds} "
            f"| XLSX, median (min–max) of {args.rounds} |\n| --- | ---: | ---: | ---: |"
        )
        for name, created, json_s, xlsx_s in rows:
            print(f"| {name} | {created or ''} | {json_s} | {xlsx_s} |")
    finally:
        await hub.aclose()
    for p in problems:
        print("PROBLEM:", p, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:])))
