"""The demo's months of history (`hub demo --history-cases`): finished cases, departments
and townships that do well and badly, evaluations and follow-ups, and enough in a month for
the assessment reports to tell departments apart."""

from __future__ import annotations

import contextlib
import io
import random
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.assessment.periods import PeriodKind, local_day, period_of
from hub.assessment.projection import AssessmentProjection
from hub.assessment.reports import report as assessment_report
from hub.cases.events import checked
from hub.cases.machine import CaseState
from hub.cases.models import Case, CaseEvent
from hub.cli import build_parser
from hub.clock import SHANGHAI, FrozenClock
from hub.db import Database
from hub.demo.city import SEED, build_city
from hub.demo.history import plan_history, profiles
from hub.demo.load import load_demo
from hub.demo.scenarios import walk
from hub.enums import (
    Tier,
)
from hub.metrics import Metrics
from hub.outbox.consumer import step
from hub.realtime.bus import MemoryBus
from hub.realtime.relay import Relay
from hub.regions.models import Region
from hub.sla.calendar import WorkCalendar
from tests.test_demo import (
    DEMO_NOW,
    Loaded,
    _settings,
    assert_events_rebuild_cases,
    assert_rungs_fired_on_time,
)

HISTORY_CASES = 180  # small: the default (700) takes about a minute to load
HISTORY_DAYS = 120
HISTORY_RECENT = 20
RECENT_WINDOW = timedelta(days=3)


@pytest.fixture(scope="module")
async def history_load(tmp_path_factory: pytest.TempPathFactory) -> Loaded:
    path = tmp_path_factory.mktemp("history") / "history.db"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        loaded = await load_demo(
            _settings(path),
            cases=HISTORY_RECENT,
            only_if_empty=False,
            now=DEMO_NOW,
            history_days=HISTORY_DAYS,
            history_cases=HISTORY_CASES,
        )
    assert loaded == 0, printed.getvalue()
    return Loaded(path, DEMO_NOW, printed.getvalue())


@pytest.fixture
async def history_session(history_load: Loaded) -> AsyncIterator[AsyncSession]:
    db = Database(_settings(history_load.path).database_url)
    async with db.read() as s:
        yield s
    await db.dispose()


def _older(cases: Sequence[Case], now: datetime) -> list[Case]:
    return [c for c in cases if c.created_at < now - RECENT_WINDOW]


async def test_history_spans_months_of_finished_cases(
    history_load: Loaded, history_session: AsyncSession
) -> None:
    now = history_load.now
    cases = (await history_session.exec(select(Case))).all()
    older = _older(cases, now)
    assert len(older) == HISTORY_CASES
    assert len(cases) - len(older) == HISTORY_RECENT, "the recent picture is still there"
    created = [c.created_at for c in older]
    assert min(created) <= now - timedelta(days=90)
    assert min(created) >= now - timedelta(days=HISTORY_DAYS, minutes=5)
    states = Counter(c.state for c in older)
    assert set(states) == {CaseState.CLOSED, CaseState.CANCELLED, CaseState.MERGED}
    assert states[CaseState.CLOSED] >= 0.85 * len(older)
    assert any(c.rework_count > 0 for c in older)
    # Every step of the history comes before the recent days.
    older_ids = [c.id for c in older]
    last = (
        await history_session.exec(
            select(func.max(CaseEvent.at)).where(col(CaseEvent.case_id).in_(older_ids))
        )
    ).one()
    assert last is not None and last < now - RECENT_WINDOW
    kinds = {
        e.type
        for e in (
            await history_session.exec(
                select(CaseEvent).where(col(CaseEvent.case_id).in_(older_ids))
            )
        ).all()
    }
    assert {"returned", "reopened", "rejected", "evaluated", "merged", "cancelled"} <= kinds
    assert {"sla_warning", "sla_breach"} <= kinds, "late departments run into the ladder"


def _on_time_rates(cases: Sequence[Case], at_least: int) -> dict[int, float]:
    """Each department's share of resolutions by the case's original resolve due time."""
    met: dict[int, list[bool]] = {}
    for c in cases:
        if c.department_id is None or c.resolved_at is None:
            continue
        if c.original_resolve_due_at is None:
            continue
        met.setdefault(c.department_id, []).append(c.resolved_at <= c.original_resolve_due_at)
    return {d: sum(m) / len(m) for d, m in met.items() if len(m) >= at_least}


async def test_departments_do_well_and_badly(
    history_load: Loaded, history_session: AsyncSession
) -> None:
    older = _older((await history_session.exec(select(Case))).all(), history_load.now)
    rates = _on_time_rates(older, at_least=5)
    assert len(rates) >= 8
    assert max(rates.values()) - min(rates.values()) >= 0.30, rates


async def test_closed_whistles_are_evaluated_by_how_the_department_did(
    history_load: Loaded, history_session: AsyncSession
) -> None:
    older = _older((await history_session.exec(select(Case))).all(), history_load.now)
    whistles = [c for c in older if c.state is CaseState.CLOSED and (c.whistle_level or 1) >= 2]
    scored = [c for c in whistles if c.township_score is not None]
    assert len(scored) >= 0.8 * len(whistles)
    assert len({c.township_score for c in scored}) >= 3
    # Bad work gets lower scores: the late cases' mean is below the punctual ones'.
    by_timeliness: dict[bool, list[int]] = {True: [], False: []}
    for c in scored:
        if c.township_score is not None and c.resolved_at and c.original_resolve_due_at:
            by_timeliness[c.resolved_at <= c.original_resolve_due_at].append(c.township_score)
    late, punctual = by_timeliness[False], by_timeliness[True]
    assert late and punctual
    assert sum(late) / len(late) < sum(punctual) / len(punctual) - 0.3


