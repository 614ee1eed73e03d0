"""Turning case plans into real cases through the actions API, in global time order: the
hub's frozen clock is set to each step's moment and the SLA timers fire each rung at its
own moment in between, so timelines, deadlines, escalations and overdue flags come out
exactly as if the three days had been lived (and a hub started on the data has nothing
left to catch up)."""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import col, select

from hub.cases import schemas as s
from hub.cases.actions import create_case, perform
from hub.cases.machine import OPEN_STATES, Action, allowed_actions
from hub.cases.models import Case
from hub.clock import FrozenClock
from hub.demo.actors import Cast
from hub.demo.bodies import body_for
from hub.demo.scenarios import CasePlan
from hub.enums import Source
from hub.errors import HubError
from hub.ports import Services
from hub.sla.arming import planned_for
from hub.sla.calendar import WorkCalendar
from hub.sla.deadlines import Planned
from hub.sla.engine import SlaEngine

_CREATE = -1  # the step number of a case's creation in the schedule


@dataclass
class RunReport:
    created: int = 0
    actions: int = 0
    rungs_fired: int = 0
    # Steps not taken because the SLA timers had already moved the case on (a raised
    # whistle, say): the rest of that case's story is dropped, as a person would.
    skipped: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)  # steps the hub refused: a bug

    def add(self, other: RunReport) -> None:
        self.created += other.created
        self.actions += other.actions
        self.rungs_fired += other.rungs_fired
        self.skipped += other.skipped
        self.failures += other.failures


@dataclass
class _Run:
    hub: Services
    clock: FrozenClock
    cast: Cast
    rng: random.Random
    cases: dict[int, Case] = field(default_factory=dict)  # plan index -> latest case row
    duplicate_of: dict[int, int] = field(default_factory=dict)  # plan index -> case id
    _plan_of: dict[int, CasePlan] = field(default_factory=dict)  # case id -> plan
    report: RunReport = field(default_factory=RunReport)
    hints: _Hints | None = None

    def keep(self, index: int, case: Case) -> None:
        """The latest row of a plan's case (every change the runner sees passes here)."""
        self.cases[index] = case
        if self.hints is not None:
            self.hints.note(case, self.clock.now())

    def case_by_id(self, case_id: int) -> Case | None:
        plan = self._plan_of.get(case_id)
        return self.cases.get(plan.index) if plan is not None else None

    async def create(self, plan: CasePlan) -> None:
        grid, title, description = plan.grid.code, plan.title, plan.description
        lat: float | None = plan.lat
        lon: float | None = plan.lon
        target = self._latest_open() if plan.duplicate else None
        if target is not None:
            # A second call about a case already open: same place, same words.
            self.duplicate_of[plan.index] = _id(target)
            grid, title = self._plan_of[_id(target)].grid.code, target.title
            lat, lon = target.lat, target.lon
            description = f"同一问题再次反映：{target.description}"
        categorised = plan.entry is not None and plan.categorised_at_creation
        data = s.CaseCreate(
            title=title,
            description=description,
            category_code=plan.entry.code if categorised and plan.entry else None,
            grid_code=grid,
            lat=lat,
            lon=lon,
            source=plan.source,
            reporter="" if plan.source is Source.GRID_PATROL else "市民",
            priority=plan.priority,
        )
        case, _ = await create_case(self.hub, self.cast.reporter(grid, plan.source), data)
        self._plan_of[_id(case)] = plan
        self.keep(plan.index, case)
        self.report.created += 1

    async def act(self, plan: CasePlan, action: Action) -> None:
        case = self.cases[plan.index]
        into: int | None = None
        if action is Action.MERGE:
            into = self._merge_target(plan, case)
            if into is None:  # nothing open to merge into: the desk cancels it instead
                action = Action.CANCEL
        body = body_for(
            action,
            case,
            self.rng,
            category_code=plan.entry.code if plan.entry else None,
            into_case_id=into,
            scores=plan.scores,
        )
        actor = self.cast.for_action(action, case)
        self.keep(plan.index, await perform(self.hub, actor, _id(case), action, body))
        self.report.actions += 1
        if into is not None:
            await self.refresh(into)  # merging wrote an event on the target too

    def _latest_open(self) -> Case | None:
        open_cases = [c for c in self.cases.values() if c.state in OPEN_STATES]
        return max(open_cases, key=lambda c: c.created_at, default=None)

    def _merge_target(self, plan: CasePlan, case: Case) -> int | None:
        wanted = self.duplicate_of.get(plan.index)
        candidates = [c for c in self.cases.values() if c.state in OPEN_STATES and c.id != case.id]
        for c in candidates:
            if c.id == wanted:
                return wanted
        same_place = [c for c in candidates if c.township_id == case.township_id]
        pick = max(same_place or candidates, key=lambda c: c.created_at, default=None)
        return pick.id if pick else None

    async def refresh(self, case_id: int) -> None:
        await self.refresh_all([case_id])

    async def refresh_all(self, case_ids: list[int]) -> None:
        if not case_ids:
            return
        async with self.hub.db.read() as session:
            rows = (await session.exec(select(Case).where(col(Case.id).in_(case_ids)))).all()
        for fresh in rows:
            self.keep(self._plan_of[_id(fresh)].index, fresh)


