"""The live-push benchmark's scenarios, each run the same way against the hub and the bare
server: the same sockets (`ClientPool`), the same open-loop case schedule (`Driver`)."""

from __future__ import annotations

import asyncio
import random
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from tests.bench.push_clients import ClientPool, Spec, cpu_seconds
from tests.bench.push_load import Driver, Plan, Sent, Target, open_loop, rss_kib
from tests.bench.push_stats import Result, analyse, problems_of, summary
from tests.bench.push_world import BenchWorld, Watcher, token

SEED = 4
EventsOf = Callable[[list[int]], dict[int, int]]  # case ids -> event frames each case made


@dataclass
class Ctx:
    target: Target
    pool: ClientPool
    driver: Driver
    world: BenchWorld
    secret: str
    events_of: EventsOf
    problems: list[str]


def planner(world: BenchWorld, seed: int) -> Callable[[], Plan]:
    rng = random.Random(seed)

    def plan() -> Plan:
        inbox = rng.choice(world.inboxes)
        return Plan(inbox, rng.choice(inbox.grids))

    return plan


async def connect(c: Ctx, specs: list[Spec], what: str) -> float:
    ok, errors, secs = await c.pool.connect(specs)
    if errors:
        c.problems.append(f"{c.target.name} {what}: {len(errors)} sockets failed: {errors[:3]}")
    print(f"   {ok:,} sockets ready in {secs:.1f} s", flush=True)
    return secs


async def drain(pool: ClientPool, expected: int, cap_s: float = 30.0, quiet_s: float = 3.0) -> int:
    """Wait until the clients hold `expected` frames, or nothing arrives for `quiet_s`."""
    deadline = time.monotonic() + cap_s
    last, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        got = await pool.count()
        if got >= expected:
            return got
        if got != last:
            last, since = got, time.monotonic()
        elif time.monotonic() - since > quiet_s:
            return got
        await asyncio.sleep(0.2)
    return last


async def run_schedule(c: Ctx, sends: list[Sent]) -> None:
    await c.driver.warm(16)
    tasks: list[asyncio.Task[None]] = []
    await open_loop(sends, c.driver.fire, tasks)
    await asyncio.gather(*tasks)


def schedule(
    plan: Callable[[], Plan], rate: float, seconds: float, start: float, first_k: int = 0
) -> list[Sent]:
    n = round(rate * seconds)
    return [Sent(first_k + j, plan(), start + j / rate) for j in range(n)]


async def memory(c: Ctx, idle: int) -> Result:
    """RSS growth per idle authenticated socket subscribed to its inbox."""
    warm = [
        Spec(i, token(w.user_id, c.secret), (("inbox", None),))
        for i, w in enumerate(c.world.inboxes[:50])
    ]
    await connect(c, warm, "memory warm-up")
    await asyncio.sleep(1.5)
    before = rss_kib(c.target.pid)
    specs = [
        Spec(50 + i, token(w.user_id, c.secret), (("inbox", None),))
        for i, w in enumerate(c.world.inboxes[50 : 50 + idle])
    ]
    await connect(c, specs, "memory")
    await asyncio.sleep(3.0)
    after = rss_kib(c.target.pid)
    got = await c.pool.collect()
    if got.closed:
        c.problems.append(f"{c.target.name} memory: {len(got.closed)} idle sockets closed")
    await c.pool.close_sockets()
    await asyncio.sleep(1.0)
    return {
        "sockets": idle,
        "rss_before_kib": before,
        "rss_after_kib": after,
        "kib_per_socket": round((after - before) / idle, 2),
    }


def mix_specs(c: Ctx) -> tuple[list[Spec], Callable[[Sent], tuple[Sequence[int], int | None]]]:
    w = c.world
    specs = [
        Spec(i, token(x.user_id, c.secret), (("inbox", None),)) for i, x in enumerate(w.inboxes)
    ]
    by_region: dict[int, list[int]] = defaultdict(list)
    for j, v in enumerate(w.watchers):
        sid = len(specs) + j
        specs.append(Spec(sid, token(v.user_id, c.secret), (("region", v.region_code),)))
        by_region[v.region_id].append(sid)
    by_staff = {x.staff_id: i for i, x in enumerate(w.inboxes)}

    def receivers(s: Sent) -> tuple[Sequence[int], int | None]:
        i = s.plan.inbox
        regions = by_region[w.city_id] + by_region[i.county_id] + by_region[i.township_id]
        return regions, by_staff.get(s.staff_id) if s.staff_id is not None else None

    return specs, receivers


async def mix(c: Ctx, rate: float, seconds: float, warmup: float) -> Result:
    """Scenario 1: 1,900 staff inboxes and 100 walls/consoles; cases over the townships."""
    specs, receivers = mix_specs(c)
    connect_s = await connect(c, specs, "mix")
    start = time.monotonic() + 0.5
    sends = schedule(planner(c.world, SEED), rate, warmup + seconds, start)
    res = await measured_run(c, sends, receivers, start + warmup)
    misrouted = sum(s.error is None and s.staff_id != s.plan.inbox.staff_id for s in sends)
    if misrouted:
        c.problems.append(f"{c.target.name} mix: {misrouted} cases not assigned as planned")
    await c.pool.close_sockets()
    return {
        "sockets": len(specs),
        "connect_s": round(connect_s, 1),
        "rate": rate,
        "misrouted": misrouted,
        **res,
    }


