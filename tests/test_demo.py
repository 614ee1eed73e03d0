"""The demo loader and the simulator, end to end on a throwaway SQLite file."""

from __future__ import annotations

import contextlib
import io
import random
import re
import shutil
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.auth.models import User
from hub.auth.security import issue_token
from hub.cases.events import EventType, checked
from hub.cases.machine import CaseState
from hub.cases.models import Case, CaseEvent
from hub.cases.queries import overdue_clause
from hub.cases.timeline import fold, snapshot
from hub.catalogue.models import CatalogueEntry
from hub.clock import FrozenClock
from hub.config import Settings
from hub.db import Database
from hub.demo.city import SEED, build_city
from hub.demo.load import city_counters, load_demo
from hub.demo.people import COUNTY_DEPARTMENTS, ON_CALL_CODES, RESIDENT_CODES
from hub.demo.scenarios import plan_cases, walk
from hub.dispatch.routing import GRID_OFFICE
from hub.enums import (
    DepartmentKind,
    DutyStatus,
    HandlingTier,
    PostMode,
    PostSlot,
    Role,
    StaffRole,
    Tier,
)
from hub.main import build_hub, create_app
from hub.org.models import Department, Post, Staff
from hub.regions.models import Region
from hub.sla.engine import SlaEngine
from hub.sla.models import SLA_USER, Deadline, DeadlineStatus
from tests.world import T0
from workers.simulator import run_simulator, simulate

DEMO_CASES = 120
# Where the demo's history ends: a fixed instant, so what the SLA timers do while loading
# (working hours, weekends, holidays) is the same whatever day the suite runs on.
DEMO_NOW = T0
# The states the brief asks the sample to show, each at least once.
EVERY_STATE = set(CaseState)


def _settings(path: Path) -> Settings:
    return Settings(database_url=f"sqlite+aiosqlite:///{path}")


@dataclass(frozen=True)
class Loaded:
    path: Path
    now: datetime  # where the sample history ends
    output: str  # what `hub demo` printed


@pytest.fixture(scope="module")
async def demo_load(tmp_path_factory: pytest.TempPathFactory) -> Loaded:
    path = tmp_path_factory.mktemp("demo") / "demo.db"
    now = DEMO_NOW
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        loaded = await load_demo(
            _settings(path), cases=DEMO_CASES, only_if_empty=False, now=now, history_cases=0
        )
    assert loaded == 0, printed.getvalue()
    return Loaded(path, now, printed.getvalue())


@pytest.fixture(scope="module")
def demo_db(demo_load: Loaded) -> Path:
    return demo_load.path


@pytest.fixture
async def session(demo_db: Path) -> AsyncIterator[AsyncSession]:
    db = Database(_settings(demo_db).database_url)
    async with db.read() as s:
        yield s
    await db.dispose()


async def _count(session: AsyncSession, model: type) -> int:
    n: int = (await session.exec(select(func.count()).select_from(model))).one()
    return n


async def test_region_tree(session: AsyncSession) -> None:
    regions = (await session.exec(select(Region))).all()
    tiers = Counter(r.tier for r in regions)
    assert tiers[Tier.CITY] == 1
    assert tiers[Tier.COUNTY] >= 2
    assert tiers[Tier.TOWNSHIP] >= 6
    assert tiers[Tier.COMMUNITY] >= 30
    assert tiers[Tier.GRID] >= 200
    by_id = {r.id: r for r in regions}
    for region in regions:
        assert region.geometry is not None and region.geometry["type"] == "Polygon"
        assert region.center_lon is not None and region.center_lat is not None
        if region.parent_id is not None:
            assert region.code.startswith(by_id[region.parent_id].code)


