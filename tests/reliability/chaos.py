"""Chaos run (`make chaos`): cases created on an open-loop schedule through several hub
processes while staff inboxes and walls stay connected, and meanwhile Redis is killed twice
(restarted once with its data, once empty), a hub and a worker are SIGKILLed and started
again, and PostgreSQL is restarted. Afterwards: every acknowledged write is there with
all its events, every deadline row fired exactly once, every client has exactly its
events in order (resuming with `since`) within 60 s of the later of the last fault and
the last event numbered, no 5xx but 503, no traceback in any log, `hub audit verify` clean.
Exit 1 on any of these; never on speed.

`python -m tests.reliability.chaos --cases 10000 --rate 25` (the full run; `--cases 1500
--rate 15` is the two-minute one)."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from typing import Any

from tests.reliability import checks
from tests.reliability.harness import Stack, five_xx, load_figures, start_stack
from tests.reliability.load import Creator
from tests.reliability.report import publish
from tests.reliability.stack import restart_postgres

CONVERGE_WITHIN_S = 60.0
TITLE = "chaos"


async def faults(stack: Stack, duration_s: float, log: list[dict[str, Any]]) -> float:
    """The faults, spread over the creation period; returns when the last one ended."""
    start = time.monotonic()

    async def at(share: float, what: str, action: Any) -> None:
        if (wait := start + share * duration_s - time.monotonic()) > 0:
            await asyncio.sleep(wait)
        t = time.monotonic() - start
        stack.say(f"fault: {what}")
        await action()
        log.append(
            {"what": what, "at_s": round(t, 1), "took_s": round(time.monotonic() - start - t, 1)}
        )

    async def redis_restart(empty: bool) -> None:
        stack.redis.kill()
        await asyncio.sleep(3)
        await asyncio.to_thread(stack.redis.start, empty=empty)

    async def kill_hub() -> None:
        stack.hubs[0].kill()
        await asyncio.sleep(2)
        await asyncio.to_thread(stack.hubs[0].start)

    async def kill_worker() -> None:
        stack.workers[0].kill()
        await asyncio.sleep(2)
        await asyncio.to_thread(stack.workers[0].start)

    async def pg_restart() -> None:
        await asyncio.to_thread(restart_postgres, stack.pg, 3.0)

    await at(0.12, "Redis SIGKILL, restarted with its data (AOF)", lambda: redis_restart(False))
    await at(0.28, "hub0 SIGKILL, restarted", kill_hub)
    await at(0.42, "worker0 SIGKILL, restarted", kill_worker)
    await at(0.56, "PostgreSQL immediate stop, 3 s down, started", pg_restart)
    await at(0.72, "Redis SIGKILL, restarted empty", lambda: redis_restart(True))
    return time.monotonic()


async def run(a: argparse.Namespace) -> int:
    stack = await start_stack(
        TITLE,
        hubs=a.hubs,
        workers=a.workers,
        staff=a.staff,
        walls=a.walls,
        ack_s=a.ack_s,
        resolve_s=a.resolve_s,
    )
    figures: dict[str, Any] = {
        "size": {
            "cases": a.cases,
            "rate_per_s": a.rate,
            "hubs": a.hubs,
            "workers": a.workers,
            "staff_sockets": a.staff,
            "wall_sockets": a.walls,
            "ack_s": a.ack_s,
            "resolve_s": a.resolve_s,
        }
    }
    problems: list[str] = []
    try:
        took = await stack.connect_clients(a.client_procs)
        stack.say(f"{len(stack.world.sockets)} sockets subscribed in {took:.1f} s")
        duration = a.cases / a.rate
        creator = Creator(stack.addrs, stack.world.admin_token, TITLE)
        fault_log: list[dict[str, Any]] = []
        stack.say(f"creating {a.cases} cases at {a.rate}/s over {duration:.0f} s")
        _, last_fault = await asyncio.gather(
            creator.run(stack.world.inboxes, count=a.cases, rate_per_s=a.rate, retry_for_s=120),
            faults(stack, duration, fault_log),
        )
        figures["faults"] = fault_log
        stack.say("creation done; waiting for the outbox and the timers to drain")
        drain_s, left = await stack.drain(within_s=a.resolve_s + 120)
        drained_at = time.monotonic()
        figures["drain_s_after_last_create"] = round(drain_s, 1)
        figures["backlog_left"] = left
        if any(left.values()):
            problems.append(f"backlog not drained: {left}")
        budget = CONVERGE_WITHIN_S - (time.monotonic() - max(last_fault, drained_at))
        conv_s, behind = await stack.converge(within_s=budget)
        figures["clients_converged_s_after_drain"] = conv_s if conv_s is None else round(conv_s, 1)
        figures["clients_converged_s_after_last_fault"] = (
            None if conv_s is None else round(time.monotonic() - last_fault, 1)
        )
        if conv_s is None:
            problems.append(f"{behind} sockets not converged within {CONVERGE_WITHIN_S} s")
        seen = await stack.stop_clients()
        figures["clients"] = stack.client_figures(seen)
        verdicts = [
            stack.verify_clients(seen),
            checks.writes(stack.pg, stack.db, TITLE, creator.writes),
            checks.rungs(stack.pg, stack.db, TITLE),
            stack.verify_processes(),
            stack.finish(),
        ]
        for v in verdicts:
            figures.update(v.figures)
            problems += v.problems
        figures["load"] = load_figures(creator)
        problems += five_xx(creator, allow_503=True)
    finally:
        stack.close()
    publish("chaos", figures, problems)
    return 1 if problems else 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cases", type=int, default=10_000)
    p.add_argument("--rate", type=float, default=25.0, help="cases per second (open loop)")
    p.add_argument("--hubs", type=int, default=3)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--staff", type=int, default=300, help="staff inbox sockets")
    p.add_argument("--walls", type=int, default=50, help="wall (region) sockets")
    p.add_argument("--client-procs", type=int, default=3)
    p.add_argument("--ack-s", type=int, default=6, help="the drill entries' ack limit")
    p.add_argument("--resolve-s", type=int, default=15, help="their resolve limit")
    return asyncio.run(run(p.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
