"""Case queries. Every read goes through the caller's scope in SQL."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any, Literal

from sqlalchemy import ColumnElement, Row, and_, func, or_
from sqlalchemy import case as sql_case
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.auth.principal import Principal
from hub.auth.scope import case_scope, region_clause
from hub.cases.machine import OPEN_STATES, CaseState
from hub.cases.models import Case, CaseEvent
from hub.cases.schemas import CaseOut
from hub.clock import SHANGHAI, as_utc
from hub.errors import NotFound, Unprocessable
from hub.regions.queries import region_by_code
from hub.schemas import MAX_ID


async def lock_case(session: AsyncSession, case_id: int, user: Principal) -> Case:
    """Load a case for change, row-locked on PostgreSQL (SQLite has a single writer)."""
    stmt = select(Case).where(Case.id == case_id, case_scope(user)).with_for_update()
    case = (await session.exec(stmt)).first()
    if case is None:
        raise NotFound(f"no case {case_id}")
    return case


async def get_case(session: AsyncSession, case_id: int, user: Principal) -> Case:
    case = (await session.exec(select(Case).where(Case.id == case_id, case_scope(user)))).first()
    if case is None:
        raise NotFound(f"no case {case_id}")
    return case


async def case_events(session: AsyncSession, case_id: int, user: Principal) -> list[CaseEvent]:
    await get_case(session, case_id, user)
    stmt = select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(col(CaseEvent.seq))
    return list((await session.exec(stmt)).all())


def count_where(expr: ColumnElement[bool]) -> Any:
    """How many rows match `expr`, as one column of an aggregate select."""
    return func.coalesce(func.sum(sql_case((expr, 1), else_=0)), 0)


def overdue_clause(now: datetime) -> ColumnElement[bool]:
    """Open and past the holder's resolve due time or the case's original one (which
    re-routing never moves later)."""
    return and_(
        col(Case.state).in_(OPEN_STATES),
        or_(col(Case.resolve_due_at) < now, col(Case.original_resolve_due_at) < now),
    )


def is_overdue(case: Case | Row[Any], now: datetime) -> bool:
    if case.state not in OPEN_STATES:
        return False
    dues = (case.resolve_due_at, case.original_resolve_due_at)
    return any(due is not None and due < now for due in dues)


@dataclass(frozen=True)
class CaseFilter:
    region: str | None = None
    states: tuple[CaseState, ...] = ()
    department_id: int | None = None
    assigned_staff_id: int | None = None
    whistle_level: int | None = None
    overdue: bool | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    order: Literal["newest", "oldest"] = "newest"


def encode_cursor(case: Case) -> str:
    raw = json.dumps([case.created_at.isoformat(), case.id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        created, case_id = json.loads(base64.urlsafe_b64decode(padded))
        at = datetime.fromisoformat(created)
        # A cursor is the client's text too: its time and id must bind as column values.
        if at.tzinfo is None or type(case_id) is not int or not 0 <= case_id <= MAX_ID:
            raise ValueError("bad cursor fields")
        return as_utc(at), case_id
    except (ValueError, TypeError, json.JSONDecodeError) as exc:
        raise Unprocessable("cursor", "malformed cursor") from exc


async def list_cases(
    session: AsyncSession,
    user: Principal,
    flt: CaseFilter,
    *,
    now: datetime,
    cursor: str | None,
    limit: int,
) -> tuple[list[Case], str | None]:
    stmt = select(Case).where(case_scope(user))
    if flt.region is not None:
        region = await region_by_code(session, flt.region, field="region")
        assert region.id is not None
        stmt = stmt.where(region_clause(region.tier, region.id))
    if flt.states:
        stmt = stmt.where(col(Case.state).in_(flt.states))
    if flt.department_id is not None:
        stmt = stmt.where(Case.department_id == flt.department_id)
    if flt.assigned_staff_id is not None:
        stmt = stmt.where(Case.assigned_staff_id == flt.assigned_staff_id)
    if flt.whistle_level is not None:
        stmt = stmt.where(Case.whistle_level == flt.whistle_level)
    if flt.overdue is True:
        stmt = stmt.where(overdue_clause(now))
    elif flt.overdue is False:
        stmt = stmt.where(~overdue_clause(now))
    if flt.created_from is not None:
        stmt = stmt.where(Case.created_at >= flt.created_from)
    if flt.created_to is not None:
        stmt = stmt.where(Case.created_at < flt.created_to)
    newest = flt.order == "newest"
    if cursor is not None:
        at, last_id = decode_cursor(cursor)
        if newest:
            stmt = stmt.where(
                or_(
                    col(Case.created_at) < at,
                    and_(col(Case.created_at) == at, col(Case.id) < last_id),
                )
            )
        else:
            stmt = stmt.where(
                or_(
                    col(Case.created_at) > at,
                    and_(col(Case.created_at) == at, col(Case.id) > last_id),
                )
            )
    order = (
        (col(Case.created_at).desc(), col(Case.id).desc())
        if newest
        else (col(Case.created_at).asc(), col(Case.id).asc())
    )
    rows = list((await session.exec(stmt.order_by(*order).limit(limit + 1))).all())
    next_cursor = encode_cursor(rows[limit - 1]) if len(rows) > limit else None
    return rows[:limit], next_cursor


# The REST shape of a case (CaseOut) minus the per-caller field, built without pydantic:
# the relay does this for every event it publishes.
_VIEW_FIELDS = tuple(f for f in CaseOut.model_fields if f not in ("allowed_actions", "overdue"))
# The columns `case_view` reads: a plain row of just these will do.
VIEW_COLUMNS = (*_VIEW_FIELDS, "city_id")


def wire_fields(case: Case | Row[Any], names: Iterable[str], now: datetime) -> dict[str, Any]:
    """The named fields of a case as they go on the wire (times in CST), and `overdue`."""
    data: dict[str, Any] = {}
    for name in names:
        value = getattr(case, name)
        if isinstance(value, datetime):
            value = value.astimezone(SHANGHAI).isoformat()
        elif isinstance(value, Enum):
            value = value.value
        data[name] = value
    data["overdue"] = is_overdue(case, now)
    return data


def case_view(case: Case | Row[Any], now: datetime) -> dict[str, Any]:
    """A case's wire shape, from its row object or a plain row of the cases table."""
    data = wire_fields(case, _VIEW_FIELDS, now)
    data["city_id"] = case.city_id  # routing key for city walls (not in the REST shape)
    return data
