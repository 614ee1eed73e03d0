"""Plans for the long history behind the recent picture: months of mostly finished cases
(closed; some cancelled, merged, returned and sent again, reworked or reopened), handled
by departments and townships that each do well or badly in their own way, so that the
monthly rankings and weekly trends folded from the events have something to tell apart.

Pure, like `scenarios`: the runner turns the plans into real actions. Unlike the recent
cases, every step is placed on the hub's own working calendar: a step on time comes
before its rung's warning (so it fires no SLA rung at all), a late one clearly after the
breach, and the SLA engine fires exactly the rungs the late steps run into."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from hub.cases.machine import Action, CaseState
from hub.clock import SHANGHAI
from hub.demo.catalogue_data import EntrySeed
from hub.demo.city import City, routable_here
from hub.demo.people import dept_key
from hub.demo.regions_data import RegionSeed
from hub.demo.scenarios import HISTORY, CasePlan, Story, draw_plan
from hub.dispatch.routing import GRID_OFFICE
from hub.enums import DepartmentKind, HandlingTier, Priority, Source, Tier, TimeUnit
from hub.sla.calendar import WorkCalendar
from hub.sla.deadlines import Limit, add_limit
from hub.sla.ladder import DEFAULT_VERIFY, WARN_AT

S, A = CaseState, Action
HISTORY_DAYS = 120  # the whole sample, the recent days included, ends at `now`
HISTORY_CASES = 700  # about a minute on a 2-core machine; `--history-cases` for more
CANCEL_SHARE = 0.04
MERGE_SHARE = 0.03
REOPEN_SHARE = 0.03
ESCALATE_SHARE = 0.08  # of the cases below level 3
CLASSIFY_LATER_SHARE = 0.15
REPEAT_SHARE = 0.03  # closed cases that start a run of repeat reports at one place
EVALUATED = {1: 0.3, 2: 0.9, 3: 0.92}  # closed cases the township evaluates, by level
# Closed cases whose resident gets the follow-up call (回访): nearly every 12345 case, as
# Beijing's hotline does, and a sample of the others.
FOLLOWED_UP = {Source.HOTLINE_12345: 0.9}
FOLLOWED_UP_OTHERS = 0.3
HOME_WEIGHT = 1.5  # the demo accounts' township: a little busier than the others
# On time: by this share of the step's limit, before the ladder's warning at WARN_AT.
ON_TIME = 0.7
LATE = (1.1, 1.8)  # past the breach, before "long overdue" (2.0) mostly
assert ON_TIME < WARN_AT
# Volume by calendar month (summer's flooding, noise and outdoor work; the National Day
# and Spring Festival holidays quieter) and a rising trend over the history.
MONTH_VOLUME = {
    1: 0.8,
    2: 0.7,
    3: 0.9,
    4: 1.0,
    5: 1.05,
    6: 1.2,
    7: 1.35,
    8: 1.3,
    9: 1.1,
    10: 0.9,
    11: 0.95,
    12: 0.85,
}
TREND = 0.4  # the last day of the history sees this much more than the first
WEEKEND_VOLUME = 0.65
# Categories that come with a season: (months, factor).
SEASONS: dict[str, tuple[frozenset[int], float]] = {
    "E23": (frozenset({6, 7, 8}), 5.0),  # urban flooding
    "F12": (frozenset({6, 7, 8}), 2.5),  # blocked storm drains
    "E24": (frozenset({6, 7, 8}), 2.0),  # rubbish in the rivers
    "E06": (frozenset({6, 7, 8, 9}), 1.8),  # noise
    "E07": (frozenset({6, 7, 8, 9}), 1.6),  # construction noise at night
    "E10": (frozenset({6, 7, 8}), 1.6),  # cooking fumes
    "E25": (frozenset({7, 8, 10}), 1.6),  # overflowing bins (summer, the holiday week)
    "E39": (frozenset({5, 7, 8, 10}), 2.5),  # tourist complaints
    "E42": (frozenset({6, 10}), 6.0),  # straw burning at harvest
    "E27": (frozenset({1, 2, 12}), 3.0),  # wage arrears before the Spring Festival
    "F11": (frozenset({1, 2, 12}), 2.0),  # frozen water mains
    "E31": (frozenset({1, 2, 12}), 2.0),  # epidemics
    "E15": (frozenset({11, 12, 1, 2}), 1.8),  # e-bikes charged indoors in the cold
}


@dataclass(frozen=True)
class Profile:
    """How one department handles its cases: the shares of its late steps, of results
    the township rejects, of cases it returns (on the hub's own original due times)."""

    late: float  # the department's overall lateness, 0.03 (good) to 0.45 (bad)
    ack_late: float
    checkin_late: float
    resolve_late: float  # only a level-3 whistle can run late: below, the engine raises it
    rework: float
    returns: float


@dataclass(frozen=True)
class TownshipProfile:
    volume: float  # more or fewer cases than the average township
    strictness: float  # multiplies the rework share of the departments working there
    leniency: float  # added to the scores it gives
    verify_late: float  # its own verification, after the department's result


@dataclass(frozen=True)
class Profiles:
    departments: dict[str, Profile]  # by department key
    townships: dict[str, TownshipProfile]  # by township code


def profiles(city: City, rng: random.Random) -> Profiles:
    """Deterministic profiles: within each kind of department (county, township) the
    lateness shares are spread evenly from good to bad, in an order the rng shuffles, so
    rankings always have a clear top and bottom."""
    departments: dict[str, Profile] = {}
    for kind in DepartmentKind:
        keys = [d.key for d in city.departments if d.kind is kind]
        rng.shuffle(keys)
        for i, key in enumerate(keys):
            late = 0.03 + 0.42 * i / max(1, len(keys) - 1)
            often_returned = rng.random() < 0.2
            departments[key] = Profile(
                late=late,
                ack_late=late * rng.uniform(0.4, 0.8),
                checkin_late=late * rng.uniform(0.3, 0.7),
                resolve_late=late,
                rework=min(0.35, 0.03 + late * rng.uniform(0.2, 0.6)),
                returns=rng.uniform(0.12, 0.25) if often_returned else rng.uniform(0.0, 0.03),
            )
    townships = {
        t.code: TownshipProfile(
            volume=rng.uniform(0.5, 1.6),
            strictness=rng.uniform(0.5, 1.8),
            leniency=rng.uniform(-0.4, 0.4),
            verify_late=rng.choice((0.0, 0.02, 0.05, 0.12)),
        )
        for t in city.of_tier(Tier.TOWNSHIP)
    }
    return Profiles(departments, townships)


NEUTRAL = Profile(0.1, 0.1, 0.1, 0.1, 0.08, 0.02)


def volume_at(t: datetime, start: datetime, end: datetime) -> float:
    """The relative number of cases reported around `t` (month, trend, weekday)."""
    local = t.astimezone(SHANGHAI)
    progress = (t - start) / (end - start)
    weekday = WEEKEND_VOLUME if local.weekday() >= 5 else 1.0
    return MONTH_VOLUME[local.month] * (1 + TREND * progress) * weekday


@dataclass
class _Window:
    start: datetime
    end: datetime  # every step of the history comes before this

    def when(self, rng: random.Random, latest: datetime | None = None) -> datetime:
        """A creation time following the volume curve, no later than `latest`."""
        end = min(self.end, latest) if latest is not None else self.end
        if end <= self.start:
            return self.start
        top = max(MONTH_VOLUME.values()) * (1 + TREND)
        span = (end - self.start).total_seconds()
        for _ in range(200):
            t = self.start + timedelta(seconds=rng.uniform(0, span))
            if rng.random() * top <= volume_at(t, self.start, self.end):
                return t
        return t


class _Timing:
    """A plan's moments on the hub's calendar, as seconds after the case's creation."""

    def __init__(self, created: datetime, calendar: WorkCalendar, priority: Priority) -> None:
        self.created, self.calendar, self.priority = created, calendar, priority

    def share(self, start_s: float, limit: tuple[int, TimeUnit], share: float) -> float:
        """When `share` of `limit` is used up on a clock started `start_s` after creation
        (the same datetime arithmetic the runner and the hub do)."""
        start = self.created + timedelta(seconds=start_s)
        end = add_limit(start, Limit(*limit), self.calendar, self.priority, share=share)
        return (end - self.created).total_seconds()


@dataclass
class _Outcome:
    late_steps: int = 0
    resolved_late: bool = False
    reworked: bool = False


def plan_history(
    city: City,
    n: int,
    days: int,
    now: datetime,
    calendar: WorkCalendar,
    rng: random.Random,
) -> list[CasePlan]:
    """`n` plans created over `days` days up to the recent window, every step before it
    starts (`now - HISTORY`), sorted by creation time."""
    window = _Window(now - timedelta(days=days), now - HISTORY - timedelta(minutes=10))
    found = profiles(city, rng)
    townships = city.of_tier(Tier.TOWNSHIP)
    grids_of = {
        t.code: [g for g in city.of_tier(Tier.GRID) if g.code.startswith(t.code)] for t in townships
    }
    usable = {t.code: [e for e in city.entries if routable_here(e, t, city)] for t in townships}
    base = {e.code: rng.lognormvariate(0, 0.6) for e in city.entries}
    weights = [
        found.townships[t.code].volume * (HOME_WEIGHT if t == city.demo_township else 1.0)
        for t in townships
    ]
    plans: list[CasePlan] = []
    while len(plans) < n:
        township = rng.choices(townships, weights=weights)[0]
        grid = rng.choice(grids_of[township.code])
        created = window.when(rng)
        roll = rng.random()
        target = S.CANCELLED if roll < CANCEL_SHARE else S.CLOSED
        if CANCEL_SHARE <= roll < CANCEL_SHARE + MERGE_SHARE:
            target = S.MERGED
        entry = None
        if target is S.CLOSED:
            entry = _category(usable[township.code], base, created, rng)
        plan = _placed(
            len(plans), target, grid, entry, township, created, window, found, calendar, rng
        )
        if plan is None:
            continue
        plans.append(plan)
        if entry is not None and rng.random() < REPEAT_SHARE:
            # The same problem at the same place, reported again within the week.
            for _ in range(rng.randint(2, 4)):
                if len(plans) >= n:
                    break
                again = plan.created_at + timedelta(days=rng.uniform(0.3, 7))
                if again >= window.end:
                    break
                repeat = _placed(
                    len(plans), S.CLOSED, grid, entry, township, again, window, found, calendar, rng
                )
                if repeat is not None:
                    plans.append(repeat)
    plans.sort(key=lambda p: p.created_at)
    return plans


def _category(
    usable: list[EntrySeed], base: dict[str, float], at: datetime, rng: random.Random
) -> EntrySeed:
    month = at.astimezone(SHANGHAI).month
    weights = []
    for e in usable:
        months, factor = SEASONS.get(e.code, (frozenset(), 1.0))
        weights.append(base[e.code] * (factor if month in months else 1.0))
    return rng.choices(usable, weights=weights)[0]


def _placed(
    index: int,
    target: CaseState,
    grid: RegionSeed,
    entry: EntrySeed | None,
    township: RegionSeed,
    created: datetime,
    window: _Window,
    found: Profiles,
    calendar: WorkCalendar,
    rng: random.Random,
) -> CasePlan | None:
    """A plan created at `created` (or earlier, if its story would run into the recent
    window); None if no time in the window leaves room for it."""
    plan = draw_plan(index, target, grid, entry, rng)
    plan.categorised_at_creation = entry is not None and rng.random() >= CLASSIFY_LATER_SHARE
    plan.rework = plan.overdue = False
    for _ in range(8):
        offsets, scores = _offsets(plan, township, created, found, calendar, rng)
        span = offsets[-1][0] if offsets else 0.0
        if created + timedelta(seconds=span) < window.end:
            plan.created_at, plan.scores = created, scores
            plan.steps = [(created + timedelta(seconds=s), a) for s, a in offsets]
            return plan
        latest = window.end - timedelta(seconds=span * 1.2 + 3600)
        if latest <= window.start:
            return None
        created = window.when(rng, latest)
    return None


def handler_key(entry: EntrySeed, township: RegionSeed, level: int) -> str:
    """The department that holds a case of `entry` at whistle `level` (as routing picks
    it: the primary department at the entry's own tier, the escalation one above it)."""
    tier = {1: HandlingTier.GRID, 2: HandlingTier.TOWNSHIP, 3: HandlingTier.COUNTY}[level]
    if tier is HandlingTier.GRID:
        code = GRID_OFFICE
    elif tier is not entry.tier and entry.escalation_department:
        code = entry.escalation_department
    else:
        code = entry.primary_department
    region = township.code[:6] if tier is HandlingTier.COUNTY else township.code
    return dept_key(region, code)


def _offsets(
    plan: CasePlan,
    township: RegionSeed,
    created: datetime,
    found: Profiles,
    calendar: WorkCalendar,
    rng: random.Random,
) -> tuple[list[tuple[float, Action]], tuple[int, int] | None]:
    story = Story(plan, rng)
    entry = plan.entry
    if plan.target is S.CANCELLED:
        story.after(10, 120, A.CANCEL)
        return story.steps, None
    if plan.target is S.MERGED:
        story.after(5, 40, A.MERGE)
        return story.steps, None
    assert entry is not None
    timing = _Timing(created, calendar, plan.priority)
    town = found.townships[township.code]
    if not plan.categorised_at_creation:
        story.after(3, 30, A.CLASSIFY)
    _confirm(story)
    clock = story.t  # the department's clocks start at dispatch
    escalated = story.level < 3 and rng.random() < ESCALATE_SHARE
    if escalated:
        # Beyond the office's means: raised at once, before the ack clock's warning.
        story.at(timing.share(clock, entry.ack, rng.uniform(0.2, 0.6)), A.ESCALATE)
        _confirm(story)
        clock = story.t
    dept = found.departments.get(handler_key(entry, township, story.level), NEUTRAL)
    if not escalated and rng.random() < dept.returns:
        # Returned as not its job or a wrong address; the desk sends it again.
        story.at(timing.share(clock, entry.ack, rng.uniform(0.2, 0.6)), A.RETURN)
        story.after(10, 90, A.DISPATCH)
        _confirm(story)
        clock = story.t
    outcome = _Outcome()
    _handle(story, timing, clock, dept, town, outcome, rng)
    evaluated = rng.random() < EVALUATED[story.level]
    if evaluated:
        story.after(10, 600, A.EVALUATE)
    if rng.random() < REOPEN_SHARE:
        # The problem came back: reopened days later, routed anew and handled again.
        story.after(24 * 60, 5 * 24 * 60, A.REOPEN)
        _confirm(story)
        dept = found.departments.get(handler_key(entry, township, story.level), NEUTRAL)
        _handle(story, timing, story.t, dept, town, outcome, rng)
        if evaluated:
            story.after(10, 600, A.EVALUATE)
    followed = rng.random() < FOLLOWED_UP.get(plan.source, FOLLOWED_UP_OTHERS)
    if followed:  # a day or three after closing, in office hours or not
        story.after(12 * 60, 3 * 24 * 60, A.FOLLOW_UP)
    return story.steps, _scores(dept, town, outcome, rng) if evaluated or followed else None


def _confirm(story: Story) -> None:
    if story.state is S.AWAITING_CONFIRMATION:  # the leader signs within the half hour
        story.after(3, 18, A.CONFIRM_WHISTLE)


def _handle(
    story: Story,
    timing: _Timing,
    clock: float,
    dept: Profile,
    town: TownshipProfile,
    outcome: _Outcome,
    rng: random.Random,
) -> None:
    """The department's part (acknowledge, check in, resolve; rework), then the
    township's (verify, close), from a dispatch `clock` seconds after creation."""
    entry = story.plan.entry
    assert entry is not None
    late = rng.random() < dept.ack_late
    ack = timing.share(clock, entry.ack, rng.uniform(*LATE) if late else rng.uniform(0.1, 0.65))
    story.at(max(ack, story.t + 30), A.ACKNOWLEDGE)
    outcome.late_steps += late
    _check_in(story, timing, clock, late or rng.random() < dept.checkin_late, outcome, rng)
    can_be_late = story.level == 3
    late = can_be_late and rng.random() < dept.resolve_late
    low = story.t + 600
    high = timing.share(clock, entry.resolve, ON_TIME)
    if not late and high <= low:
        late = can_be_late
    if late:
        story.at(max(low, timing.share(clock, entry.resolve, rng.uniform(1.1, 1.9))), A.RESOLVE)
        outcome.resolved_late = True
    else:
        story.at(low + max(0.0, high - low) * rng.random() ** 1.6, A.RESOLVE)
    if rng.random() < dept.rework * town.strictness:
        outcome.reworked = True
        story.after(30, 240, A.REJECT)  # the verify clock's warning is hours away
        restarted = story.t
        _check_in(story, timing, restarted, False, outcome, rng)
        low = story.t + 600
        high = timing.share(restarted, entry.resolve, ON_TIME)
        story.at(low + max(0.0, high - low) * rng.random() ** 2, A.RESOLVE)
    verify = (DEFAULT_VERIFY.within, DEFAULT_VERIFY.unit)
    late = rng.random() < town.verify_late
    share = rng.uniform(1.1, 1.6) if late else rng.uniform(0.05, 0.65)
    story.at(max(story.t + 300, timing.share(story.t, verify, share)), A.VERIFY)
    story.after(5, 60, A.CLOSE)


def _check_in(
    story: Story,
    timing: _Timing,
    clock: float,
    late: bool,
    outcome: _Outcome,
    rng: random.Random,
) -> None:
    entry = story.plan.entry
    assert entry is not None
    low = story.t + 120
    at = timing.share(clock, entry.checkin, rng.uniform(0.2, 0.65))
    if not late and max(at, low) > timing.share(clock, entry.checkin, ON_TIME):
        late = True  # a late acknowledgement leaves no time to be on site in time
    if late:
        at = timing.share(clock, entry.checkin, rng.uniform(*LATE))
        outcome.late_steps += 1
    story.at(max(at, low), A.CHECK_IN)


def _scores(
    dept: Profile, town: TownshipProfile, outcome: _Outcome, rng: random.Random
) -> tuple[int, int]:
    """The township's score follows how the department does overall and on this case;
    the resident's is noisier."""
    mean = 2.3 + 2.6 * (1 - dept.late) + town.leniency
    mean -= 0.8 * outcome.resolved_late + 0.5 * outcome.reworked + 0.25 * outcome.late_steps
    township = _clamp(rng.gauss(mean, 0.55))
    resident = _clamp(rng.gauss(mean - 0.2, 0.8))
    return township, resident


def _clamp(value: float) -> int:
    return max(1, min(5, math.floor(value + 0.5)))
