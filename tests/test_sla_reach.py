"""An escalation always reaches someone: the pure fall-through up the chain, its record
on the `sla_escalation` event, and every rung of every demo catalogue entry in every
township of the demo city."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.clock import FrozenClock
from hub.config import Settings
from hub.db import Database
from hub.demo.city import build_city
from hub.demo.load import load_demo
from hub.deps import Hub
from hub.dispatch.loading import entry_rule
from hub.dispatch.reference import Reference, ReferenceCache
from hub.dispatch.routing import Decision, Place, route
from hub.enums import TIER_OF_WHISTLE_LEVEL, DutyStatus, Tier
from hub.sla.arming import ladder_for
from hub.sla.contacts import contacts_for
from hub.sla.engine import SlaEngine
from hub.sla.ladder import RungAction
from hub.sla.reach import CHAIN, START_OF, TAKES_THE_TASK, Contact, Rank, fall_through
from tests.helpers import Api, Auth
from tests.world import World

ON, AWAY, OFF = DutyStatus.ON_DUTY, DutyStatus.AWAY, DutyStatus.OFF


def test_b_post_away_falls_through_to_the_leader_and_says_why() -> None:
    chain = {
        Rank.B_POST: [Contact(staff_id=2, duty=AWAY)],
        Rank.LEADER: [Contact(staff_id=3)],
    }
    found = fall_through(chain, Rank.B_POST, holder_staff_id=1)
    assert found.rank is Rank.LEADER and found.contact == Contact(staff_id=3)
    assert found.takes_the_task
    assert found.as_payload() == {
        "reached": {"rank": "leader", "staff_id": 3},
        "skipped": [{"rank": "b_post", "staff_id": 2, "reason": "not on duty (away)"}],
    }


def test_a_department_with_nobody_left_hands_over_to_the_township_command() -> None:
    chain = {
        Rank.LIAISON: [Contact(staff_id=7)],  # holds the task already
        Rank.TOWNSHIP_COMMAND: [Contact(staff_id=8, duty=OFF), Contact(user_id=40)],
    }
    found = fall_through(chain, Rank.B_POST, holder_staff_id=7)
    assert found.rank is Rank.TOWNSHIP_COMMAND and found.contact == Contact(user_id=40)
    assert not found.takes_the_task  # told on the console; the task stays where it is
    assert [s["reason"] for s in found.skipped] == [
        "nobody on the roster",
        "nobody on the roster",
        "already holds the task",
        "not on duty (off)",
    ]


def test_a_chain_with_nobody_on_duty_ends_unreached_with_every_skip() -> None:
    chain = {rank: [Contact(staff_id=i + 1, duty=OFF)] for i, rank in enumerate(CHAIN)}
    found = fall_through(chain, Rank.LEADER, holder_staff_id=None)
    assert found.rank is None and found.contact is None
    assert found.as_payload()["reached"] is None
    assert [s["rank"] for s in found.skipped] == [r.value for r in CHAIN[1:]]


def test_one_person_in_two_ranks_is_asked_once() -> None:
    same = Contact(staff_id=5, duty=AWAY)
    chain = {Rank.LIAISON: [same], Rank.TOWNSHIP_COMMAND: [same, Contact(staff_id=6)]}
    found = fall_through(chain, Rank.LIAISON, holder_staff_id=None)
    assert found.contact == Contact(staff_id=6)
    assert [s["reason"] for s in found.skipped] == ["not on duty (away)", "already asked"]


# A pool of people (staff 1-6, users 100-103), each with one duty status, placed on ranks
# (one person may sit on two ranks, like a township office's liaison and command centre).
PEOPLE = [("staff_id", i) for i in range(1, 7)] + [("user_id", i) for i in range(100, 104)]


@st.composite
def chains(draw: st.DrawFn) -> dict[Rank, list[Contact]]:
    duty = {p: draw(st.sampled_from(list(DutyStatus))) for p in PEOPLE}
    people = {p: Contact(**{p[0]: p[1]}, duty=duty[p]) for p in PEOPLE}
    ranks = draw(
        st.dictionaries(st.sampled_from(CHAIN), st.lists(st.sampled_from(PEOPLE), max_size=3))
    )
    return {rank: [people[p] for p in ps] for rank, ps in ranks.items()}


@given(
    chain=chains(),
    start=st.sampled_from(CHAIN),
    holder=st.one_of(st.none(), st.integers(1, 6)),
)
def test_the_walk_reaches_the_first_eligible_person_or_says_there_is_none(
    chain: dict[Rank, list[Contact]], start: Rank, holder: int | None
) -> None:
    found = fall_through(chain, start, holder_staff_id=holder)
    walked = [(r, c) for r in CHAIN[CHAIN.index(start) :] for c in chain.get(r, [])]
    # On duty and not the holder (a user never holds a task; `holder` may be None).
    eligible = [(r, c) for r, c in walked if c.duty is ON and (c.staff_id or 0) != holder]
    if not eligible:
        assert found.rank is None and found.contact is None
    else:
        assert (found.rank, found.contact) == eligible[0]
        assert found.contact is not None
        assert holder is None or found.contact.staff_id != holder
    # Everyone passed over is on the record, each with a reason.
    passed = walked[: walked.index(eligible[0])] if eligible else walked
    people_skipped = [s for s in found.skipped if s["reason"] != "nobody on the roster"]
    assert len(people_skipped) == len(passed)
    assert all(s["reason"] for s in found.skipped)


# -- on the demo city --------------------------------------------------------------------


@pytest.fixture(scope="module")
async def demo_ref(tmp_path_factory: pytest.TempPathFactory) -> Reference:
    path: Path = tmp_path_factory.mktemp("demo-reach") / "demo.db"
    url = f"sqlite+aiosqlite:///{path}"
    assert (
        await load_demo(Settings(database_url=url), cases=0, only_if_empty=False, history_cases=0)
        == 0
    )
    db = Database(url)
    try:
        return await ReferenceCache(db).get()
    finally:
        await db.dispose()


class _CaseAt:
    """The fields the chain reads, for a case routed by `decision` in one township."""

    def __init__(self, place: Place, city_id: int, decision: Decision) -> None:
        self.department_id: int | None = decision.department_id
        self.township_id = place.township_id
        self.county_id = place.county_id
        self.city_id = city_id


def _townships(ref: Reference) -> dict[int, tuple[Place, int]]:
    """One grid's place per township, with its city."""
    out: dict[int, tuple[Place, int]] = {}
    for grid in ref.grids.values():
        place = Place(grid.grid_id, grid.community_id, grid.township_id, grid.county_id)
        out.setdefault(grid.township_id, (place, grid.city_id))
    return out


