"""`hub demo`: the demo city, its accounts, months of finished history and three busy
days of sample cases up to now."""

from __future__ import annotations

import gc
import random
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, event, func
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.auth.security import hash_password
from hub.cases.machine import CaseState
from hub.cases.models import Case, CaseEvent
from hub.clock import FrozenClock, SystemClock, perf_counter
from hub.config import Settings
from hub.demo.actors import load_cast
from hub.demo.city import SEED, City, build_city
from hub.demo.history import HISTORY_CASES, HISTORY_DAYS, plan_history
from hub.demo.insert import has_data, insert_city
from hub.demo.runner import RunReport, run_plans
from hub.demo.scenarios import HISTORY, plan_cases
from hub.deps import Hub
from hub.dispatch.reference import bump
from hub.enums import Tier
from hub.main import build_hub
from hub.migrate import upgrade_async
from hub.realtime.counters import region_counters
from hub.regions.models import Region

PROGRESS_EVERY = 50
HISTORY_PROGRESS_EVERY = 250


async def load_demo(
    settings: Settings,
    *,
    cases: int,
    only_if_empty: bool,
    now: datetime | None = None,
    history_days: int = HISTORY_DAYS,
    history_cases: int = HISTORY_CASES,
) -> int:
    """0 when loaded (or, with `only_if_empty`, already there); 1 when refused. The sample
    ends at `now` (the machine's clock unless given): `cases` over its last three days,
    `history_cases` finished ones over the `history_days` days before (0: none)."""
    started = perf_counter()
    await upgrade_async(settings.database_url)
    now = now or SystemClock().now()
    clock = FrozenClock(now)
    hub = build_hub(settings, clock=clock)
    if hub.db.is_sqlite:
        _unsynchronised(hub)
    try:
        city = build_city()
        # Hash once: argon2 is slow by design and every demo account shares the password.
        password_hash = hash_password(settings.demo_password)
        counts: dict[str, int] = {}
        try:
            async with hub.db.transaction() as session:
                # Checked inside the write transaction: on SQLite it holds the write lock.
                present = await has_data(session)
                if not present:
                    counts = await insert_city(session, city, password_hash=password_hash, now=now)
                    await bump(session)
        except IntegrityError:
            present = True  # PostgreSQL: a concurrent loader committed the same codes first
        if present:
            if only_if_empty:
                print("demo data already present")
                return 0
            print(
                "refusing to load the demo: the database already has regions or users.\n"
                "Use `hub demo --if-empty` to skip quietly, or point HUB_DATABASE_URL at an "
                "empty database."
            )
            return 1
        print("city: " + ", ".join(f"{n} {what}" for what, n in counts.items()))
        # What is loaded so far stays for the whole load: keep it out of the collector's
        # full passes, and let young passes come less often, as the hub itself does
        # (hub/main.py): the load allocates a great deal and frees nearly all of it.
        gc.freeze()
        gc.set_threshold(20_000, *gc.get_threshold()[1:])
        report = RunReport()
        if history_cases > 0 and history_days > HISTORY.days:
            report = await _history(hub, clock, city, history_cases, history_days)
        report.add(await _sample_cases(hub, clock, city, cases, now))
        await _print_summary(hub, city, settings, report, started)
    finally:
        await hub.aclose()
    return 0


def _unsynchronised(hub: Hub) -> None:
    """`PRAGMA synchronous=OFF` on every connection of the loader's own database: no
    fsync at commit or checkpoint. A crash mid-load may corrupt the file, which costs
    nothing: the demo is reproducible (same seed, same data), so load it again. The hub
    that serves the file afterwards opens its own connections, synchronous as ever."""
    db = hub.db
    engines: list[Engine | None] = [
        db.engine.sync_engine,
        db.write_engine.sync_engine,
        db.background_engine.sync_engine,
        db._batch_engine,
    ]
    for engine in {id(e): e for e in engines if e is not None}.values():
        event.listen(engine, "connect", _synchronous_off)


