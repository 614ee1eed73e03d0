"""Writing the demo city's reference data: one flush per tier or table, so parents have
ids before children name them and each table goes in as a bulk insert."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.auth.models import User
from hub.catalogue.models import CatalogueEntry
from hub.demo.city import City
from hub.enums import Tier
from hub.org.models import Department, Post, Staff
from hub.regions.models import Region
from hub.sla.models import SLA_USER


async def has_data(session: AsyncSession) -> bool:
    """Any region or user means someone already set this database up (the SLA engine's
    own user comes with the schema and does not count)."""
    regions = (await session.exec(select(func.count()).select_from(Region))).one()
    users = (await session.exec(select(func.count()).where(col(User.username) != SLA_USER))).one()
    return bool(regions or users)


async def insert_city(
    session: AsyncSession, city: City, *, password_hash: str, now: datetime
) -> dict[str, int]:
    """Insert everything; returns row counts by table."""
    region_ids: dict[str, int] = {}
    for tier in Tier:
        rows = [
            Region(
                code=r.code,
                tier=r.tier,
                parent_id=region_ids[r.parent_code] if r.parent_code else None,
                name_zh=r.name_zh,
                name_en=r.name_en,
                geometry=r.box.polygon(),
                center_lon=r.box.center[0],
                center_lat=r.box.center[1],
            )
            for r in city.of_tier(tier)
        ]
        session.add_all(rows)
        await session.flush()
        region_ids.update({row.code: _id(row.id) for row in rows})

    depts = {
        d.key: Department(
            code=d.code,
            kind=d.kind,
            region_id=region_ids[d.region_code],
            name_zh=d.name_zh,
            name_en=d.name_en,
        )
        for d in city.departments
    }
    session.add_all(depts.values())
    await session.flush()

    staff = {
        s.key: Staff(
            name=s.name,
            phone=s.phone,
            department_id=depts[s.department_key].id,
            region_id=region_ids[s.region_code],
            role=s.role,
            duty_status=s.duty_status,
        )
        for s in city.staff
    }
    session.add_all(staff.values())
    await session.flush()

    session.add_all(
        Post(
            department_id=_id(depts[p.department_key].id),
            township_id=region_ids[p.township_code],
            slot=p.slot,
            mode=p.mode,
            staff_id=_id(staff[p.staff_key].id),
        )
        for p in city.posts
    )
    session.add_all(
        CatalogueEntry(
            code=e.code,
            version=1,
            is_current=True,
            name_zh=e.name_zh,
            name_en=e.name_en,
            pinyin=e.pinyin,
            case_class=e.case_class,
            tier=e.tier,
            primary_department=e.primary_department,
            cooperating_departments=list(e.cooperating_departments),
            escalation_department=e.escalation_department,
            ack_within=e.ack[0],
            ack_unit=e.ack[1],
            checkin_within=e.checkin[0],
            checkin_unit=e.checkin[1],
            resolve_within=e.resolve[0],
            resolve_unit=e.resolve[1],
            needs_confirmation=e.needs_confirmation,
            created_at=now,
        )
        for e in city.entries
    )
    session.add_all(
        User(
            username=a.username,
            display_name=a.display_name,
            password_hash=password_hash,
            role=a.role,
            region_id=region_ids[a.region_code] if a.region_code else None,
            department_id=depts[a.department_key].id if a.department_key else None,
            staff_id=staff[a.staff_key].id if a.staff_key else None,
            created_at=now,
        )
        for a in city.accounts
    )
    await session.flush()
    return {
        "regions": len(region_ids),
        "departments": len(depts),
        "staff": len(staff),
        "posts": len(city.posts),
        "catalogue entries": len(city.entries),
        "users": len(city.accounts),
    }


def _id(value: int | None) -> int:
    assert value is not None, "flushed rows have ids"
    return value