async def test_history_events_fold_back_and_are_in_the_catalogue(
    history_session: AsyncSession,
) -> None:
    await assert_events_rebuild_cases(history_session)
    for event in (await history_session.exec(select(CaseEvent))).all():
        checked(event.type, event.payload)


async def test_every_history_rung_fires_at_its_own_moment(history_load: Loaded) -> None:
    await assert_rungs_fired_on_time(history_load)


def test_history_loads_without_refused_or_skipped_steps(history_load: Loaded) -> None:
    lines = history_load.output.splitlines()
    assert any(line.startswith("history ") for line in lines), history_load.output
    refused = [line for line in lines if line.lstrip().startswith("!") or "not taken" in line]
    assert refused == []


@pytest.mark.parametrize("seed", [SEED, 1, 2])
def test_every_history_step_is_legal_and_before_the_recent_days(seed: int) -> None:
    plans = plan_history(
        build_city(), 600, HISTORY_DAYS, DEMO_NOW, WorkCalendar(), random.Random(seed)
    )
    assert len(plans) == 600
    assert [walk(p) for p in plans] == [p.target for p in plans]
    assert all(at < DEMO_NOW - RECENT_WINDOW for p in plans for at, _ in p.steps)
    assert all(p.created_at >= DEMO_NOW - timedelta(days=HISTORY_DAYS) for p in plans)


def test_history_volume_varies_by_month_and_repeats_at_one_place() -> None:
    plans = plan_history(
        build_city(), 2400, HISTORY_DAYS, DEMO_NOW, WorkCalendar(), random.Random(SEED)
    )
    # Whole months of the history (T0 is 23 November: August to October).
    months = Counter(p.created_at.astimezone(SHANGHAI).month for p in plans)
    full = [months[m] for m in (8, 9, 10)]
    assert max(full) >= 1.1 * min(full), months
    categories = Counter(p.entry.code for p in plans if p.entry is not None)
    assert max(categories.values()) >= 3 * min(categories.values())
    by_place: dict[tuple[str, str], list[datetime]] = {}
    for p in plans:
        if p.entry is not None:
            by_place.setdefault((p.grid.code, p.entry.code), []).append(p.created_at)
    repeats = [
        times
        for times in by_place.values()
        if len(times) >= 3 and max(times) - min(times) <= timedelta(days=7)
    ]
    assert len(repeats) >= 10


def test_history_profiles_spread_from_good_to_bad() -> None:
    found = profiles(build_city(), random.Random(SEED))
    late = [p.resolve_late for p in found.departments.values()]
    assert min(late) <= 0.05 and max(late) >= 0.4


def test_demo_command_takes_the_history_options() -> None:
    args = build_parser().parse_args(["demo", "--history-days", "30", "--history-cases", "5"])
    assert (args.history_days, args.history_cases) == (30, 5)
    default = build_parser().parse_args(["demo"])
    assert default.history_days >= 90 and default.history_cases >= 500


async def test_history_has_follow_ups_and_reasoned_evaluations(
    history_session: AsyncSession,
) -> None:
    events = (
        await history_session.exec(
            select(CaseEvent).where(col(CaseEvent.type).in_(["followed_up", "evaluated"]))
        )
    ).all()
    answers = Counter(e.payload["satisfaction"] for e in events if e.type == "followed_up")
    assert set(answers) == {"satisfied", "basically_satisfied", "unsatisfied"}, answers
    good = {"resolved_well", "quick_to_report", "good_coordination"}
    for e in events:
        if e.type == "evaluated":
            assert e.payload["reasons"], e.payload
            if e.payload["township_score"] >= 4:
                assert set(e.payload["reasons"]) <= good
            if e.payload["township_score"] <= 2:
                assert not set(e.payload["reasons"]) & good


async def test_the_history_gives_the_monthly_rankings_something_to_tell_apart(
    history_load: Loaded,
) -> None:
    """Folded into the assessment projection, a month of the history ranks departments
    with scores that differ, and its report has a trend, categories and a heat map."""
    db = Database(_settings(history_load.path).database_url)
    clock = FrozenClock(history_load.now)
    try:
        relay = Relay(db, MemoryBus(), Metrics(), clock)
        while await relay.assign():
            pass
        while await step(db, AssessmentProjection(), clock.now()):
            pass
        month = period_of(PeriodKind.MONTH, local_day(history_load.now - timedelta(days=40)))
        async with db.read() as s:
            city = (await s.exec(select(Region).where(Region.tier == Tier.CITY))).one()
            report = await assessment_report(s, city, month, clock.now())
    finally:
        await db.dispose()
    scores = [d["score"] for d in report["departments"] if d["score"] is not None]
    assert len(scores) >= 5 and max(scores) - min(scores) >= 10, scores
    assert len({d["rank"] for d in report["departments"] if d["rank"]}) >= 5
    assert sum(day["created"] for day in report["trend"]) > 20
    assert len(report["categories"]) >= 5 and report["heatmap"]["values"]
    summary = {s["indicator"]: s for s in report["summary"]}
    assert summary["satisfaction_rate"]["denominator"] > 0
    assert 0 < summary["closed_on_time"]["value"] < 1
