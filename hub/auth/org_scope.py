"""Which regions, departments, staff, posts and audit entries a caller may see or change:
the same region subtree (and, for department roles, the department) that `hub.auth.scope`
applies to cases, so the organisation cannot be read or rearranged from outside the
caller's own patch."""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, false, or_, true
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.audit.models import AuditEntry
from hub.auth.models import User
from hub.auth.principal import Principal
from hub.auth.scope import DEPARTMENT_ROLES, UNSCOPED
from hub.org.models import Department, Post, Staff
from hub.regions.models import CODE_LENGTH, Region, subtree_bounds

_PREFIX_LENGTHS = sorted(CODE_LENGTH.values())


def ancestors(code: str) -> list[str]:
    return [code[:n] for n in _PREFIX_LENGTHS if n < len(code)]


def _subtree(user: Principal) -> ColumnElement[bool]:
    assert user.region_code is not None
    return col(Region.code).between(*subtree_bounds(user.region_code))


def region_visible_clause(user: Principal) -> ColumnElement[bool]:
    """Regions along the caller's line: their own, everything under it, everything above
    it (the breadcrumb and the county departments a township whistles)."""
    if user.role in UNSCOPED:
        return true()
    if user.region_code is None:
        return false()
    return or_(_subtree(user), col(Region.code).in_(ancestors(user.region_code)))


def region_visible(user: Principal, code: str) -> bool:
    if user.role in UNSCOPED:
        return True
    if user.region_code is None:
        return False
    return code.startswith(user.region_code) or code in ancestors(user.region_code)


def _region_ids(clause: ColumnElement[bool]) -> ColumnElement[bool]:
    return select(Region.id).where(clause)  # type: ignore[return-value]


def department_scope(user: Principal) -> ColumnElement[bool]:
    if user.role in UNSCOPED:
        return true()
    return col(Department.region_id).in_(_region_ids(region_visible_clause(user)))


def staff_scope(user: Principal) -> ColumnElement[bool]:
    """Staff working inside the caller's region subtree; a department role's own
    department only."""
    if user.role in UNSCOPED:
        return true()
    if user.region_code is None:
        return false()
    clause = col(Staff.region_id).in_(_region_ids(_subtree(user)))
    if user.role in DEPARTMENT_ROLES:
        return and_(clause, Staff.department_id == user.department_id)  # type: ignore[arg-type]
    return clause


def post_scope(user: Principal) -> ColumnElement[bool]:
    if user.role in UNSCOPED:
        return true()
    if user.region_code is None:
        return false()
    clause = col(Post.township_id).in_(_region_ids(_subtree(user)))
    if user.role in DEPARTMENT_ROLES:
        return and_(clause, Post.department_id == user.department_id)  # type: ignore[arg-type]
    return clause


async def visible_staff(session: AsyncSession, user: Principal, staff_id: int) -> Staff | None:
    stmt = select(Staff).where(Staff.id == staff_id, staff_scope(user))
    return (await session.exec(stmt)).first()


async def posts_outside(session: AsyncSession, user: Principal, staff_id: int) -> int:
    """How many of the staff member's posts lie in townships outside the caller's scope:
    changing their duty would change who gets those townships' cases."""
    stmt = (
        select(func.count()).select_from(Post).where(Post.staff_id == staff_id, ~post_scope(user))
    )
    return int((await session.exec(stmt)).one())


def audit_scope(user: Principal) -> ColumnElement[bool]:
    """An auditor of the whole city reads the whole log (failed logins of unknown names
    included); one of a county or below, the entries of users inside their subtree."""
    if user.role in UNSCOPED:
        return true()
    if user.region_code is None:
        return false()
    if not ancestors(user.region_code):
        return true()
    inside = select(User.id).where(col(User.region_id).in_(_region_ids(_subtree(user))))
    return col(AuditEntry.user_id).in_(inside)