async def test_departments_and_posts(session: AsyncSession) -> None:
    counties = (await session.exec(select(Region).where(Region.tier == Tier.COUNTY))).all()
    townships = (await session.exec(select(Region).where(Region.tier == Tier.TOWNSHIP))).all()
    depts = (await session.exec(select(Department))).all()
    for county in counties:
        mine = {d.code for d in depts if d.region_id == county.id}
        assert mine == {code for code, _, _ in COUNTY_DEPARTMENTS}
    for town in townships:
        assert any(d.code == GRID_OFFICE and d.region_id == town.id for d in depts)
    posts = (await session.exec(select(Post))).all()
    slots = {(p.department_id, p.township_id, p.slot, p.mode) for p in posts}
    code_of = {d.id: d.code for d in depts}
    county_of = {t.id: t.parent_id for t in townships}
    for town in townships:
        for dept in (d for d in depts if d.region_id == county_of[town.id]):
            if dept.code in RESIDENT_CODES:
                for slot in PostSlot:
                    assert (dept.id, town.id, slot, PostMode.RESIDENT) in slots
            if dept.code in ON_CALL_CODES:
                assert (dept.id, town.id, PostSlot.A, PostMode.ON_CALL) in slots
    assert all(code_of[p.department_id] != GRID_OFFICE for p in posts)


async def test_staff_rosters(session: AsyncSession) -> None:
    grids = (await session.exec(select(Region).where(Region.tier == Tier.GRID))).all()
    staff = (await session.exec(select(Staff))).all()
    workers = [s for s in staff if s.role is StaffRole.GRID_WORKER]
    assert Counter(w.region_id for w in workers) == Counter(g.id for g in grids)
    depts = {d.id: d for d in (await session.exec(select(Department))).all()}
    for worker in workers:
        assert worker.department_id is not None
        assert depts[worker.department_id].code == GRID_OFFICE
    for dept in depts.values():
        roles = {s.role for s in staff if s.department_id == dept.id}
        assert StaffRole.LIAISON in roles
    # Some A posts are away, so the B post takes the whistle: the AB 岗 fallback shows.
    duty = {s.id: s.duty_status for s in staff}
    posts = (await session.exec(select(Post))).all()
    absent_a = [p for p in posts if p.slot is PostSlot.A and duty[p.staff_id] != DutyStatus.ON_DUTY]
    assert absent_a
    assert len(absent_a) <= 0.1 * sum(p.slot is PostSlot.A for p in posts)


async def test_catalogue_resolves_everywhere(session: AsyncSession) -> None:
    entries = (await session.exec(select(CatalogueEntry))).all()
    assert len(entries) >= 40
    assert all(e.version == 1 and e.is_current and e.pinyin for e in entries)
    depts = (await session.exec(select(Department))).all()
    county_codes = {d.code for d in depts if d.kind is DepartmentKind.COUNTY}
    every_town = set.intersection(
        *(
            {d.code for d in depts if d.region_id == t}
            for t in {d.region_id for d in depts if d.kind is DepartmentKind.TOWNSHIP}
        )
    )
    for e in entries:
        if e.tier is HandlingTier.GRID:
            assert e.primary_department == GRID_OFFICE
            # Raised to level 2 and then 3, the whistle must find a taker at both tiers.
            assert e.escalation_department in every_town & county_codes
        elif e.tier is HandlingTier.TOWNSHIP:
            assert e.escalation_department in county_codes
        else:
            assert e.primary_department in county_codes
        assert set(e.cooperating_departments) <= county_codes | every_town


async def test_one_account_per_role(session: AsyncSession) -> None:
    users = (await session.exec(select(User).where(User.username != SLA_USER))).all()
    assert Counter(u.role for u in users) == Counter(set(Role))
    by_role = {u.role: u for u in users}
    assert by_role[Role.ADMIN].region_id is None
    for role in (Role.GRID_WORKER, Role.DEPT_STAFF, Role.DEPT_LIAISON):
        assert by_role[role].staff_id is not None
    staff_id = by_role[Role.DEPT_STAFF].staff_id
    posts = (await session.exec(select(Post).where(Post.staff_id == staff_id))).all()
    assert [p.slot for p in posts] == [PostSlot.A]
    assert posts[0].township_id == by_role[Role.DISPATCHER].region_id