def _notified(ref: Reference, case: _CaseAt, holder: int | None, action: RungAction) -> Any:
    if action in START_OF:
        return fall_through(contacts_for(ref, case), START_OF[action], holder_staff_id=holder)
    return None


async def test_every_rung_of_every_demo_entry_in_every_township_reaches_someone(
    demo_ref: Reference,
) -> None:
    ref = demo_ref
    townships = _townships(ref)
    city = build_city()
    assert len(townships) == len(city.of_tier(Tier.TOWNSHIP))
    assert len(ref.current) == len(city.entries)
    checked = pushes = fell_through = 0
    for entry in ref.current.values():
        rule = entry_rule(entry)
        ladder = ladder_for(entry)
        for place, city_id in townships.values():
            decision = route(rule, place, ref.roster(place))
            if not isinstance(decision, Decision):
                continue  # waits for a dispatcher: no clock runs, no rung fires
            holders = [(decision, decision.staff_id)]
            if decision.whistle_level < 3:  # what a raised whistle goes to
                raised = route(
                    rule,
                    place,
                    ref.roster(place),
                    tier=TIER_OF_WHISTLE_LEVEL[decision.whistle_level + 1],
                )
                if isinstance(raised, Decision):
                    holders.append((raised, raised.staff_id))
            for routed, holder in holders:
                case = _CaseAt(place, city_id, routed)
                for rung in ladder.rungs:
                    reached = [_notified(ref, case, holder, a) for a in rung.actions]
                    pushed = [r for r in reached if r is not None]
                    for found in pushed:
                        assert found.contact is not None, (entry.code, place, rung, found)
                        pushes += 1
                        fell_through += bool(found.skipped)
                    # A rung with no escalation tells the holder; one with escalations
                    # tells whoever each reached. Nobody at all is never the answer.
                    assert holder is not None or pushed, (entry.code, place, rung)
                    checked += 1
    assert checked > 1000 and pushes > 500
    assert fell_through > 0  # the demo city does make the walk go past people


# -- on the timeline ---------------------------------------------------------------------


@pytest.fixture
def api(client: httpx.AsyncClient, auth: Auth) -> Api:
    return Api(client, auth)


async def test_push_backup_with_no_b_post_reaches_the_township_command_on_record(
    api: Api, hub: Hub, world: World, clock: FrozenClock
) -> None:
    # C02: housing, county tier; the world's housing bureau has only a liaison, who gets
    # the task. Nobody above them in the department: the township's command centre.
    case = await api.create(title="房屋漏水", category_code="C02")
    assert case["assigned_staff_id"] == world.staff["housing_liaison"]
    clock.advance(timedelta(hours=1))
    await SlaEngine(hub, worker_id="t").run_due()
    events = [e for e in await api.events(case["id"]) if e["type"] == "sla_escalation"]
    assert len(events) == 1
    p = events[0]["payload"]
    assert p["action"] == "push_backup" and p["outcome"] == "notified"
    assert p["reached"] == {
        "rank": "township_command",
        "staff_id": world.staff["grid_office_liaison"],
    }
    assert [(s["rank"], s["reason"]) for s in p["skipped"]] == [
        ("b_post", "nobody on the roster"),
        ("leader", "nobody on the roster"),
        ("liaison", "already holds the task"),
    ]
    # Told, not handed the task: the department keeps it.
    assert (await api.get(case["id"]))["assigned_staff_id"] == world.staff["housing_liaison"]


def test_only_the_departments_own_people_take_the_task() -> None:
    assert {Rank.B_POST, Rank.LEADER, Rank.LIAISON} == TAKES_THE_TASK
    assert set(START_OF) == {
        RungAction.PUSH_BACKUP,
        RungAction.PUSH_LEADER,
        RungAction.FLAG_TOWNSHIP,
        RungAction.SUPERVISE_COUNTY,
        RungAction.SUPERVISE_CITY,
    }
