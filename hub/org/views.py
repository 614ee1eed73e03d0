from typing import Annotated

from fastapi import APIRouter, Query
from sqlmodel import col, select

from hub.auth.deps import CurrentUser, require
from hub.auth.org_scope import (
    department_scope,
    post_scope,
    staff_scope,
)
from hub.auth.permissions import Permission
from hub.deps import HubDep
from hub.enums import DutyStatus
from hub.org import actions
from hub.org.models import Department, Post, Staff
from hub.org.schemas import DepartmentOut, DutyPatch, PostOut, PostPut, StaffOut
from hub.schemas import MAX_ID, PathId

router = APIRouter(tags=["organisation"])


@router.get("/departments", response_model=list[DepartmentOut])
async def list_departments(
    hub: HubDep,
    user: CurrentUser,
    region_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    code: Annotated[str | None, Query(max_length=40)] = None,
) -> list[Department]:
    """Departments along the caller's line of the region tree (hub/auth/org_scope.py)."""
    stmt = select(Department).where(department_scope(user)).order_by(col(Department.id))
    if region_id is not None:
        stmt = stmt.where(Department.region_id == region_id)
    if code is not None:
        stmt = stmt.where(Department.code == code)
    async with hub.db.read() as session:
        return list((await session.exec(stmt)).all())


@router.get("/staff", response_model=list[StaffOut])
async def list_staff(
    hub: HubDep,
    user: CurrentUser,
    department_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    region_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    duty_status: DutyStatus | None = None,
    after_id: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 200,
) -> list[StaffOut]:
    """Staff inside the caller's scope; phone numbers only to those who call staff out."""
    stmt = (
        select(Staff)
        .where(col(Staff.id) > after_id, staff_scope(user))
        .order_by(col(Staff.id))
        .limit(limit)
    )
    if department_id is not None:
        stmt = stmt.where(Staff.department_id == department_id)
    if region_id is not None:
        stmt = stmt.where(Staff.region_id == region_id)
    if duty_status is not None:
        stmt = stmt.where(Staff.duty_status == duty_status)
    async with hub.db.read() as session:
        rows = (await session.exec(stmt)).all()
    phones = user.can(Permission.STAFF_CONTACT)
    return [_staff_out(r, phones) for r in rows]


def _staff_out(staff: Staff, phone: bool) -> StaffOut:
    out = StaffOut.model_validate(staff)
    if not phone:
        out.phone = None
    return out


@router.patch("/staff/{staff_id}/duty", response_model=StaffOut)
async def set_duty(staff_id: PathId, body: DutyPatch, hub: HubDep, user: CurrentUser) -> StaffOut:
    """Staff set their own duty status; the dispatch desk and a department's liaison set
    that of staff inside their scope whose every post is inside it too."""
    staff = await actions.set_duty(
        hub.db, hub.reference.invalidated, user, staff_id, body.duty_status
    )
    return _staff_out(staff, user.can(Permission.STAFF_CONTACT))


@router.get("/posts", response_model=list[PostOut])
async def list_posts(
    hub: HubDep,
    user: CurrentUser,
    township_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    department_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> list[Post]:
    stmt = select(Post).where(post_scope(user)).order_by(col(Post.id))
    if township_id is not None:
        stmt = stmt.where(Post.township_id == township_id)
    if department_id is not None:
        stmt = stmt.where(Post.department_id == department_id)
    async with hub.db.read() as session:
        return list((await session.exec(stmt)).all())


@router.put("/posts", response_model=PostOut, dependencies=[require(Permission.ORG_EDIT)])
async def put_post(body: PostPut, hub: HubDep, user: CurrentUser) -> Post:
    """Create or re-staff the A/B post of a department in a township."""
    return await actions.put_post(hub.db, hub.reference.invalidated, user, body)