async def test_sample_cases_cover_the_lifecycle(session: AsyncSession) -> None:
    cases = (await session.exec(select(Case))).all()
    assert len(cases) == DEMO_CASES
    assert {c.state for c in cases} == EVERY_STATE
    assert any(c.state is CaseState.REPORTED and c.category_code is None for c in cases)
    assert any(c.state is CaseState.CLOSED and c.township_score is not None for c in cases)
    assert any(c.rework_count > 0 for c in cases)
    assert any(c.merged_into_id is not None for c in cases)
    assert {c.whistle_level for c in cases} >= {1, 2, 3}
    now = DEMO_NOW
    overdue = (await session.exec(select(func.count()).where(overdue_clause(now)))).one()
    assert overdue > 0
    created = [c.created_at for c in cases]
    assert max(created) - min(created) > timedelta(days=2), "cases spread over the history"
    assert min(created) >= now - timedelta(days=3, minutes=5)
    latest_event = (await session.exec(select(func.max(CaseEvent.at)))).one()
    assert latest_event is not None and latest_event <= now


async def assert_events_rebuild_cases(session: AsyncSession) -> None:
    events = (
        await session.exec(select(CaseEvent).order_by(col(CaseEvent.case_id), col(CaseEvent.seq)))
    ).all()
    by_case: dict[int, list[CaseEvent]] = {}
    for event in events:
        by_case.setdefault(event.case_id, []).append(event)
    for case in (await session.exec(select(Case))).all():
        assert case.id is not None
        mine = by_case[case.id]
        assert [e.seq for e in mine] == list(range(1, case.version + 1))
        assert fold(mine) == snapshot(case)


async def test_events_fold_back_to_cases(session: AsyncSession) -> None:
    await assert_events_rebuild_cases(session)


async def test_reload_is_refused_or_skipped(demo_db: Path, session: AsyncSession) -> None:
    before = [await _count(session, m) for m in (Region, User, Case)]
    assert await load_demo(_settings(demo_db), cases=10, only_if_empty=True) == 0
    assert await load_demo(_settings(demo_db), cases=10, only_if_empty=False) == 1
    assert [await _count(session, m) for m in (Region, User, Case)] == before


def test_city_is_deterministic() -> None:
    assert build_city() == build_city()


async def test_confirmed_whistle_keeps_its_level(session: AsyncSession) -> None:
    events = (
        await session.exec(select(CaseEvent).where(CaseEvent.type == "whistle_confirmed"))
    ).all()
    assert events
    assert all(e.changes.get("whistle_level", 3) == 3 for e in events)


def _copy_sqlite(source: Path, target: Path) -> Path:
    """The simulator writes; a copy keeps the loaded demo as the other tests saw it."""
    for suffix in ("", "-wal", "-shm"):  # WAL mode: committed pages may still be in -wal
        if Path(f"{source}{suffix}").exists():
            shutil.copy(f"{source}{suffix}", f"{target}{suffix}")
    return target


async def test_simulator_moves_cases(demo_db: Path, tmp_path: Path) -> None:
    copy = _copy_sqlite(demo_db, tmp_path / "sim.db")
    stats = await simulate(
        _settings(copy), rate_per_s=5, duration_s=2, late_share=0.2, seed=7, show_progress=False
    )
    assert stats is not None
    assert stats.created >= 5
    assert stats.acted > 0
    assert stats.errors == 0, stats.first_errors
    db = Database(_settings(copy).database_url)
    async with db.read() as s:
        assert await _count(s, Case) == DEMO_CASES + stats.created
        await assert_events_rebuild_cases(s)
    await db.dispose()


async def test_simulator_without_demo_data(tmp_path: Path) -> None:
    settings = _settings(tmp_path / "empty.db")
    assert await run_simulator(settings, rate_per_s=1, duration_s=1, late_share=0) == 1


