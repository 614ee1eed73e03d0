"""Routing's reference data (grids, catalogue, departments, posts, duty) held in memory.

Every create and dispatch needs it, and reading it from the database cost five queries a
case. A `reference_version` row is bumped in the same transaction as any change to that
data; this process drops its copy at once when it makes the change itself, and otherwise
re-checks the version at most every `RECHECK_S`, so a change made through another hub
process reaches routing within that long."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import text
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.auth.models import User
from hub.catalogue.models import CatalogueEntry
from hub.clock import Clock, SystemClock
from hub.db import Database
from hub.dispatch.routing import DeptInfo, Place, PostInfo, Roster
from hub.enums import DutyStatus, Role, StaffRole, Tier
from hub.org.models import Department, Post, Staff
from hub.regions.models import CODE_LENGTH, Region
from hub.regions.queries import GridPlace
from hub.sla.calendar import WorkCalendar
from hub.sla.models import CalendarDay

RECHECK_S = 1.0
# The users a command centre's part of the escalation chain tells (by region).
COMMAND_ROLES = (Role.TOWNSHIP_LEADER, Role.DISPATCHER, Role.COMMANDER)


@dataclass(frozen=True)
class StaffInfo:
    staff_id: int
    role: StaffRole
    duty: DutyStatus


@dataclass(frozen=True)
class Reference:
    version: int
    grids: dict[str, GridPlace]
    current: dict[str, CatalogueEntry]  # code -> the current version
    entries: dict[int, CatalogueEntry]  # id -> any version (cases keep theirs)
    departments: dict[int, tuple[DeptInfo, ...]]  # region id -> its departments
    posts: dict[int, tuple[PostInfo, ...]]  # township id -> posts there
    liaisons: dict[int, tuple[tuple[int, int], ...]]  # region id -> (dept, staff) on duty
    grid_workers: dict[int, tuple[int, ...]]  # grid id -> grid workers on duty
    # Everyone the escalation chain may walk past, on duty or not (hub.sla.contacts).
    staff_of: dict[int, tuple[StaffInfo, ...]]  # department id -> its staff, in id order
    command_users: dict[int, tuple[tuple[int, Role], ...]]  # region id -> command users
    # The working calendar with the admin-entered days: deadlines and routing share it.
    calendar: WorkCalendar

    def roster(self, place: Place) -> Roster:
        return Roster(
            departments=self.departments.get(place.county_id, ())
            + self.departments.get(place.township_id, ()),
            posts=self.posts.get(place.township_id, ()),
            liaisons=self.liaisons.get(place.county_id, ())
            + self.liaisons.get(place.township_id, ()),
            grid_workers_on_duty=self.grid_workers.get(place.grid_id, ()),
        )


async def bump(session: AsyncSession) -> None:
    """Call inside the transaction that changes reference data."""
    conn = await session.connection()
    await conn.execute(text("UPDATE reference_version SET version = version + 1"))


async def read_version(session: AsyncSession) -> int:
    conn = await session.connection()
    return int((await conn.execute(text("SELECT version FROM reference_version"))).scalar_one())


class ReferenceCache:
    def __init__(
        self, db: Database, calendar: WorkCalendar | None = None, clock: Clock | None = None
    ) -> None:
        self.db = db
        self.clock = clock or SystemClock()
        self.base_calendar = calendar or WorkCalendar()
        self._ref: Reference | None = None
        self._checked_at = 0.0
        self._lock = asyncio.Lock()

    def invalidate(self) -> None:
        self._ref = None

    async def invalidated(self) -> None:
        """An after-commit hook: the change is in; this process forgets its copy now."""
        self.invalidate()

    async def get(self) -> Reference:
        ref = self._ref
        if ref is not None and self.clock.monotonic() - self._checked_at < RECHECK_S:
            return ref
        async with self._lock:
            async with self.db.read() as session:
                version = await read_version(session)
                if self._ref is None or self._ref.version != version:
                    self._ref = await _load(session, version, self.base_calendar)
            self._checked_at = self.clock.monotonic()
            return self._ref


async def _load(session: AsyncSession, version: int, base: WorkCalendar) -> Reference:
    regions = (await session.exec(select(Region))).all()
    by_code = {r.code: r for r in regions}
    grids: dict[str, GridPlace] = {}
    for region in regions:
        if region.tier is not Tier.GRID:
            continue
        chain = [by_code.get(region.code[: CODE_LENGTH[t]]) for t in Tier]
        if all(r is not None and r.id is not None for r in chain):
            city, county, township, community, grid = (r.id for r in chain if r is not None)
            assert None not in (city, county, township, community, grid)
            grids[region.code] = GridPlace(grid, community, township, county, city)  # type: ignore[arg-type]
    entries = {e.id: e for e in (await session.exec(select(CatalogueEntry))).all() if e.id}
    current = {e.code: e for e in entries.values() if e.is_current}
    departments: dict[int, list[DeptInfo]] = defaultdict(list)
    for d in (await session.exec(select(Department).order_by(col(Department.id)))).all():
        assert d.id is not None
        departments[d.region_id].append(DeptInfo(d.id, d.code, d.kind, d.region_id))
    dept_region = {d.id: region for region, ds in departments.items() for d in ds}
    staff = {s.id: s for s in (await session.exec(select(Staff).order_by(col(Staff.id)))).all()}
    posts: dict[int, list[PostInfo]] = defaultdict(list)
    for p in (await session.exec(select(Post).order_by(col(Post.id)))).all():
        member = staff.get(p.staff_id)
        if member is not None:
            posts[p.township_id].append(
                PostInfo(p.department_id, p.township_id, p.slot, p.staff_id, member.duty_status)
            )
    liaisons: dict[int, list[tuple[int, int]]] = defaultdict(list)
    workers: dict[int, list[int]] = defaultdict(list)
    staff_of: dict[int, list[StaffInfo]] = defaultdict(list)
    for member in staff.values():
        if member.id is not None and member.department_id is not None:
            staff_of[member.department_id].append(
                StaffInfo(member.id, member.role, member.duty_status)
            )
    for member in staff.values():
        if member.duty_status is not DutyStatus.ON_DUTY or member.id is None:
            continue
        if member.role is StaffRole.LIAISON and member.department_id in dept_region:
            liaisons[dept_region[member.department_id]].append((member.department_id, member.id))
        elif member.role is StaffRole.GRID_WORKER:
            workers[member.region_id].append(member.id)
    command_users: dict[int, list[tuple[int, Role]]] = defaultdict(list)
    users = select(User).where(col(User.role).in_(COMMAND_ROLES), col(User.disabled).is_(False))
    for user in (await session.exec(users.order_by(col(User.id)))).all():
        if user.id is not None and user.region_id is not None:
            command_users[user.region_id].append((user.id, user.role))
    days = (await session.exec(select(CalendarDay))).all()
    return Reference(
        version=version,
        grids=grids,
        current=current,
        entries=entries,
        departments={k: tuple(v) for k, v in departments.items()},
        posts={k: tuple(v) for k, v in posts.items()},
        liaisons={k: tuple(v) for k, v in liaisons.items()},
        grid_workers={k: tuple(v) for k, v in workers.items()},
        staff_of={k: tuple(v) for k, v in staff_of.items()},
        command_users={k: tuple(v) for k, v in command_users.items()},
        calendar=base.with_days(days),
    )