async def measured_run(
    c: Ctx,
    sends: list[Sent],
    receivers: Callable[[Sent], tuple[Sequence[int], int | None]],
    measured_from: float,
) -> Result:
    cpu0, ccpu0, t0 = cpu_seconds(c.target.pid), c.pool.cpu_seconds(), time.monotonic()
    await run_schedule(c, sends)
    expected = sum(2 * (len(r) + (i is not None)) for r, i in map(receivers, sends))
    await drain(c.pool, expected)
    wall = time.monotonic() - t0
    cpu = {
        "server_cpu_cores": round((cpu_seconds(c.target.pid) - cpu0) / wall, 2),
        "clients_cpu_cores": round((c.pool.cpu_seconds() - ccpu0) / wall, 2),
    }
    got = await c.pool.collect()
    events = c.events_of([s.key for s in sends if s.error is None])
    res = analyse(sends, receivers, events, got, measured_from=measured_from)
    c.problems += problems_of(f"{c.target.name} {len(sends)} cases", res)
    if got.samples:
        res["samples"] = got.samples
    return {**res, **cpu}


async def broadcast(
    c: Ctx,
    sockets: int,
    rate: float,
    seconds: float,
    warmup: float,
    ramp: Sequence[float],
    step_s: float,
) -> tuple[Result, Result]:
    """Scenario 2 (every socket on the city region, steady rate), then scenario 3 on the
    same sockets (the rate ramps until delivered frames/s stop rising)."""
    city = next(w for w in c.world.watchers if w.tier == "city")
    walls: list[Watcher] = [w for w in c.world.watchers if w.tier == "city"]
    tokens = [token(w.user_id, c.secret) for w in walls]
    specs = [
        Spec(i, tokens[i % len(tokens)], (("region", city.region_code),)) for i in range(sockets)
    ]
    everyone = list(range(sockets))

    def receivers(s: Sent) -> tuple[Sequence[int], int | None]:
        return everyone, None

    connect_s = await connect(c, specs, "broadcast")
    plan = planner(c.world, SEED + 1)
    start = time.monotonic() + 0.5
    sends = schedule(plan, rate, warmup + seconds, start)
    steady = await measured_run(c, sends, receivers, start + warmup)
    capacity = await ramp_up(c, plan, receivers, sockets, ramp, step_s, len(sends))
    await c.pool.close_sockets()
    return {"sockets": sockets, "connect_s": round(connect_s, 1), "rate": rate, **steady}, capacity


async def ramp_up(
    c: Ctx,
    plan: Callable[[], Plan],
    receivers: Callable[[Sent], tuple[Sequence[int], int | None]],
    sockets: int,
    ramp: Sequence[float],
    step_s: float,
    first_k: int,
) -> Result:
    steps: list[Result] = []
    sends: list[Sent] = []
    tasks: list[asyncio.Task[None]] = []
    best = 0.0
    await c.driver.warm(16)
    start = time.monotonic() + 0.3
    count0 = await c.pool.count()
    for rate in ramp:
        step = schedule(plan, rate, step_s, start, first_k + len(sends))
        sends += step
        cpu0, ccpu0, w0 = cpu_seconds(c.target.pid), c.pool.cpu_seconds(), time.monotonic()
        await open_loop(step, c.driver.fire, tasks)
        start += len(step) / rate
        await asyncio.sleep(max(0.0, start - time.monotonic()))
        count, w1 = await c.pool.count(), time.monotonic()
        delivered = (count - count0) / (w1 - w0)
        backlog = 2 * sockets * len(sends) - count
        offered = 2 * sockets * rate
        steps.append(
            {
                "cases_per_s": round(rate, 1),
                "offered_frames_per_s": round(offered),
                "delivered_frames_per_s": round(delivered),
                "backlog_frames": backlog,
                "server_cpu_cores": round((cpu_seconds(c.target.pid) - cpu0) / (w1 - w0), 2),
                "clients_cpu_cores": round((c.pool.cpu_seconds() - ccpu0) / (w1 - w0), 2),
                "sends": step,
            }
        )
        print(
            f"   {rate:6.1f} cases/s: {delivered:9,.0f} frames/s delivered "
            f"(offered {offered:,.0f}), backlog {backlog:,}",
            flush=True,
        )
        count0 = count
        if backlog > offered or (len(steps) > 2 and delivered < 1.05 * best):
            break
        best = max(best, delivered)
    await asyncio.gather(*tasks)
    await drain(c.pool, 2 * sockets * len(sends), cap_s=45)
    got = await c.pool.collect()
    slow = frozenset(sid for sid, code in got.closed if code == 4008)
    events = c.events_of([s.key for s in sends if s.error is None])
    res = analyse(sends, receivers, events, got, measured_from=0.0, tolerate_closed=slow)
    c.problems += problems_of(f"{c.target.name} capacity", res, allow_slow_closes=True)
    for st in steps:
        part = analyse(
            st.pop("sends"), receivers, events, got, measured_from=0.0, tolerate_closed=slow
        )
        st["last_of_n"] = part["last_of_n"]
    peak = max(steps, key=lambda st: st["delivered_frames_per_s"])
    cores = peak["server_cpu_cores"]
    peak["frames_per_server_cpu_s"] = (
        round(peak["delivered_frames_per_s"] / cores) if cores else None
    )
    return {
        "sockets": sockets,
        "step_s": step_s,
        "steps": steps,
        "peak": peak,
        "slow_consumer_closes": len(slow),
        **{
            k: res[k]
            for k in (
                "lost",
                "lost_on_slow_consumer_sockets",
                "duplicates",
                "frames_expected",
                "frames_received",
                "cases_failed",
                "errors",
            )
        },
        "request": summary(s.t_done - s.t_sent for s in sends if s.error is None),
    }