@pytest.mark.parametrize(("seed", "cases"), [(SEED, DEMO_CASES), (SEED, 400), (1, 400), (2, 400)])
def test_every_planned_step_is_legal(seed: int, cases: int) -> None:
    """Each plan, walked through the state machine, is legal at every step and ends where
    it means to (a step the machine refuses raises IllegalTransition)."""
    plans = plan_cases(build_city(), cases, DEMO_NOW, random.Random(seed))
    assert [walk(p) for p in plans] == [p.target for p in plans]


def test_loading_prints_no_refused_or_skipped_step(demo_load: Loaded) -> None:
    lines = demo_load.output.splitlines()
    assert any(line.startswith("cases: ") for line in lines), demo_load.output
    refused = [line for line in lines if line.lstrip().startswith("!") or "not taken" in line]
    assert refused == []


async def test_summary_overdue_is_the_walls_and_the_lists(
    demo_load: Loaded, tmp_path: Path
) -> None:
    """One rule of overdue: the summary says what the city wall and `?overdue=true` say,
    and a hub started on the data has no SLA rung left to catch up that would change it."""
    found = re.search(r"overdue (\d+)", demo_load.output)
    assert found is not None, demo_load.output
    summary = int(found.group(1))
    assert summary > 0, "the demo shows overdue cases"
    settings = _settings(_copy_sqlite(demo_load.path, tmp_path / "copy.db"))
    hub = build_hub(settings, clock=FrozenClock(demo_load.now))
    try:
        assert (await SlaEngine(hub).run_due()).fired == 0
        async with hub.db.read() as s:
            wall = await city_counters(s, demo_load.now)
            admin = (await s.exec(select(User).where(User.username == "admin"))).one()
        assert admin.id is not None
        token = issue_token(
            user_id=admin.id,
            token_version=admin.token_version,
            secret=settings.secret_key,
            now=demo_load.now,
            ttl_s=600,
            kind="access",
        )
        transport = httpx.ASGITransport(app=create_app(hub=hub))
        async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
            listed = await _count_listed(client, {"Authorization": f"Bearer {token}"})
    finally:
        await hub.aclose()
    assert wall["overdue"] == summary
    assert listed == summary


async def _count_listed(client: httpx.AsyncClient, headers: dict[str, str]) -> int:
    n, cursor = 0, None
    while True:
        params: dict[str, str | int] = {"overdue": "true", "limit": 200}
        if cursor is not None:
            params["cursor"] = cursor
        r = await client.get("/api/v1/cases", params=params, headers=headers)
        assert r.status_code == 200, r.text
        page = r.json()
        assert all(c["overdue"] for c in page["items"])
        n += len(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return n


async def test_every_event_of_the_history_is_in_the_catalogue(session: AsyncSession) -> None:
    """The demo's history runs most actions and rungs: each event it stored validates
    against the catalogue, and the history is broad enough for that to mean something."""
    stored = (await session.exec(select(CaseEvent))).all()
    for event in stored:
        checked(event.type, event.payload)
    seen = {e.type for e in stored}
    assert len(seen) >= len(EventType) // 2, seen


# -- the long history ------------------------------------------------------------------


async def assert_rungs_fired_on_time(loaded: Loaded) -> None:
    """The runner asks the SLA engine only when a rung is due: still, each fired rung
    fired exactly when it fell due, never later (and nothing is left due at `now`)."""
    db = Database(_settings(loaded.path).database_url)
    async with db.read() as s:
        fired = (
            await s.exec(select(Deadline).where(Deadline.status == DeadlineStatus.FIRED))
        ).all()
        overdue_rows = (
            await s.exec(
                select(func.count()).where(
                    Deadline.status == DeadlineStatus.PENDING, col(Deadline.fire_at) <= loaded.now
                )
            )
        ).one()
    await db.dispose()
    assert fired
    assert [d for d in fired if d.fired_at != d.fire_at] == []
    assert overdue_rows == 0


async def test_every_rung_fires_at_its_own_moment(demo_load: Loaded) -> None:
    await assert_rungs_fired_on_time(demo_load)
