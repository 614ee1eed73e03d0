from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict
from sqlmodel import col, select

from hub.audit.chains import verify_chains
from hub.audit.models import AuditEntry
from hub.auth.deps import CurrentUser, require
from hub.auth.org_scope import audit_scope
from hub.auth.permissions import Permission
from hub.deps import HubDep
from hub.schemas import MAX_ID, LocalTime

router = APIRouter(prefix="/audit", tags=["audit"], dependencies=[require(Permission.AUDIT_READ)])


class AuditOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    at: LocalTime
    kind: str
    username: str | None
    user_id: int | None
    address: str | None
    detail: dict[str, object]


class ChainReport(BaseModel):
    ok: bool
    cases: int
    events: int
    breaks: list[dict[str, object]]


@router.get("/log", response_model=list[AuditOut])
async def audit_log(
    hub: HubDep,
    user: CurrentUser,
    kind: Annotated[str | None, Query(max_length=40)] = None,
    before_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[AuditEntry]:
    """Newest first; page with `before_id`."""
    stmt = (
        select(AuditEntry).where(audit_scope(user)).order_by(col(AuditEntry.id).desc()).limit(limit)
    )
    if kind is not None:
        stmt = stmt.where(AuditEntry.kind == kind)
    if before_id is not None:
        stmt = stmt.where(col(AuditEntry.id) < before_id)
    async with hub.db.read() as session:
        return list((await session.exec(stmt)).all())


@router.get("/chains", response_model=ChainReport)
async def check_chains(hub: HubDep) -> ChainReport:
    report = await verify_chains(hub.db)
    return ChainReport(
        ok=report.ok,
        cases=report.cases,
        events=report.events,
        breaks=[{"case_id": b.case_id, "seq": b.seq, "reason": b.reason} for b in report.breaks],
    )
