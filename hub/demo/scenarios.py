"""Plans for the sample cases: for each, where it happens, what it is, which state it should
end in and when each action happens. Pure: the runner turns plans into real actions."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from hub.cases.machine import Action, CaseState, next_state
from hub.demo.catalogue_data import ENTRIES, EntrySeed
from hub.demo.city import City, routable_here
from hub.demo.regions_data import RegionSeed
from hub.dispatch.routing import waits_for_confirmation
from hub.enums import WHISTLE_LEVEL_OF_TIER, HandlingTier, Priority, Source, Tier, TimeUnit
from hub.sla.deadlines import URGENT_FACTOR

S, A = CaseState, Action
HISTORY = timedelta(days=3)
# The share of each final state; CLOSED takes what is left, as on a real platform.
TARGET_SHARES: dict[CaseState, float] = {
    S.REPORTED: 0.05,
    S.CLASSIFIED: 0.03,
    S.AWAITING_CONFIRMATION: 0.05,
    S.DISPATCHED: 0.07,
    S.ACKNOWLEDGED: 0.06,
    S.ON_SITE: 0.06,
    S.RESOLVED: 0.06,
    S.VERIFIED: 0.04,
    S.RETURNED: 0.04,
    S.MERGED: 0.04,
    S.CANCELLED: 0.03,
}
_WITH_DEPARTMENT = (S.DISPATCHED, S.ACKNOWLEDGED, S.ON_SITE)
_AFTER_ACK = (S.ACKNOWLEDGED, S.ON_SITE, S.RESOLVED, S.VERIFIED, S.CLOSED)
_ORDER = (S.DISPATCHED, *_AFTER_ACK)
HOME_SHARE = 0.3  # cases in the demo accounts' township, so their screens are busy
LATE_SHARE = 0.15  # acknowledgements and check-ins that miss their limit
OVERDUE_SHARE = 0.5  # of the cases still with a department
REWORK_SHARE = 0.15
ESCALATE_SHARE = 0.25
CLASSIFY_LATER_SHARE = 0.2
ON_TIME_SHARE = 0.9  # of the resolve limit: the latest an on-time resolution comes
_UNSCHEDULED = datetime.min.replace(tzinfo=UTC)  # until _schedule places the plan in time
_NATURAL_S = {TimeUnit.MINUTES: 60, TimeUnit.HOURS: 3600, TimeUnit.DAYS: 86400}
_SPOTS = (
    "小区北门",
    "农贸市场门口",
    "学校附近",
    "公交站台旁",
    "居民楼下",
    "河堤步道",
    "商业街",
    "主干道路口",
    "老旧小区内",
    "建筑工地旁",
)
_VOICE = {
    Source.GRID_PATROL: "网格员巡查发现，已拍照上传。",
    Source.HOTLINE_12345: "市民拨打12345热线反映，请尽快核实处置。",
    Source.PUBLIC_APP: "群众通过“随手拍”上报。",
}


@dataclass
class CasePlan:
    index: int
    target: CaseState
    grid: RegionSeed
    entry: EntrySeed | None  # the category the case ends with (None: never classified)
    categorised_at_creation: bool
    source: Source
    priority: Priority
    lat: float
    lon: float
    title: str
    description: str
    created_at: datetime = _UNSCHEDULED
    steps: list[tuple[datetime, Action]] = field(default_factory=list)
    duplicate: bool = False  # reports a case already open; merged into it
    rework: bool = False
    overdue: bool = False
    # The evaluation's (township score, resident satisfaction); None: the runner draws them.
    scores: tuple[int, int] | None = None


def limit_s(limit: tuple[int, TimeUnit], priority: Priority) -> float:
    """A limit in natural seconds; a working day counts as a full day, which never
    overstates a working-day limit, so an 'on time' plan stays on time."""
    within, unit = limit
    seconds = within * _NATURAL_S.get(unit, 86400 if unit is TimeUnit.WORK_DAYS else 3600)
    return seconds * (URGENT_FACTOR if priority is Priority.URGENT else 1.0)


def targets(n: int, rng: random.Random) -> list[CaseState]:
    chosen = [s for s, share in TARGET_SHARES.items() for _ in range(max(1, round(share * n)))]
    chosen = chosen[:n] + [S.CLOSED] * (n - len(chosen))
    rng.shuffle(chosen)
    return chosen


def plan_cases(city: City, n: int, now: datetime, rng: random.Random) -> list[CasePlan]:
    """Plans sorted by creation time, every step strictly before `now`."""
    grids = city.of_tier(Tier.GRID)
    home = [g for g in grids if g.code.startswith(city.demo_township.code)]
    townships = {t.code: t for t in city.of_tier(Tier.TOWNSHIP)}
    plans = []
    for i, target in enumerate(targets(n, rng)):
        grid = rng.choice(home if rng.random() < HOME_SHARE else grids)
        if target is S.CLASSIFIED:  # a farm matter in a street: no office to route it to
            grid = rng.choice([g for g in grids if not townships[g.code[:9]].is_town])
        township = townships[grid.code[:9]]
        usable = [e for e in city.entries if routable_here(e, township, city)]
        plans.append(draw_plan(i, target, grid, _entry(target, usable, city, township, rng), rng))
    for plan in plans:
        _schedule(plan, now, rng)
    plans.sort(key=lambda p: p.created_at)
    return plans


def _entry(
    target: CaseState,
    usable: list[EntrySeed],
    city: City,
    township: RegionSeed,
    rng: random.Random,
) -> EntrySeed | None:
    if target in (S.REPORTED, S.MERGED, S.CANCELLED):
        return None
    if target is S.CLASSIFIED:
        return rng.choice([e for e in city.entries if not routable_here(e, township, city)])
    if target is S.AWAITING_CONFIRMATION:
        tier = HandlingTier.COUNTY if rng.random() < 0.6 else HandlingTier.TOWNSHIP
        return rng.choice([e for e in usable if e.needs_confirmation and e.tier is tier])
    if target is S.RETURNED:  # a grid worker does not return cases; departments do
        return rng.choice([e for e in usable if e.tier is not HandlingTier.GRID])
    return rng.choice(usable)


def draw_plan(
    i: int, target: CaseState, grid: RegionSeed, entry: EntrySeed | None, rng: random.Random
) -> CasePlan:
    wording = entry or rng.choice([e for e in ENTRIES if e.tier is not HandlingTier.GRID])
    source = rng.choices(list(_VOICE), weights=(0.55, 0.3, 0.15))[0]
    spot = rng.choice(_SPOTS)
    urgent = entry is not None and limit_s(entry.ack, Priority.NORMAL) <= 1800
    priority = Priority.URGENT if urgent and rng.random() < 0.2 else Priority.NORMAL
    box = grid.box
    return CasePlan(
        index=i,
        target=target,
        grid=grid,
        entry=entry,
        categorised_at_creation=entry is not None and rng.random() >= CLASSIFY_LATER_SHARE,
        source=source,
        priority=priority,
        lat=round(rng.uniform(box.south, box.north), 6),
        lon=round(rng.uniform(box.west, box.east), 6),
        title=f"{spot}{wording.name_zh}",
        description=f"{grid.name_zh}{spot}：{wording.name_zh}。{_VOICE[source]}",
        duplicate=target is S.MERGED,
        rework=target in (S.RESOLVED, S.VERIFIED, S.CLOSED) and rng.random() < REWORK_SHARE,
        overdue=(
            target in _WITH_DEPARTMENT
            and entry is not None
            and entry.resolve[1] in _NATURAL_S
            and rng.random() < OVERDUE_SHARE
        ),
    )


class Story:
    """A plan's steps as seconds after creation, each walked through the case state machine
    as it is added, so a step the machine would refuse fails here, at planning time."""

    def __init__(self, plan: CasePlan, rng: random.Random) -> None:
        self.plan, self.rng = plan, rng
        self.state, self.level = S.REPORTED, 0
        self.t = 0.0
        self.steps: list[tuple[float, Action]] = []
        if plan.categorised_at_creation:
            self._classified()

    def at(self, t: float, action: Action) -> None:
        entry = self.plan.entry
        if action is A.CLASSIFY:
            self._classified()
        elif action is A.DISPATCH and entry is not None:  # a returned case sent again
            self._route(action, WHISTLE_LEVEL_OF_TIER[entry.tier])
        elif action is A.REOPEN and entry is not None:  # reopening routes the case anew
            self.state = next_state(self.state, action)
            self._route(A.DISPATCH, WHISTLE_LEVEL_OF_TIER[entry.tier])
        elif action is A.ESCALATE:
            self._route(action, self.level + 1)
        elif action is A.CONFIRM_WHISTLE:
            self._route(action, self.level, confirmed=True)
        else:
            self.state = next_state(self.state, action)
        self.steps.append((t, action))
        self.t = t

    def after(self, low_min: float, high_min: float, action: Action) -> None:
        self.at(self.t + self.rng.uniform(low_min, high_min) * 60, action)

    def _classified(self) -> None:
        # A category routes the case at once (create, classify) unless no office takes
        # it here: the one case the planner means to leave in the dispatcher's queue.
        self.state = next_state(self.state, A.CLASSIFY)
        entry = self.plan.entry
        if entry is not None and self.plan.target is not S.CLASSIFIED:
            self._route(A.DISPATCH, WHISTLE_LEVEL_OF_TIER[entry.tier])

    def _route(self, action: Action, level: int, *, confirmed: bool = False) -> None:
        entry = self.plan.entry
        assert entry is not None, "only a categorised case is routed"
        waits = waits_for_confirmation(
            level,
            entry_asks=entry.needs_confirmation,
            raised=level > WHISTLE_LEVEL_OF_TIER[entry.tier],
            confirmed=confirmed,
        )
        self.state = next_state(self.state, action, needs_confirmation=waits)
        self.level = level


def walk(plan: CasePlan) -> CaseState:
    """The state a plan's steps lead to, through the state machine (IllegalTransition for a
    step it refuses)."""
    story = Story(plan, random.Random(0))
    for _, action in plan.steps:
        story.at(0.0, action)
    return story.state


def _offsets(plan: CasePlan, rng: random.Random) -> tuple[list[tuple[float, Action]], float]:
    """Steps as seconds after creation, and when the department's clock started."""
    story = Story(plan, rng)
    entry, target = plan.entry, plan.target
    if target is S.CANCELLED:
        story.after(10, 120, A.CANCEL)
    if target is S.MERGED:
        story.after(5, 40, A.MERGE)
    if entry is None:
        return story.steps, story.t
    if not plan.categorised_at_creation:
        story.after(3, 30, A.CLASSIFY)
    if target is S.CLASSIFIED:
        return story.steps, story.t
    if story.state is S.AWAITING_CONFIRMATION:
        if target is S.AWAITING_CONFIRMATION:
            return story.steps, story.t
        story.after(5, 60, A.CONFIRM_WHISTLE)
    level = story.level
    escalations = 0
    if target is S.AWAITING_CONFIRMATION:
        escalations = 3 - level
    elif target in _ORDER and level < 3 and not plan.overdue and rng.random() < ESCALATE_SHARE:
        escalations = 1 + (level == 1 and rng.random() < 0.3)
    for _ in range(escalations):
        story.after(15, 180, A.ESCALATE)
        if story.state is S.AWAITING_CONFIRMATION:
            if target is S.AWAITING_CONFIRMATION:
                return story.steps, story.t
            story.after(5, 60, A.CONFIRM_WHISTLE)
    dispatched = story.t
    if target is S.RETURNED:
        story.after(10, 60, A.RETURN)
    if target not in _AFTER_ACK:
        return story.steps, dispatched
    late = rng.random() < LATE_SHARE
    stretch = (1.2, 2.5) if late else (0.1, 0.7)
    ack = dispatched + limit_s(entry.ack, plan.priority) * rng.uniform(*stretch)
    story.at(ack, A.ACKNOWLEDGE)
    if target is S.ACKNOWLEDGED:
        return story.steps, dispatched
    checkin_share = rng.uniform(1.1, 2.0) if late else rng.uniform(0.75, 0.95)
    story.at(
        max(ack + 180, dispatched + limit_s(entry.checkin, plan.priority) * checkin_share),
        A.CHECK_IN,
    )
    if target is S.ON_SITE:
        return story.steps, dispatched
    resolve_s = limit_s(entry.resolve, plan.priority)
    fix_s = min(resolve_s, 30 * 3600.0)
    fixed = story.t + fix_s * rng.uniform(0.1, 0.6)
    story.at(_in_time(fixed, story.t, dispatched, resolve_s), A.RESOLVE)
    if plan.rework:
        story.after(30, 240, A.REJECT)  # rework restarts the department's clocks
        restarted = story.t
        story.after(10, 60, A.CHECK_IN)
        fixed = story.t + rng.uniform(20, 360) * 60
        story.at(_in_time(fixed, story.t, restarted, resolve_s), A.RESOLVE)
    if target is S.RESOLVED:
        return story.steps, dispatched
    story.after(10, 240, A.VERIFY)
    if target is S.VERIFIED:
        if rng.random() < 0.3:
            story.after(10, 120, A.EVALUATE)
        return story.steps, dispatched
    story.after(5, 60, A.CLOSE)
    if rng.random() < 0.85:
        story.after(10, 480, A.EVALUATE)
    return story.steps, dispatched


