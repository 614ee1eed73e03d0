"""The live-push benchmark's world: the demo city plus enough staff to fill 1,900 inboxes.

The demo city (`hub.demo.load.load_demo`: 3 counties, 8 townships, 239 grids) has one A
post per department and township, about 100 in all, and a post is unique per (department,
township, slot). So each county gets `DESKS` extra departments `desk000..` (county
bureaus' duty desks) with a catalogue entry `BD000..` each (county tier, no leader's
confirmation), and every township an on-duty A post with its own staff member on the
desks of its county, 1,900 posts in all. A case in township T with category BDnnn is then
routed to exactly one of these people: the benchmark knows whose inbox must get it.

Walls and consoles: 10 city walls, 10 county walls per county, and 60 township dispatcher
consoles spread over the townships. Rows are inserted directly, before the hub process
starts (so no reference-data version needs bumping)."""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlmodel import col, select

from hub.auth.models import User
from hub.auth.security import issue_token
from hub.catalogue.models import CatalogueEntry
from hub.config import Settings
from hub.db import Database
from hub.demo.load import load_demo
from hub.enums import (
    CaseClass,
    DepartmentKind,
    DutyStatus,
    HandlingTier,
    PostMode,
    PostSlot,
    Role,
    StaffRole,
    Tier,
    TimeUnit,
)
from hub.org.models import Department, Post, Staff
from hub.regions.models import Region

