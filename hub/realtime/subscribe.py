"""Subscribing: authorize each topic through the access rules (snapshots: snapshots.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.auth.permissions import TOPICS, Permission
from hub.auth.principal import Principal
from hub.auth.scope import case_scope, region_in_scope
from hub.cases.machine import CaseState
from hub.cases.models import Case
from hub.cases.queries import case_view, get_case
from hub.enums import Role
from hub.errors import Forbidden, NotFound
from hub.org.models import Department
from hub.realtime.protocol import Topic
from hub.regions.models import Region
from hub.schemas import MAX_ID

_REGION_WATCHERS = frozenset(
    {
        Role.ADMIN,
        Role.COMMANDER,
        Role.DISPATCHER,
        Role.TOWNSHIP_LEADER,
        Role.WALL,
        Role.AUDITOR,
        Role.GRID_WORKER,
    }
)


@dataclass(frozen=True)
class Grant:
    topic: Topic
    region: Region | None = None
    case_id: int | None = None
    department_id: int | None = None


async def authorize(session: AsyncSession, user: Principal, topic: Topic) -> Grant:
    """A topic outside the caller's scope is refused as if it did not exist."""
    user.check(TOPICS[topic.kind].permission or Permission.CASE_READ)
    if topic.kind == "inbox":
        if user.staff_id is None:
            raise Forbidden("only staff have a task inbox", kind="no_inbox")
        return Grant(topic)
    if topic.key is None:
        raise NotFound(f"a {topic.kind} topic needs a key")
    if topic.kind == "region":
        region = (await session.exec(select(Region).where(Region.code == topic.key))).first()
        if region is None or not region_in_scope(user, region.code):
            raise NotFound(f"no region {topic.key}")
        return Grant(topic, region=region)
    if not 1 <= int(topic.key) <= MAX_ID:
        raise NotFound(f"no {topic.kind} {topic.key}")
    if topic.kind == "case":
        case = await get_case(session, int(topic.key), user)
        return Grant(topic, case_id=case.id)
    dept = await session.get(Department, int(topic.key))
    if dept is None or not await _may_watch_department(session, user, dept):
        raise NotFound(f"no department {topic.key}")
    return Grant(topic, department_id=dept.id)


async def _may_watch_department(session: AsyncSession, user: Principal, dept: Department) -> bool:
    if user.role is Role.ADMIN:
        return True
    if user.role in (Role.DEPT_LIAISON, Role.DEPT_STAFF):
        return user.department_id == dept.id
    if user.role not in _REGION_WATCHERS:
        return False
    region = await session.get(Region, dept.region_id)
    # A department is watched from its own region or above (a county wall, the city).
    return (
        region is not None
        and user.region_code is not None
        and (region.code.startswith(user.region_code) or user.region_code.startswith(region.code))
    )


async def pending_tasks(
    session: AsyncSession, user: Principal, now: datetime
) -> list[dict[str, Any]]:
    """Dispatched to this person and not yet acknowledged: re-sent on every reconnect."""
    if user.staff_id is None:
        return []
    rows = (
        await session.exec(
            select(Case)
            .where(
                Case.assigned_staff_id == user.staff_id,
                Case.state == CaseState.DISPATCHED,
                case_scope(user),
            )
            .order_by(col(Case.ack_due_at))
        )
    ).all()
    return [case_view(c, now) for c in rows]
