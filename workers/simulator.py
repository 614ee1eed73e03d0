"""`hub simulate`: live traffic for the wall. New cases arrive on an open-loop schedule
(the arrival times do not wait for the hub, as real reports do not), and open cases are
moved through their lifecycle with the real clock; a share is deliberately handled only
after its deadline has passed. Everything goes through the actions API."""

from __future__ import annotations

import asyncio
import contextlib
import random
import signal
from collections.abc import Awaitable, Iterator

from sqlmodel import select

from hub.cases.machine import OPEN_STATES
from hub.catalogue.queries import list_current
from hub.config import Settings
from hub.demo.actors import load_cast
from hub.deps import Hub
from hub.enums import Tier
from hub.errors import HubError
from hub.main import build_hub
from hub.migrate import upgrade_async
from hub.org.models import Department
from hub.regions.models import Region
from workers.sim_engine import SimStats, Simulator
from workers.sim_policy import Catalogue, GridBox

RESCAN_S = 30.0  # how often to pick up open cases created by someone else
PROGRESS_S = 1.0
TICK_S = 0.2  # longest idle wait, so due cases and Ctrl-C are noticed promptly
MAX_BURST = 50  # arrivals per tick when behind schedule, so progress still prints


async def simulate(
    settings: Settings,
    *,
    rate_per_s: float,
    duration_s: float,
    late_share: float,
    seed: int | None = None,
    show_progress: bool = True,
) -> SimStats | None:
    """Run until `duration_s` passes (0: until SIGINT); None when there is no demo data."""
    await upgrade_async(settings.database_url)  # a fresh database answers "no data", not a crash
    hub = build_hub(settings)
    try:
        sim = await _prepare(hub, late_share, random.Random(seed))
        if sim is None:
            return None
        await _run(sim, rate_per_s, duration_s, show_progress)
        return sim.stats
    finally:
        await hub.aclose()


async def _prepare(hub: Hub, late_share: float, rng: random.Random) -> Simulator | None:
    async with hub.db.read() as session:
        cast = await load_cast(session)
        grids = (await session.exec(select(Region).where(Region.tier == Tier.GRID))).all()
        entries = await list_current(session)
        depts = (await session.exec(select(Department))).all()
    if cast is None or not grids or not entries:
        return None
    catalogue = Catalogue.build(entries, depts)
    sim = Simulator(
        hub,
        cast,
        {g.id: GridBox.of(g) for g in grids if g.id is not None},
        catalogue,
        late_share,
        rng,
    )
    await sim.rescan()
    return sim


async def _run(sim: Simulator, rate_per_s: float, duration_s: float, show: bool) -> None:
    loop = asyncio.get_running_loop()
    elapsed = sim.hub.clock.monotonic  # the pace is real time even on a frozen clock
    stop = asyncio.Event()
    with _on_sigint(loop, stop):
        start = elapsed()
        next_create = start
        next_progress = start + PROGRESS_S
        next_rescan = start + RESCAN_S
        while not stop.is_set():
            now = elapsed()
            if duration_s and now - start >= duration_s:
                break
            for _ in range(MAX_BURST):
                if rate_per_s <= 0 or next_create > now or stop.is_set():
                    break
                next_create += 1.0 / rate_per_s  # the schedule, not the hub, sets the pace
                await _guard(sim, sim.create())
            for t in sim.due():
                if stop.is_set() or (rate_per_s > 0 and elapsed() >= next_create):
                    break  # arrivals come first; the rest of the due cases wait a tick
                await _guard(sim, sim.step(t))
            if now >= next_rescan:
                next_rescan += RESCAN_S
                await sim.rescan()
            sim.stats.open = sum(t.case.state in OPEN_STATES for t in sim.tracked.values())
            if show and now >= next_progress:
                next_progress += PROGRESS_S
                print(f"\r{sim.stats.line()}   ", end="", flush=True)
            wake = min(next_create, now + TICK_S) if rate_per_s > 0 else now + TICK_S
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(wake - elapsed(), 0.005)):  # see Relay._run
                    await stop.wait()
    if show:
        print(f"\r{sim.stats.line()}   ")


async def _guard(sim: Simulator, work: Awaitable[None]) -> None:
    try:
        await work
    except HubError as exc:  # e.g. a grid deleted by an admin mid-run
        sim.stats.error(exc.message)


@contextlib.contextmanager
def _on_sigint(loop: asyncio.AbstractEventLoop, stop: asyncio.Event) -> Iterator[None]:
    """Ctrl-C stops the loop cleanly, so the summary still prints."""
    try:
        loop.add_signal_handler(signal.SIGINT, stop.set)
    except (NotImplementedError, RuntimeError):  # not the main thread, or not Unix
        yield
        return
    try:
        yield
    finally:
        loop.remove_signal_handler(signal.SIGINT)


async def run_simulator(
    settings: Settings, *, rate_per_s: float, duration_s: float, late_share: float
) -> int:
    stats = await simulate(
        settings, rate_per_s=rate_per_s, duration_s=duration_s, late_share=late_share
    )
    if stats is None:
        print("no demo data: run `hub demo` first")
        return 1
    print(f"simulator stopped: {stats.line()}")
    for message in stats.first_errors:
        print(f"  ! {message}")
    return 0