def _in_time(planned: float, previous: float, clock_start: float, limit_s: float) -> float:
    """A resolution before its deadline (and after the step before it): one past the
    deadline would find the whistle already raised by the SLA timers."""
    return max(min(planned, clock_start + limit_s * ON_TIME_SHARE), previous + 60)


def _schedule(plan: CasePlan, now: datetime, rng: random.Random) -> None:
    offsets, dispatched = _offsets(plan, rng)
    span = offsets[-1][0] if offsets else 0.0
    room = HISTORY.total_seconds() - 600
    if span > room:  # squeeze a long story into the history window, keeping its order
        offsets = [(s * room / span, a) for s, a in offsets]
        dispatched, span = dispatched * room / span, room
    earliest = now - HISTORY
    latest = now - timedelta(seconds=span + 300)
    if plan.entry is not None and plan.target in _WITH_DEPARTMENT:
        resolve_s = limit_s(plan.entry.resolve, plan.priority)
        since_dispatch = timedelta(seconds=dispatched + resolve_s)
        if plan.overdue:
            latest = min(latest, now - since_dispatch - timedelta(minutes=30))
        else:
            earliest = max(earliest, now - since_dispatch + timedelta(minutes=30))
    earliest = min(earliest, latest)
    spread = (latest - earliest).total_seconds()
    plan.created_at = earliest + timedelta(seconds=rng.uniform(0, spread))
    plan.steps = [(plan.created_at + timedelta(seconds=s), a) for s, a in offsets]