async def run_plans(
    hub: Services,
    clock: FrozenClock,
    cast: Cast,
    plans: list[CasePlan],
    rng: random.Random,
    on_created: Callable[[int], None] = lambda _n: None,
    *,
    until: datetime,
) -> RunReport:
    """Every plan's steps (each strictly before `until`), then the SLA rungs due by `until`."""
    run = _Run(hub, clock, cast, rng)
    run.hints = _Hints((await hub.reference.get()).calendar, run.case_by_id)
    timers = _Timers(run)
    by_index = {p.index: p for p in plans}
    queue: list[tuple[datetime, int, int]] = [(p.created_at, p.index, _CREATE) for p in plans]
    heapq.heapify(queue)
    while queue:
        at, index, step = heapq.heappop(queue)
        plan = by_index[index]
        await timers.fire_planned(at)
        clock.set(at)
        if step != _CREATE:
            action, case = plan.steps[step][1], run.cases[index]
            if action not in allowed_actions(case.state):
                run.report.skipped.append(f"{action.value} on a case now {case.state.value}")
                continue
        try:
            if step == _CREATE:
                await run.create(plan)
                on_created(run.report.created)
            else:
                await run.act(plan, plan.steps[step][1])
        except HubError as exc:
            # Keep loading: one refused step costs one case its remaining story, no more.
            what = "create" if step == _CREATE else plan.steps[step][1].value
            run.report.failures.append(f"plan {index} ({plan.target}) {what}: {exc.message}")
            continue
        if step + 1 < len(plan.steps):
            heapq.heappush(queue, (plan.steps[step + 1][0], index, step + 1))
    await timers.fire_planned(until)
    await timers.fire_until(until)  # what the engine itself finds due: nothing, normally
    clock.set(until)
    return run.report


class _Hints:
    """Where the cases' SLA rungs may fall due, kept in memory from the rows the runner
    holds, so that the engine is asked (a query, and a transaction when something is due)
    only before a step that a rung is really due ahead of, not before every step. Each
    entry is a case's earliest rung still to come when the runner last saw the case; one
    whose case has moved on since (the clock stopped or restarted) is dropped unasked."""

    def __init__(self, calendar: WorkCalendar, case_by_id: Callable[[int], Case | None]) -> None:
        self.calendar = calendar
        self.case_by_id = case_by_id
        self._heap: list[tuple[datetime, int, tuple[str, int, datetime]]] = []
        self._planned: dict[int, tuple[int, list[Planned]]] = {}  # case id -> (version, rungs)

    def planned(self, case: Case) -> list[Planned]:
        found = self._planned.get(_id(case))
        if found is None or found[0] != case.version:
            found = self._planned[_id(case)] = (case.version, planned_for(case, self.calendar))
        return found[1]

    def note(self, case: Case, now: datetime) -> None:
        ahead = [p for p in self.planned(case) if p.fire_at > now]
        if ahead:
            first = min(ahead, key=lambda p: p.fire_at)
            heapq.heappush(self._heap, (first.fire_at, _id(case), first.key))

    def next_due(self, at: datetime) -> datetime | None:
        """When the first rung still planned for its case falls due, if by `at`."""
        while self._heap and self._heap[0][0] <= at:
            fire_at, case_id, key = self._heap[0]
            case = self.case_by_id(case_id)
            if case is not None and any(
                p.key == key and p.fire_at == fire_at for p in self.planned(case)
            ):
                return fire_at
            heapq.heappop(self._heap)
        return None

    def fired_until(self, at: datetime) -> None:
        """The engine fired everything due by `at` (the cases it moved were noted again)."""
        while self._heap and self._heap[0][0] <= at:
            heapq.heappop(self._heap)


class _Timers:
    """The hub's own SLA engine, driven by the loader's clock instead of its loop."""

    def __init__(self, run: _Run) -> None:
        self.run = run
        self.engine = SlaEngine(run.hub, worker_id="demo-loader")
        self._moved: set[int] = set()
        self.engine.on_fired = lambda rows: self._moved.update(r.case_id for r in rows)

    async def fire_planned(self, at: datetime) -> None:
        """Fire, each at its own moment, the rungs the hints find due by `at`."""
        hints = self.run.hints
        assert hints is not None
        while (due := hints.next_due(at)) is not None:
            self.run.clock.set(max(due, self.run.clock.now()))
            await self._run_due()
            hints.fired_until(self.run.clock.now())

    async def fire_until(self, at: datetime) -> None:
        """Fire what the engine's own rows say is due by `at`, each at its moment."""
        while (due := await self.engine.next_due()) is not None and due <= at:
            self.run.clock.set(max(due, self.run.clock.now()))
            await self._run_due()

    async def _run_due(self) -> None:
        self.run.report.rungs_fired += (await self.engine.run_due()).fired
        # The runner acts with the case's version: one read for every case that moved.
        await self.run.refresh_all(sorted(self._moved))
        self._moved.clear()


def _id(case: Case) -> int:
    assert case.id is not None
    return case.id