INBOXES = 1900
DESKS = -(-INBOXES // 8)  # 238: one desk per inbox in the largest township share
CITY_WALLS, WALLS_PER_COUNTY, TOWNSHIP_CONSOLES = 10, 10, 60


@dataclass(frozen=True)
class Inbox:
    user_id: int
    staff_id: int
    township_id: int
    township_code: str
    county_id: int
    category: str  # the catalogue code routed to this person in their township
    grids: tuple[str, ...]  # grid codes of their township


@dataclass(frozen=True)
class Watcher:
    user_id: int
    tier: str  # city | county | township
    region_id: int
    region_code: str


@dataclass
class BenchWorld:
    admin_id: int
    city_id: int
    inboxes: list[Inbox] = field(default_factory=list)
    watchers: list[Watcher] = field(default_factory=list)


def token(user_id: int, secret: str) -> str:
    now = datetime.now(UTC)
    return issue_token(
        user_id=user_id, token_version=0, secret=secret, now=now, ttl_s=4 * 3600, kind="access"
    )


async def build(url: str) -> BenchWorld:
    """Migrate, load the demo city, add the benchmark's desks, staff and users."""
    with contextlib.redirect_stdout(io.StringIO()):
        if await load_demo(Settings(database_url=url), cases=0, only_if_empty=False) != 0:
            raise RuntimeError("the demo city did not load into a fresh database")
    db = Database(url)
    try:
        return await _add_bench_rows(db)
    finally:
        await db.dispose()


async def _add_bench_rows(db: Database) -> BenchWorld:
    now = datetime.now(UTC)
    async with db.transaction() as s:
        regions = (await s.exec(select(Region).order_by(col(Region.code)))).all()
        by_tier: dict[Tier, list[Region]] = {t: [r for r in regions if r.tier is t] for t in Tier}
        ids = {r.code: _id(r.id) for r in regions}
        city = by_tier[Tier.CITY][0]
        admin = (await s.exec(select(User).where(User.username == "admin"))).one()
        world = BenchWorld(admin_id=_id(admin.id), city_id=_id(city.id))

        desks: dict[tuple[str, int], Department] = {}
        for county in by_tier[Tier.COUNTY]:
            for d in range(DESKS):
                desks[(county.code, d)] = Department(
                    code=f"desk{d:03d}",
                    kind=DepartmentKind.COUNTY,
                    region_id=_id(county.id),
                    name_zh=f"{county.name_zh}值班台{d}",
                    name_en=f"{county.name_en} duty desk {d}",
                )
        s.add_all(desks.values())
        s.add_all(_entry(d, now) for d in range(DESKS))
        await s.flush()

        townships = by_tier[Tier.TOWNSHIP]
        grids = {
            t.code: tuple(g.code for g in by_tier[Tier.GRID] if g.code.startswith(t.code))
            for t in townships
        }
        share = [
            INBOXES // len(townships) + (i < INBOXES % len(townships))
            for i in range(len(townships))
        ]
        seats: list[tuple[Region, int, Staff]] = []
        for town, n in zip(townships, share, strict=True):
            for d in range(n):
                member = Staff(
                    name=f"{town.name_zh}值班{d}",
                    department_id=desks[(town.code[:6], d)].id,
                    region_id=_id(town.id),
                    role=StaffRole.MEMBER,
                    duty_status=DutyStatus.ON_DUTY,
                )
                seats.append((town, d, member))
        s.add_all(m for _, _, m in seats)
        await s.flush()
        s.add_all(
            Post(
                department_id=_id(desks[(town.code[:6], d)].id),
                township_id=_id(town.id),
                slot=PostSlot.A,
                mode=PostMode.RESIDENT,
                staff_id=_id(member.id),
            )
            for town, d, member in seats
        )
        staff_users = [
            User(
                username=f"bench-staff-{i}",
                display_name=member.name,
                password_hash="!",  # no password logins: tokens are minted directly
                role=Role.DEPT_STAFF,
                region_id=town.id,
                department_id=member.department_id,
                staff_id=member.id,
                created_at=now,
            )
            for i, (town, _, member) in enumerate(seats)
        ]
        watch: list[tuple[Region, Role]] = [(city, Role.WALL)] * CITY_WALLS
        for county in by_tier[Tier.COUNTY]:
            watch += [(county, Role.WALL)] * WALLS_PER_COUNTY
        watch += [
            (townships[i % len(townships)], Role.DISPATCHER) for i in range(TOWNSHIP_CONSOLES)
        ]
        watch_users = [
            User(
                username=f"bench-{region.tier.value}-{i}",
                display_name=f"{region.name_zh} {role.value} {i}",
                password_hash="!",
                role=role,
                region_id=region.id,
                created_at=now,
            )
            for i, (region, role) in enumerate(watch)
        ]
        s.add_all(staff_users + watch_users)
        await s.flush()
        for user, (town, d, member) in zip(staff_users, seats, strict=True):
            world.inboxes.append(
                Inbox(
                    user_id=_id(user.id),
                    staff_id=_id(member.id),
                    township_id=_id(town.id),
                    township_code=town.code,
                    county_id=ids[town.code[:6]],
                    category=f"BD{d:03d}",
                    grids=grids[town.code],
                )
            )
        for user, (region, _) in zip(watch_users, watch, strict=True):
            world.watchers.append(
                Watcher(_id(user.id), region.tier.value, _id(region.id), region.code)
            )
    return world


def _entry(d: int, now: datetime) -> CatalogueEntry:
    return CatalogueEntry(
        code=f"BD{d:03d}",
        version=1,
        is_current=True,
        name_zh=f"值班台事项{d}",
        name_en=f"Duty desk matter {d}",
        pinyin=f"zhi ban tai shi xiang {d}",
        case_class=CaseClass.EVENT,
        tier=HandlingTier.COUNTY,
        primary_department=f"desk{d:03d}",
        cooperating_departments=[],
        escalation_department=None,
        ack_within=30,
        ack_unit=TimeUnit.MINUTES,
        checkin_within=2,
        checkin_unit=TimeUnit.HOURS,
        resolve_within=5,
        resolve_unit=TimeUnit.WORK_DAYS,
        needs_confirmation=False,
        created_at=now,
    )


def _id(value: int | None) -> int:
    assert value is not None, "flushed rows have ids"
    return value
