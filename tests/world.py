"""A small, fully known world for tests: two counties, three townships, a handful of
grids, the departments and posts the routing rules need, and one user per role."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.auth.models import User
from hub.auth.security import hash_password
from hub.catalogue.models import CatalogueEntry
from hub.db import Database
from hub.dispatch.routing import GRID_OFFICE
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
from hub.sla.models import SLA_USER

PASSWORD = "test-pass"
T0 = datetime.fromisoformat("2026-11-23T02:00:00+00:00")  # Monday 10:00 in Shanghai

REGIONS = [
    ("3399", Tier.CITY, "江城市", "Jiangcheng"),
    ("339901", Tier.COUNTY, "东湖区", "Donghu District"),
    ("339901001", Tier.TOWNSHIP, "东门街道", "Dongmen Street"),
    ("339901001001", Tier.COMMUNITY, "东一社区", "Dongyi Community"),
    ("339901001001001", Tier.GRID, "东一1网格", "Dongyi Grid 1"),
    ("339901001001002", Tier.GRID, "东一2网格", "Dongyi Grid 2"),
    ("339901002", Tier.TOWNSHIP, "西门街道", "Ximen Street"),
    ("339901002001", Tier.COMMUNITY, "西一社区", "Xiyi Community"),
    ("339901002001001", Tier.GRID, "西一1网格", "Xiyi Grid 1"),
    ("339902", Tier.COUNTY, "南山县", "Nanshan County"),
    ("339902001", Tier.TOWNSHIP, "南山镇", "Nanshan Town"),
    ("339902001001", Tier.COMMUNITY, "南山村", "Nanshan Village"),
    ("339902001001001", Tier.GRID, "南山1网格", "Nanshan Grid 1"),
]

CATALOGUE = [
    # code, tier, primary, cooperating, escalation, confirm, (ack, checkin, resolve)
    (
        "G01",
        HandlingTier.GRID,
        GRID_OFFICE,
        [],
        "urban",
        False,
        ((30, TimeUnit.MINUTES), (1, TimeUnit.HOURS), (1, TimeUnit.DAYS)),
    ),
    (
        "T01",
        HandlingTier.TOWNSHIP,
        "urban",
        [],
        "urban",
        False,
        ((30, TimeUnit.MINUTES), (2, TimeUnit.HOURS), (3, TimeUnit.WORK_DAYS)),
    ),
    (
        "C01",
        HandlingTier.COUNTY,
        "police",
        ["urban"],
        None,
        True,
        ((15, TimeUnit.MINUTES), (30, TimeUnit.MINUTES), (2, TimeUnit.HOURS)),
    ),
    (
        "C02",
        HandlingTier.COUNTY,
        "housing",
        ["urban"],
        None,
        False,
        ((1, TimeUnit.HOURS), (2, TimeUnit.HOURS), (5, TimeUnit.WORK_DAYS)),
    ),
]


@dataclass
class World:
    region: dict[str, int] = field(default_factory=dict)  # code -> id
    dept: dict[tuple[str, str], int] = field(default_factory=dict)  # (region code, code) -> id
    staff: dict[str, int] = field(default_factory=dict)
    user: dict[str, int] = field(default_factory=dict)  # username -> id
    entry: dict[str, int] = field(default_factory=dict)


async def seed(db: Database) -> None:
    async with db.transaction() as s:
        ids: dict[str, int] = {}
        for code, tier, zh, en in REGIONS:
            parent = ids.get(code[: {9: 6, 6: 4, 12: 9, 15: 12}.get(len(code), 0)])
            region = Region(code=code, tier=tier, parent_id=parent, name_zh=zh, name_en=en)
            s.add(region)
            await s.flush()
            assert region.id is not None
            ids[code] = region.id
        depts: dict[tuple[str, str], Department] = {}
        for county in ("339901", "339902"):
            for code in ("police", "urban", "housing"):
                depts[(county, code)] = Department(
                    code=code,
                    kind=DepartmentKind.COUNTY,
                    region_id=ids[county],
                    name_zh=code,
                    name_en=code,
                )
        for township in ("339901001", "339901002", "339902001"):
            for code in (GRID_OFFICE, "urban"):
                depts[(township, code)] = Department(
                    code=code,
                    kind=DepartmentKind.TOWNSHIP,
                    region_id=ids[township],
                    name_zh=code,
                    name_en=code,
                )
        s.add_all(list(depts.values()))
        await s.flush()

        def person(
            name: str,
            dept: tuple[str, str] | None,
            region: str,
            role: StaffRole,
            duty: DutyStatus = DutyStatus.ON_DUTY,
        ) -> Staff:
            member = Staff(
                name=name,
                department_id=depts[dept].id if dept else None,
                region_id=ids[region],
                role=role,
                duty_status=duty,
            )
            s.add(member)
            return member

        staff = {
            "police_a": person("警A", ("339901", "police"), "339901001", StaffRole.MEMBER),
            "police_b": person("警B", ("339901", "police"), "339901001", StaffRole.MEMBER),
            "police_liaison": person("警联", ("339901", "police"), "339901", StaffRole.LIAISON),
            "police_leader": person("警长", ("339901", "police"), "339901", StaffRole.LEADER),
            "housing_liaison": person("住联", ("339901", "housing"), "339901", StaffRole.LIAISON),
            "urban_tw_liaison": person(
                "城联", ("339901001", "urban"), "339901001", StaffRole.LIAISON
            ),
            "grid_worker": person(
                "网格员", ("339901001", GRID_OFFICE), "339901001001001", StaffRole.GRID_WORKER
            ),
            "grid_office_liaison": person(
                "网格中心", ("339901001", GRID_OFFICE), "339901001", StaffRole.LIAISON
            ),
        }
        await s.flush()
        for slot, key in ((PostSlot.A, "police_a"), (PostSlot.B, "police_b")):
            s.add(
                Post(
                    department_id=depts[("339901", "police")].id,  # type: ignore[arg-type]
                    township_id=ids["339901001"],
                    slot=slot,
                    mode=PostMode.RESIDENT,
                    staff_id=staff[key].id,  # type: ignore[arg-type]
                )
            )
        for code, handling, primary, coop, esc, confirm, limits in CATALOGUE:
            (aw, au), (cw, cu), (rw, ru) = limits
            s.add(
                CatalogueEntry(
                    code=code,
                    version=1,
                    name_zh=f"事项{code}",
                    name_en=f"Matter {code}",
                    pinyin=f"shi xiang {code.lower()}",
                    case_class=CaseClass.EVENT,
                    tier=handling,
                    primary_department=primary,
                    cooperating_departments=coop,
                    escalation_department=esc,
                    ack_within=aw,
                    ack_unit=au,
                    checkin_within=cw,
                    checkin_unit=cu,
                    resolve_within=rw,
                    resolve_unit=ru,
                    needs_confirmation=confirm,
                    created_at=T0,
                )
            )
        pw = hash_password(PASSWORD)
        users = [
            ("admin", Role.ADMIN, None, None, None),
            ("commander", Role.COMMANDER, "3399", None, None),
            ("county_commander", Role.COMMANDER, "339901", None, None),
            ("dispatcher", Role.DISPATCHER, "339901001", None, None),
            ("dispatcher_west", Role.DISPATCHER, "339901002", None, None),
            ("dispatcher_south", Role.DISPATCHER, "339902001", None, None),
            ("leader", Role.TOWNSHIP_LEADER, "339901001", None, None),
            (
                "gridworker",
                Role.GRID_WORKER,
                "339901001001001",
                (("339901001", GRID_OFFICE)),
                "grid_worker",
            ),
            ("liaison", Role.DEPT_LIAISON, "339901", ("339901", "police"), "police_liaison"),
            ("staff", Role.DEPT_STAFF, "339901001", ("339901", "police"), "police_a"),
            ("staff_b", Role.DEPT_STAFF, "339901001", ("339901", "police"), "police_b"),
            ("wall", Role.WALL, "339901", None, None),
            ("auditor", Role.AUDITOR, "3399", None, None),
        ]
        for username, role, scope, dept, staff_key in users:
            s.add(
                User(
                    username=username,
                    display_name=username,
                    password_hash=pw,
                    role=role,
                    region_id=ids[scope] if scope else None,
                    department_id=depts[dept].id if dept else None,
                    staff_id=staff[staff_key].id if staff_key else None,
                    created_at=T0,
                )
            )


async def load(session: AsyncSession) -> World:
    world = World()
    for region in (await session.exec(select(Region))).all():
        world.region[region.code] = region.id  # type: ignore[assignment]
    codes = {rid: code for code, rid in world.region.items()}
    for dept in (await session.exec(select(Department))).all():
        world.dept[(codes[dept.region_id], dept.code)] = dept.id  # type: ignore[assignment]
    for user in (await session.exec(select(User).where(User.username != SLA_USER))).all():
        world.user[user.username] = user.id  # type: ignore[assignment]
    for entry in (await session.exec(select(CatalogueEntry))).all():
        world.entry[entry.code] = entry.id  # type: ignore[assignment]
    names = {
        "警A": "police_a",
        "警B": "police_b",
        "警联": "police_liaison",
        "警长": "police_leader",
        "住联": "housing_liaison",
        "城联": "urban_tw_liaison",
        "网格员": "grid_worker",
        "网格中心": "grid_office_liaison",
    }
    for member in (await session.exec(select(Staff))).all():
        world.staff[names[member.name]] = member.id  # type: ignore[assignment]
    return world
