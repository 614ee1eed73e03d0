"""Websocket fuzz (`make ws-fuzz`): hostile sockets send malformed, oversized, binary,
deeply nested, flooding, out-of-order and badly framed messages while well-behaved inbox
and wall sockets stay connected and cases are created at a steady rate. Two phases of the
same length in one run: idle (no hostile traffic), then under fuzz. Fails when a hub
process died, any traceback is in a hub's log, a well-behaved socket was disconnected or
misses an event, any 5xx was answered, or the well-behaved sockets' create-to-frame p99
under fuzz is 20% or more above the idle phase's.

`python -m tests.reliability.wsfuzz --frames 200000` (full); `--frames 20000 --phase-s 30`
is the short one."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from tests.bench.push_world import token
from tests.reliability.clients import Seen
from tests.reliability.harness import Stack, five_xx, load_figures, start_stack
from tests.reliability.hostile import Hostiles
from tests.reliability.load import Creator
from tests.reliability.report import publish
from tests.reliability.stack import SECRET

P99_LIMIT = 1.2


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))]


def latencies(creator: Creator, seen: dict[int, Seen]) -> list[float]:
    """Per (socket, case): first event frame of the case at the socket minus the send."""
    sent = {w.case_id: w.t_sent for w in creator.writes if w.case_id is not None}
    out: list[float] = []
    for s in seen.values():
        first: dict[int, float] = {}
        for case, t in zip(s.case, s.t, strict=True):
            if case in sent and case not in first:
                first[case] = t
        out += [(t - sent[c]) * 1000 for c, t in first.items()]
    return out


def summary(ms: list[float]) -> dict[str, Any]:
    return {
        "samples": len(ms),
        "p50_ms": round(_pct(ms, 0.5), 1),
        "p99_ms": round(_pct(ms, 0.99), 1),
        "max_ms": round(max(ms), 1) if ms else None,
    }


async def phase(stack: Stack, title: str, a: argparse.Namespace) -> Creator:
    creator = Creator(stack.addrs, stack.world.admin_token, title)
    await creator.run(
        stack.world.inboxes, count=int(a.rate * a.phase_s), rate_per_s=a.rate, retry_for_s=30
    )
    return creator


async def run(a: argparse.Namespace) -> int:
    stack = await start_stack(
        "wsfuzz",
        hubs=a.hubs,
        workers=1,
        staff=a.staff,
        walls=a.walls,
        ack_s=3600,
        resolve_s=7200,
    )
    figures: dict[str, Any] = {
        "size": {
            "frames": a.frames,
            "phase_s": a.phase_s,
            "rate_per_s": a.rate,
            "hubs": a.hubs,
            "good_sockets": a.staff + a.walls,
            "hostile_nice": a.hostile_nice,
        }
    }
    problems: list[str] = []
    try:
        await stack.connect_clients(a.client_procs)
        stack.say("idle phase")
        idle = await phase(stack, "fuzz-idle", a)
        # County walls from the end of the list: the well-behaved walls are its start.
        walls = [w for w in stack.world.world.watchers if w.tier != "township"]
        tokens = [token(w.user_id, SECRET) for w in walls[-20:]]
        stack.say(f"fuzz phase: {a.frames} hostile frames over {a.phase_s} s")
        hostiles = Hostiles(a.hostile_procs, niceness=a.hostile_nice)
        hostiles.start(
            [h.addr for h in stack.hubs], tokens, a.frames, a.frames / a.phase_s, a.phase_s * 3
        )
        fuzzed = await phase(stack, "fuzz-hostile", a)
        tally = await hostiles.wait()
        stack.say(f"hostile frames written: {sum(tally.frames.values())}")
        drain_s, left = await stack.drain(within_s=60, every_deadline=False)
        conv_s, behind = await stack.converge(within_s=30)
        if conv_s is None:
            problems.append(f"{behind} well-behaved sockets not converged")
        problems += stack.verify_processes().problems
        seen = await stack.stop_clients()
        clients = stack.client_figures(seen)
        if clients["reconnects"]:
            problems.append(f"well-behaved sockets disconnected {clients['reconnects']} times")
        lat_idle = summary(latencies(idle, seen))
        lat_fuzz = summary(latencies(fuzzed, seen))
        ratio = lat_fuzz["p99_ms"] / lat_idle["p99_ms"] if lat_idle["p99_ms"] else float("nan")
        figures.update(
            {
                "hostile_frames_written": sum(tally.frames.values()),
                "hostile_frames_by_kind": dict(tally.frames.most_common()),
                "hostile_connections": dict(tally.connections.most_common()),
                "hostile_connections_refused": tally.refused,
                "hostile_closes": dict(tally.closes.most_common(30)),
                "hostile_replies": dict(tally.replies.most_common(20)),
                "latency_idle": lat_idle,
                "latency_under_fuzz": lat_fuzz,
                "p99_ratio_fuzz_over_idle": round(ratio, 3),
                "clients": clients,
                "backlog_left": left,
                "drain_s": round(drain_s, 1),
                "load_idle": load_figures(idle),
                "load_fuzz": load_figures(fuzzed),
            }
        )
        if sum(tally.frames.values()) < a.frames:
            problems.append(f"only {sum(tally.frames.values())} of {a.frames} frames written")
        if tally.refused:
            problems.append(f"{tally.refused} hostile connections refused (a hub down?)")
        if not ratio < P99_LIMIT:
            problems.append(f"well-behaved p99 under fuzz is {ratio:.2f} x idle (limit 1.2)")
        v = stack.verify_clients(seen)
        figures.update(v.figures)
        problems += v.problems
        for closed in tally.closes:
            if closed.endswith(":1011"):
                problems.append(f"server error close (1011) answering {closed.split(':')[0]}")
        problems += five_xx(idle, allow_503=False) + five_xx(fuzzed, allow_503=False)
        v = stack.finish(strict_logs=True)
        figures.update(v.figures)
        problems += v.problems
    finally:
        stack.close()
    publish("ws-fuzz", figures, problems)
    return 1 if problems else 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--frames", type=int, default=200_000, help="hostile frames to write")
    p.add_argument("--phase-s", type=float, default=90.0, help="length of each phase")
    p.add_argument("--rate", type=float, default=5.0, help="cases per second in both phases")
    p.add_argument("--hubs", type=int, default=2)
    p.add_argument("--staff", type=int, default=60)
    p.add_argument("--walls", type=int, default=20)
    p.add_argument("--client-procs", type=int, default=2)
    p.add_argument("--hostile-procs", type=int, default=2)
    p.add_argument(
        "--hostile-nice",
        type=int,
        default=0,
        help="run the hostile processes at this niceness (19: off the hub's CPU as far as "
        "a shared machine allows; 0: same priority, the old measurement)",
    )
    return asyncio.run(run(p.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
