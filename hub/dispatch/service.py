"""Loading routing inputs from storage: the thin shell around `routing.route`."""

from __future__ import annotations

from sqlalchemy import and_, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.cases.models import Case
from hub.catalogue.models import CatalogueEntry
from hub.dispatch.routing import DeptInfo, EntryRule, Place, PostInfo, Roster
from hub.enums import DutyStatus, StaffRole
from hub.org.models import Department, Post, Staff


def entry_rule(entry: CatalogueEntry) -> EntryRule:
    assert entry.id is not None
    return EntryRule(
        entry_id=entry.id,
        code=entry.code,
        tier=entry.tier,
        primary_department=entry.primary_department,
        cooperating_departments=tuple(entry.cooperating_departments),
        escalation_department=entry.escalation_department,
        needs_confirmation=entry.needs_confirmation,
    )


def place_of(case: Case) -> Place:
    return Place(
        grid_id=case.grid_id,
        community_id=case.community_id,
        township_id=case.township_id,
        county_id=case.county_id,
    )


async def load_roster(session: AsyncSession, place: Place) -> Roster:
    depts = (
        await session.exec(
            select(Department).where(
                col(Department.region_id).in_([place.county_id, place.township_id])
            )
        )
    ).all()
    dept_ids = [d.id for d in depts]
    posts = (
        await session.exec(
            select(Post, Staff.duty_status)
            .join(Staff, Staff.id == Post.staff_id)  # type: ignore[arg-type]
            .where(Post.township_id == place.township_id, col(Post.department_id).in_(dept_ids))
        )
    ).all()
    people = (
        await session.exec(
            select(Staff)
            .where(
                Staff.duty_status == DutyStatus.ON_DUTY,
                or_(
                    and_(
                        col(Staff.department_id).in_(dept_ids), col(Staff.role) == StaffRole.LIAISON
                    ),
                    and_(
                        col(Staff.region_id) == place.grid_id,
                        col(Staff.role) == StaffRole.GRID_WORKER,
                    ),
                ),
            )
            .order_by(col(Staff.id))
        )
    ).all()
    return Roster(
        departments=tuple(
            DeptInfo(id=d.id, code=d.code, kind=d.kind, region_id=d.region_id)
            for d in depts
            if d.id is not None
        ),
        posts=tuple(
            PostInfo(
                department_id=p.department_id,
                township_id=p.township_id,
                slot=p.slot,
                staff_id=p.staff_id,
                duty_status=DutyStatus(duty),
            )
            for p, duty in posts
        ),
        liaisons=tuple(
            (s.department_id, s.id)
            for s in people
            if s.role is StaffRole.LIAISON and s.department_id is not None and s.id is not None
        ),
        grid_workers_on_duty=tuple(
            s.id for s in people if s.role is StaffRole.GRID_WORKER and s.id is not None
        ),
    )
