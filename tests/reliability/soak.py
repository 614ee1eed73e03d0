"""Soak (`make soak`): cases at twice the demo city's peak rate for 30 minutes through two
hubs (timers in two `hub worker` processes), with staff inboxes and walls connected, every
case climbing its drill ladder. Every few seconds each hub's and worker's RSS is sampled.
Fails when a process's RSS grew by 10% or more between just after the warm-up and the
end, when a backlog (events without a position, numbered but unpublished, due deadlines
not fired, any hub's bus lag, any socket missing events) has not drained to 0 at the end,
or on any write, rung, 5xx or log problem the chaos run also checks.

The peak taken: `hub simulate`'s default rate, 1 case a second (the demo city's live wall
traffic; its 400 sample cases spread over three days are far below it), so 2 cases/s.
`python -m tests.reliability.soak --minutes 30` (full); `--minutes 3` is the short one."""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import time
import urllib.request
from typing import Any

from tests.reliability import checks
from tests.reliability.harness import Stack, five_xx, load_figures, start_stack
from tests.reliability.load import Creator
from tests.reliability.report import publish
from tests.reliability.stack import rss_kib

DEMO_PEAK_PER_S = 1.0
SAMPLE_EVERY_S = 5.0
RSS_LIMIT = 0.10
TITLE = "soak"


async def sample_rss(
    stack: Stack, stop: asyncio.Event, out: dict[str, list[tuple[float, int]]]
) -> None:
    start = time.monotonic()
    while not stop.is_set():
        for p in stack.hubs + stack.workers:
            if p.alive():
                out.setdefault(p.name, []).append((time.monotonic() - start, rss_kib(p.pid)))
        try:
            async with asyncio.timeout(SAMPLE_EVERY_S):
                await stop.wait()
        except TimeoutError:
            pass


def growth(samples: list[tuple[float, int]], warmup_s: float) -> dict[str, Any]:
    """RSS at the end against RSS just after the warm-up (means of a tenth of the run each)."""
    after = [kib for t, kib in samples if t >= warmup_s]
    if len(after) < 4:
        return {"samples": len(samples), "growth": None}
    n = max(1, len(after) // 10)
    first, last = sum(after[:n]) / n, sum(after[-n:]) / n
    return {
        "samples": len(samples),
        "after_warmup_mib": round(first / 1024, 1),
        "end_mib": round(last / 1024, 1),
        "peak_mib": round(max(after) / 1024, 1),
        "growth": round(last / first - 1, 4),
    }


def bus_lag(addr: str) -> float | None:
    try:
        with urllib.request.urlopen(f"http://{addr}/metrics", timeout=5) as r:
            text = r.read().decode()
    except OSError:
        return None
    m = re.search(r"^hub_bus_lag_positions (\S+)$", text, re.M)
    return float(m.group(1)) if m else None


async def run(a: argparse.Namespace) -> int:
    rate = a.rate or 2 * DEMO_PEAK_PER_S
    stack = await start_stack(
        TITLE,
        hubs=a.hubs,
        workers=a.workers,
        staff=a.staff,
        walls=a.walls,
        ack_s=a.ack_s,
        resolve_s=a.resolve_s,
    )
    duration_s = a.minutes * 60
    warmup_s = duration_s * a.warmup
    figures: dict[str, Any] = {
        "size": {
            "minutes": a.minutes,
            "rate_per_s": rate,
            "warmup_s": warmup_s,
            "hubs": a.hubs,
            "workers": a.workers,
            "sockets": a.staff + a.walls,
        }
    }
    problems: list[str] = []
    try:
        await stack.connect_clients(a.client_procs)
        stack.say(f"soak: {rate}/s for {a.minutes} min")
        creator = Creator(stack.addrs, stack.world.admin_token, TITLE)
        stop = asyncio.Event()
        rss: dict[str, list[tuple[float, int]]] = {}
        sampler = asyncio.create_task(sample_rss(stack, stop, rss))
        await creator.run(
            stack.world.inboxes, count=int(rate * duration_s), rate_per_s=rate, retry_for_s=60
        )
        stop.set()
        await sampler
        stack.say("creation done; draining")
        drain_s, left = await stack.drain(within_s=a.resolve_s + 120)
        lags = {h.name: bus_lag(h.addr) for h in stack.hubs}
        conv_s, behind = await stack.converge(within_s=60)
        figures["rss"] = {name: growth(s, warmup_s) for name, s in rss.items()}
        figures["drain_s"] = round(drain_s, 1)
        figures["backlog_left"] = left
        figures["bus_lag_positions_at_end"] = lags
        figures["sockets_behind_at_end"] = behind
        figures["clients_converged_s"] = conv_s if conv_s is None else round(conv_s, 1)
        for name, g in figures["rss"].items():
            if g["growth"] is None:
                problems.append(f"{name}: too few RSS samples after the warm-up")
            elif g["growth"] >= RSS_LIMIT:
                problems.append(f"{name}: RSS grew {g['growth']:.1%} after the warm-up")
        if any(left.values()):
            problems.append(f"backlog not drained: {left}")
        if any(v != 0 for v in lags.values()):
            problems.append(f"bus lag at the end: {lags}")
        if behind:
            problems.append(f"{behind} sockets still missing events (their queues not drained)")
        problems += stack.verify_processes().problems
        seen = await stack.stop_clients()
        figures["clients"] = stack.client_figures(seen)
        for v in (
            stack.verify_clients(seen),
            checks.writes(stack.pg, stack.db, TITLE, creator.writes),
            checks.rungs(stack.pg, stack.db, TITLE),
            stack.finish(strict_logs=True),
        ):
            figures.update(v.figures)
            problems += v.problems
        figures["load"] = load_figures(creator)
        problems += five_xx(creator, allow_503=False)
    finally:
        stack.close()
    publish("soak", figures, problems)
    return 1 if problems else 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--minutes", type=float, default=30.0)
    p.add_argument("--rate", type=float, default=0.0, help="cases/s (default 2 x the peak)")
    p.add_argument("--warmup", type=float, default=0.2, help="share of the run that is warm-up")
    p.add_argument("--hubs", type=int, default=2)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--staff", type=int, default=100)
    p.add_argument("--walls", type=int, default=20)
    p.add_argument("--client-procs", type=int, default=2)
    p.add_argument("--ack-s", type=int, default=20)
    p.add_argument("--resolve-s", type=int, default=60)
    return asyncio.run(run(p.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
