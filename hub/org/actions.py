"""The organisation's state changes: a staff member's duty status and the A/B posts.
Each changes who routing picks, so each bumps the reference version in its transaction
and has the reference cache reloaded after commit."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy.exc import IntegrityError
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.auth.org_scope import department_scope, posts_outside, visible_staff
from hub.auth.permissions import Permission
from hub.auth.principal import Principal
from hub.auth.scope import DEPARTMENT_ROLES, region_in_scope
from hub.db import Database, on_commit
from hub.dispatch.reference import bump
from hub.enums import DutyStatus, Tier
from hub.errors import Forbidden, NotFound, Unprocessable
from hub.org.models import Department, Post, Staff
from hub.org.schemas import PostPut
from hub.regions.models import Region

Invalidated = Callable[[], Awaitable[None]]


async def set_duty(
    db: Database, invalidated: Invalidated, user: Principal, staff_id: int, status: DutyStatus
) -> Staff:
    """Staff set their own duty status; the dispatch desk and a department's liaison set
    that of staff inside their scope whose every post is inside it too."""
    own = user.staff_id == staff_id
    if not own:
        user.check(Permission.DUTY_ASSIGN)
    async with db.transaction() as session:
        staff = await session.get(Staff, staff_id) if own else None
        if not own:
            staff = await visible_staff(session, user, staff_id)
        if staff is None:
            raise NotFound(f"no staff {staff_id}")
        if not own and (outside := await posts_outside(session, user, staff_id)):
            raise Forbidden(
                f"staff {staff_id} holds {outside} post(s) outside your scope: "
                "their duty status changes who gets those townships' cases",
                kind="scope",
            )
        await bump(session)
        on_commit(session, invalidated)
        staff.duty_status = status
        session.add(staff)
    return staff


async def put_post(db: Database, invalidated: Invalidated, user: Principal, body: PostPut) -> Post:
    """Create or re-staff the A/B post of a department in a township."""
    try:
        async with db.transaction() as session:
            await bump(session)
            on_commit(session, invalidated)
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
        raise Forbidden(
            f"township {township.code} is outside your region", kind="scope", field="township_id"
        )
    dept = (
        await session.exec(
            select(Department).where(Department.id == body.department_id, department_scope(user))
        )
    ).first()
    if dept is None or (user.role in DEPARTMENT_ROLES and dept.id != user.department_id):
        raise Unprocessable("department_id", f"no department {body.department_id}")
