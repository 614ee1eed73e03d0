"""The simulated people: they file new cases and move open ones along, one action at a
time, through the same actions API as the REST views."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlmodel import col, select

from hub.cases import schemas as s
from hub.cases.actions import create_case, perform
from hub.cases.machine import OPEN_STATES, Action, CaseState
from hub.cases.models import Case
from hub.demo.actors import Cast
from hub.demo.bodies import body_for
from hub.deps import Hub
from hub.enums import Priority, Source
from hub.errors import Conflict, HubError
from workers.sim_policy import Catalogue, GridBox, Move, next_move

STEP_DELAY_S = (2.0, 15.0)  # pause between two actions on one on-time case
FIRST_STEP_S = (0.0, 3.0)  # cases found at start-up begin moving within seconds
LATE_MARGIN_S = (30.0, 180.0)  # how far past its deadline a late case is next touched
MAX_ERRORS_SHOWN = 5
DUPLICATE_SHARE = 0.04
UNCATEGORISED_SHARE = 0.15


@dataclass
class SimStats:
    created: int = 0
    acted: int = 0
    conflicts: int = 0  # someone else moved the case first: expected on a live hub
    errors: int = 0
    open: int = 0
    first_errors: list[str] = field(default_factory=list)

    def error(self, message: str) -> None:
        self.errors += 1
        if len(self.first_errors) < MAX_ERRORS_SHOWN:
            self.first_errors.append(message)

    def line(self) -> str:
        return (
            f"created {self.created}  acted {self.acted}  open {self.open}  "
            f"conflicts {self.conflicts}  errors {self.errors}"
        )


@dataclass
class _Tracked:
    case: Case
    next_at: datetime
    late: bool
    duplicate_of: int | None = None


@dataclass
class Simulator:
    hub: Hub
    cast: Cast
    grids: dict[int, GridBox]  # by region id
    catalogue: Catalogue
    late_share: float
    rng: random.Random
    stats: SimStats = field(default_factory=SimStats)
    tracked: dict[int, _Tracked] = field(default_factory=dict)
    given_up: set[int] = field(default_factory=set)  # refused for good: not picked up again

    def now(self) -> datetime:
        return self.hub.clock.now()

    def track(self, case: Case, *, first_s: tuple[float, float], dup: int | None = None) -> None:
        assert case.id is not None
        late = self.rng.random() < self.late_share
        entry = _Tracked(case, self.now(), late, dup)
        entry.next_at = self._next_at(entry, self.rng.uniform(*first_s))
        self.tracked[case.id] = entry

    def _next_at(self, t: _Tracked, delay_s: float) -> datetime:
        due = {
            CaseState.DISPATCHED: t.case.ack_due_at,
            CaseState.ACKNOWLEDGED: t.case.checkin_due_at,
            CaseState.ON_SITE: t.case.resolve_due_at,
        }.get(t.case.state)
        if t.late and due is not None:
            return max(due, self.now()) + timedelta(seconds=self.rng.uniform(*LATE_MARGIN_S))
        return self.now() + timedelta(seconds=delay_s)

    async def rescan(self) -> None:
        async with self.hub.db.read() as session:
            rows = (
                await session.exec(
                    select(Case)
                    .where(col(Case.state).in_(OPEN_STATES))
                    .order_by(col(Case.updated_at).desc())
                    .limit(1000)
                )
            ).all()
        for case in rows:
            if case.id not in self.tracked and case.id not in self.given_up:
                self.track(case, first_s=FIRST_STEP_S)

    async def create(self) -> None:
        rng = self.rng
        open_now = [t for t in self.tracked.values() if t.case.state in OPEN_STATES]
        if open_now and rng.random() < DUPLICATE_SHARE:
            # A second report of something already open; the desk will merge it.
            original = rng.choice(open_now).case
            grid = self.grids.get(original.grid_id) or rng.choice(list(self.grids.values()))
            title, category, dup = original.title, None, original.id
        else:
            grid = rng.choice(list(self.grids.values()))
            entry = (
                None if rng.random() < UNCATEGORISED_SHARE else rng.choice(self.catalogue.entries)
            )
            title = f"{entry.name_zh if entry else '群众反映问题'}（模拟）"
            category, dup = (entry.code if entry else None), None
        west, south, east, north = grid.box
        source = rng.choice(list(Source)[:3])
        data = s.CaseCreate(
            title=title,
            category_code=category,
            grid_code=grid.code,
            lat=round(rng.uniform(south, north), 6),
            lon=round(rng.uniform(west, east), 6),
            source=source,
            description="模拟器生成的案件。",
            priority=Priority.URGENT if rng.random() < 0.1 else Priority.NORMAL,
        )
        case, _ = await create_case(self.hub, self.cast.reporter(grid.code, source), data)
        self.stats.created += 1
        self.track(case, first_s=STEP_DELAY_S, dup=dup)

    async def step(self, t: _Tracked) -> None:
        case_id = t.case.id
        assert case_id is not None
        move = next_move(t.case, self.catalogue, self.rng, self._open_ids(t), t.duplicate_of)
        if move is None:  # finished, or nothing left to do with it
            del self.tracked[case_id]
            return
        sent_version = t.case.version
        try:
            t.case = await self._perform(t.case, move)
            self.stats.acted += 1
        except HubError as exc:
            fresh = await self._reload(case_id)
            if isinstance(exc, Conflict) and fresh is not None and fresh.version != sent_version:
                self.stats.conflicts += 1  # someone moved it first: carry on from there
                t.case = fresh
            else:
                # Refused for a reason of its own: leave it to a person rather than retry
                # the same refusal every few seconds.
                self.stats.error(f"case {case_id} {move.action}: {exc.message}")
                del self.tracked[case_id]
                self.given_up.add(case_id)
                return
        if move.action is Action.MERGE and move.into_case_id in self.tracked:
            target = await self._reload(move.into_case_id)
            if target is not None:
                self.tracked[move.into_case_id].case = target
        t.next_at = self._next_at(t, self.rng.uniform(*STEP_DELAY_S))

    async def _perform(self, case: Case, move: Move) -> Case:
        assert case.id is not None
        body = body_for(
            move.action,
            case,
            self.rng,
            category_code=move.category_code,
            into_case_id=move.into_case_id,
            department_id=move.department_id,
        )
        actor = self.cast.for_action(move.action, case)
        return await perform(self.hub, actor, case.id, move.action, body)

    async def _reload(self, case_id: int) -> Case | None:
        async with self.hub.db.read() as session:
            return await session.get(Case, case_id)

    def _open_ids(self, t: _Tracked) -> list[int]:
        return [i for i, o in self.tracked.items() if o is not t and o.case.state in OPEN_STATES]

    def due(self) -> list[_Tracked]:
        now = self.now()
        return [t for t in self.tracked.values() if t.next_at <= now]
