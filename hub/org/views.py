from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.auth.deps import CurrentUser, require
from hub.auth.org_scope import (
    department_scope,
    post_scope,
    posts_outside,
    staff_scope,
    visible_staff,
)
from hub.auth.permissions import Permission
from hub.auth.scope import DEPARTMENT_ROLES, region_in_scope
from hub.auth.service import Principal
from hub.db import on_commit
from hub.deps import HubDep
from hub.dispatch.reference import bump
from hub.enums import DepartmentKind, DutyStatus, PostMode, PostSlot, StaffRole, Tier
from hub.errors import Forbidden, NotFound, Unprocessable
from hub.org.models import Department, Post, Staff
from hub.regions.models import Region
from hub.schemas import MAX_ID, PathId, Strict

router = APIRouter(tags=["organisation"])


class DepartmentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    code: str
    kind: DepartmentKind
    region_id: int
    name_zh: str
    name_en: str


class StaffOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    name: str
    phone: str | None
    department_id: int | None
    region_id: int
    role: StaffRole
    duty_status: DutyStatus


class PostOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    department_id: int
    township_id: int
    slot: PostSlot
    mode: PostMode
    staff_id: int


class DutyPatch(Strict):
    duty_status: DutyStatus


class PostPut(Strict):
    department_id: int = Field(ge=1, le=MAX_ID)
    township_id: int = Field(ge=1, le=MAX_ID)
    slot: PostSlot
    mode: PostMode
    staff_id: int = Field(ge=1, le=MAX_ID)


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
    own = user.staff_id == staff_id
    if not own:
        user.check(Permission.DUTY_ASSIGN)
    async with hub.db.transaction() as session:
        staff = await session.get(Staff, staff_id) if own else None
        if not own:
            staff = await visible_staff(session, user, staff_id)
        if staff is None:
            raise NotFound(f"no staff {staff_id}")
        if not own and (outside := await posts_outside(session, user, staff_id)):
            raise Forbidden(
                f"staff {staff_id} holds {outside} post(s) outside your scope: "
                "their duty status changes who gets those townships' cases"
            )
        await bump(session)
        on_commit(session, hub.reference.invalidated)
        staff.duty_status = body.duty_status
        session.add(staff)
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
    try:
        async with hub.db.transaction() as session:
            await bump(session)
            on_commit(session, hub.reference.invalidated)
            staff = await visible_staff(session, user, body.staff_id)
            if staff is None or staff.department_id != body.department_id:
                raise Unprocessable("staff_id", "staff must belong to the post's department")
            await _check_post_place(session, user, body)
            post = (
                await session.exec(
                    select(Post).where(
                        Post.department_id == body.department_id,
                        Post.township_id == body.township_id,
                        Post.slot == body.slot,
                    )
                )
            ).first() or Post(**body.model_dump())
            post.mode, post.staff_id = body.mode, body.staff_id
            session.add(post)
    except IntegrityError as exc:
        raise Unprocessable("township_id", "unknown township or department") from exc
    return post


async def _check_post_place(session: AsyncSession, user: Principal, body: PostPut) -> None:
    """The township must be one, inside the caller's scope; the department one they see."""
    township = await session.get(Region, body.township_id)
    if township is None or township.tier is not Tier.TOWNSHIP:
        raise Unprocessable("township_id", f"no township {body.township_id}")
    if not region_in_scope(user, township.code):
        raise Forbidden(f"township {township.code} is outside your region", field="township_id")
    dept = (
        await session.exec(
            select(Department).where(Department.id == body.department_id, department_scope(user))
        )
    ).first()
    if dept is None or (user.role in DEPARTMENT_ROLES and dept.id != user.department_id):
        raise Unprocessable("department_id", f"no department {body.department_id}")
