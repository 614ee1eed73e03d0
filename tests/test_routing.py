"""Properties of the pure router over generated catalogues and rosters."""

from __future__ import annotations

from dataclasses import asdict

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.dispatch.routing import (
    GRID_OFFICE,
    AccessRuleViolation,
    Decision,
    DeptInfo,
    EntryRule,
    Place,
    PostInfo,
    Roster,
    Undecided,
    route,
    tier_rank,
)
from hub.enums import DepartmentKind, DutyStatus, HandlingTier, PostSlot

PLACE = Place(grid_id=1000, community_id=100, township_id=10, county_id=1)
OTHER_TOWNSHIP = 11
CODES = ["police", "urban", "housing", "market", "water"]


@st.composite
def entries(draw: st.DrawFn) -> EntryRule:
    tier = draw(st.sampled_from(list(HandlingTier)))
    primary = GRID_OFFICE if tier is HandlingTier.GRID else draw(st.sampled_from(CODES))
    return EntryRule(
        entry_id=draw(st.integers(1, 99)),
        code=draw(st.sampled_from(["A01", "B02", "C03"])),
        tier=tier,
        primary_department=primary,
        cooperating_departments=tuple(draw(st.lists(st.sampled_from(CODES), max_size=3))),
        escalation_department=draw(st.none() | st.sampled_from(CODES)),
        needs_confirmation=draw(st.booleans()),
    )


@st.composite
def rosters(draw: st.DrawFn) -> Roster:
    depts: list[DeptInfo] = []
    next_id = 1
    for region, kind in (
        (1, DepartmentKind.COUNTY),
        (10, DepartmentKind.TOWNSHIP),
        (OTHER_TOWNSHIP, DepartmentKind.TOWNSHIP),
    ):
        pool = CODES + ([GRID_OFFICE] if kind is DepartmentKind.TOWNSHIP else [])
        for code in draw(st.lists(st.sampled_from(pool), unique=True)):
            depts.append(DeptInfo(id=next_id, code=code, kind=kind, region_id=region))
            next_id += 1
    posts = []
    staff_id = 500
    for dept in depts:
        for slot in PostSlot:
            if draw(st.booleans()):
                staff_id += 1
                posts.append(
                    PostInfo(
                        department_id=dept.id,
                        township_id=draw(st.sampled_from([10, OTHER_TOWNSHIP])),
                        slot=slot,
                        staff_id=staff_id,
                        duty_status=draw(st.sampled_from(list(DutyStatus))),
                    )
                )
    liaisons = tuple((d.id, 900 + d.id) for d in depts if draw(st.booleans()))
    workers = tuple(draw(st.lists(st.integers(800, 810), max_size=2, unique=True)))
    return Roster(
        departments=tuple(depts),
        posts=tuple(posts),
        liaisons=liaisons,
        grid_workers_on_duty=workers,
    )


def _dept(roster: Roster, dept_id: int) -> DeptInfo:
    return next(d for d in roster.departments if d.id == dept_id)


@given(entries(), rosters())
def test_a_routed_case_lands_on_a_department_whose_list_covers_it(
    entry: EntryRule, roster: Roster
) -> None:
    decision = route(entry, PLACE, roster)
    if isinstance(decision, Undecided):
        # Only when the responsible department does not exist where it must.
        assert not any(
            d.code == entry.primary_department
            and d.region_id
            == (PLACE.county_id if entry.tier is HandlingTier.COUNTY else PLACE.township_id)
            for d in roster.departments
        )
        return
    dept = _dept(roster, decision.department_id)
    assert dept.code == entry.primary_department
    assert decision.tier is entry.tier
    expected_region = PLACE.county_id if entry.tier is HandlingTier.COUNTY else PLACE.township_id
    assert dept.region_id == expected_region
    assert (
        decision.whistle_level
        == {HandlingTier.GRID: 1, HandlingTier.TOWNSHIP: 2, HandlingTier.COUNTY: 3}[entry.tier]
    )
    assert decision.reasons
    assert decision.as_dict() == asdict(decision)  # what the dispatch event records


@given(entries(), rosters())
def test_access_rule_county_matters_never_go_to_the_township(
    entry: EntryRule, roster: Roster
) -> None:
    decision = route(entry, PLACE, roster)
    if isinstance(decision, Decision) and entry.tier is HandlingTier.COUNTY:
        assert _dept(roster, decision.department_id).kind is DepartmentKind.COUNTY
    for lower in HandlingTier:
        if tier_rank(lower) < tier_rank(entry.tier):
            with pytest.raises(AccessRuleViolation):
                route(entry, PLACE, roster, tier=lower)
    for dept in roster.departments:
        if dept.kind is DepartmentKind.TOWNSHIP and entry.tier is HandlingTier.COUNTY:
            with pytest.raises(AccessRuleViolation):
                route(entry, PLACE, roster, department_id=dept.id)


@given(entries(), rosters())
def test_a_then_b_then_liaison(entry: EntryRule, roster: Roster) -> None:
    decision = route(entry, PLACE, roster)
    if not isinstance(decision, Decision):
        return
    on_duty = {
        p.slot: p.staff_id
        for p in reversed(roster.posts)
        if p.department_id == decision.department_id
        and p.township_id == PLACE.township_id
        and p.duty_status is DutyStatus.ON_DUTY
    }
    liaison = next((s for d, s in roster.liaisons if d == decision.department_id), None)
    expected: tuple[int | None, str]
    if decision.tier is HandlingTier.GRID and roster.grid_workers_on_duty:
        expected = (roster.grid_workers_on_duty[0], "grid_worker")
    elif PostSlot.A in on_duty:
        expected = (on_duty[PostSlot.A], "post_A")
    elif PostSlot.B in on_duty:
        expected = (on_duty[PostSlot.B], "post_B")
    elif liaison is not None:
        expected = (liaison, "liaison")
    else:
        expected = (None, "none")
    assert (decision.staff_id, decision.notified_via) == expected


@given(entries(), rosters())
def test_raising_the_whistle_climbs_tiers_and_confirmation_only_at_level_3(
    entry: EntryRule, roster: Roster
) -> None:
    for tier in HandlingTier:
        if tier_rank(tier) < tier_rank(entry.tier):
            continue
        decision = route(entry, PLACE, roster, tier=tier)
        if isinstance(decision, Decision):
            assert decision.tier is tier
            # Level 3 waits for the township leader when the entry asks for it or the
            # whistle was raised to it from a lower tier.
            assert decision.needs_confirmation == (
                tier is HandlingTier.COUNTY and (entry.needs_confirmation or tier is not entry.tier)
            )
            confirmed = route(entry, PLACE, roster, tier=tier, confirmed=True)
            assert isinstance(confirmed, Decision)
            assert not confirmed.needs_confirmation


def test_no_category_waits_for_a_person() -> None:
    decision = route(None, PLACE, Roster(departments=()))
    assert isinstance(decision, Undecided)
    assert "category" in decision.reason