def _synchronous_off(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA synchronous=OFF")
    cursor.close()


async def _history(hub: Hub, clock: FrozenClock, city: City, cases: int, days: int) -> RunReport:
    """Months of finished cases, every step before the recent days start."""
    async with hub.db.read() as session:
        cast = await load_cast(session)
    assert cast is not None, "the demo accounts were inserted just above"
    now = clock.now()
    # A stream of its own: the recent cases come out the same with or without history.
    rng = random.Random(f"{SEED}:history")
    calendar = (await hub.reference.get()).calendar
    plans = plan_history(city, cases, days, now, calendar, rng)
    if not plans:
        return RunReport()
    clock.set(plans[0].created_at)

    def progress(created: int) -> None:
        if created % HISTORY_PROGRESS_EVERY == 0 or created == len(plans):
            print(f"history {created}/{len(plans)}", flush=True)

    until = now - HISTORY - timedelta(minutes=5)
    return await run_plans(hub, clock, cast, plans, rng, progress, until=until)


async def _sample_cases(
    hub: Hub, clock: FrozenClock, city: City, cases: int, now: datetime
) -> RunReport:
    async with hub.db.read() as session:
        cast = await load_cast(session)
    assert cast is not None, "the demo accounts were inserted just above"
    rng = random.Random(SEED)
    plans = plan_cases(city, cases, now, rng)

    def progress(created: int) -> None:
        if created % PROGRESS_EVERY == 0 or created == cases:
            print(f"cases {created}/{cases}", flush=True)

    return await run_plans(hub, clock, cast, plans, rng, progress, until=now)


async def _print_summary(
    hub: Hub, city: City, settings: Settings, report: RunReport, started: float
) -> None:
    async with hub.db.read() as session:
        by_state = Counter(
            dict((await session.exec(select(Case.state, func.count()).group_by(Case.state))).all())
        )
        events = (await session.exec(select(func.count()).select_from(CaseEvent))).one()
        rework = (await session.exec(select(func.count()).where(col(Case.rework_count) > 0))).one()
        wall = await city_counters(session, hub.clock.now())
    names = {r.code: r.name_zh for r in city.regions}
    print("\nDemo accounts:")
    # Scope goes last: Chinese names are double width and would break the columns.
    print(f"  {'username':<12} {'role':<16} {'password':<10} scope")
    for a in city.accounts:
        scope = f"{names[a.region_code]} ({a.region_code})" if a.region_code else "(all)"
        print(f"  {a.username:<12} {a.role.value:<16} {settings.demo_password:<10} {scope}")
    print(
        f"\ncases: {sum(by_state.values())} ({report.actions} actions, "
        f"{report.rungs_fired} SLA rungs, {events} events); "
        f"open {wall['open']}, overdue {wall['overdue']}, reworked {rework}"
    )
    print("  " + ", ".join(f"{s.value} {by_state.get(s, 0)}" for s in CaseState))
    if report.skipped:
        print(f"  {skipped_line(report.skipped)}")
    for failure in report.failures[:10]:
        print(f"  ! {failure}")
    if len(report.failures) > 10:
        print(f"  ! ... and {len(report.failures) - 10} more refused steps")
    print(f"done in {perf_counter() - started:.1f} s")


async def city_counters(session: AsyncSession, now: datetime) -> dict[str, Any]:
    """The city wall's counters: the summary's numbers are the ones its tiles show."""
    city = (await session.exec(select(Region).where(Region.tier == Tier.CITY))).one()
    assert city.id is not None
    return await region_counters(session, Tier.CITY, city.id, now)


def skipped_line(skipped: list[str]) -> str:
    kinds = ", ".join(f"{what} ×{n}" for what, n in Counter(skipped).most_common())
    return (
        f"{len(skipped)} planned steps not taken: the SLA timers had already moved "
        f"those cases on ({kinds})"
    )
