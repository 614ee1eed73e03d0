from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import col, select

from hub.auth.deps import CurrentUser, require
from hub.auth.permissions import Permission
from hub.catalogue import service
from hub.catalogue.models import CatalogueEntry
from hub.db import on_commit
from hub.deps import HubDep
from hub.dispatch.reference import bump
from hub.dispatch.routing import GRID_OFFICE
from hub.enums import CaseClass, HandlingTier, TimeUnit
from hub.errors import Conflict, NotFound, Unprocessable
from hub.schemas import LocalTime, Strict
from hub.sla.ladder import LadderOverride

router = APIRouter(prefix="/catalogue", tags=["catalogue"])
Code = Annotated[str, Path(pattern=r"^[A-Za-z0-9_.-]{1,32}$")]


class EntryIn(Strict):
    name_zh: str = Field(min_length=1, max_length=100)
    name_en: str = Field(min_length=1, max_length=160)
    pinyin: str = Field(default="", max_length=200)
    case_class: CaseClass
    tier: HandlingTier
    primary_department: str = Field(min_length=1, max_length=40)
    cooperating_departments: list[str] = Field(default_factory=list, max_length=20)
    escalation_department: str | None = Field(default=None, max_length=40)
    ack_within: int = Field(gt=0, le=100_000)
    ack_unit: TimeUnit
    checkin_within: int = Field(gt=0, le=100_000)
    checkin_unit: TimeUnit
    resolve_within: int = Field(gt=0, le=100_000)
    resolve_unit: TimeUnit
    needs_confirmation: bool = False
    # Changes to the default escalation ladder; cases dispatched under this version
    # freeze the result (see hub/sla/ladder.py for the defaults).
    sla: LadderOverride | None = None


class EntryCreate(EntryIn):
    code: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,32}$")


class EntryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    code: str
    version: int
    is_current: bool
    name_zh: str
    name_en: str
    pinyin: str
    case_class: CaseClass
    tier: HandlingTier
    primary_department: str
    cooperating_departments: list[str]
    escalation_department: str | None
    ack_within: int
    ack_unit: TimeUnit
    checkin_within: int
    checkin_unit: TimeUnit
    resolve_within: int
    resolve_unit: TimeUnit
    needs_confirmation: bool
    sla: dict[str, Any] | None
    created_at: LocalTime


def _columns(body: EntryIn) -> dict[str, Any]:
    sla = body.sla.model_dump(mode="json", exclude_none=True) if body.sla else None
    return {**body.model_dump(exclude={"sla"}), "sla": sla}


def _check(body: EntryIn) -> None:
    if body.tier is HandlingTier.GRID and body.primary_department != GRID_OFFICE:
        raise Unprocessable(
            "primary_department", f"grid-tier entries are handled by the {GRID_OFFICE}"
        )


@router.get("", response_model=list[EntryOut])
async def list_entries(
    hub: HubDep,
    _user: CurrentUser,
    q: Annotated[
        str | None, Query(max_length=50, description="code, Chinese name or pinyin")
    ] = None,
    tier: HandlingTier | None = None,
) -> list[CatalogueEntry]:
    async with hub.db.read() as session:
        rows = await service.list_current(session)
    if tier is not None:
        rows = [r for r in rows if r.tier is tier]
    if q:
        needle = q.lower().replace(" ", "")
        rows = [
            r
            for r in rows
            if needle in r.code.lower()
            or needle in r.name_zh
            or needle in r.pinyin.replace(" ", "").lower()
            or needle in r.name_en.lower()
        ]
    return rows


@router.get("/{code}", response_model=EntryOut)
async def get_entry(code: Code, hub: HubDep, _user: CurrentUser) -> CatalogueEntry:
    async with hub.db.read() as session:
        entry = await service.current_entry(session, code)
    if entry is None:
        raise NotFound(f"no current catalogue entry {code!r}")
    return entry


@router.get("/{code}/versions", response_model=list[EntryOut])
async def entry_versions(code: Code, hub: HubDep, _user: CurrentUser) -> list[CatalogueEntry]:
    async with hub.db.read() as session:
        rows = await service.history(session, code)
    if not rows:
        raise NotFound(f"no catalogue entry {code!r}")
    return rows


@router.post(
    "", response_model=EntryOut, status_code=201, dependencies=[require(Permission.CATALOGUE_EDIT)]
)
async def create_entry(body: EntryCreate, hub: HubDep, user: CurrentUser) -> CatalogueEntry:
    _check(body)
    async with hub.db.transaction() as session:
        await bump(session)
        on_commit(session, hub.reference.invalidated)
        if await service.history(session, body.code):
            raise Conflict(f"entry {body.code!r} exists; PUT a new version instead")
        entry = CatalogueEntry(
            **_columns(body), version=1, created_at=hub.clock.now(), created_by=user.user_id
        )
        session.add(entry)
    return entry


@router.put("/{code}", response_model=EntryOut, dependencies=[require(Permission.CATALOGUE_EDIT)])
async def new_version(code: Code, body: EntryIn, hub: HubDep, user: CurrentUser) -> CatalogueEntry:
    """Edits never rewrite a version: the old row is retired and a new one written."""
    _check(body)
    async with hub.db.transaction() as session:
        await bump(session)
        on_commit(session, hub.reference.invalidated)
        versions = await service.history(session, code)
        if not versions:
            raise NotFound(f"no catalogue entry {code!r}")
        for old in versions:
            if old.is_current:
                old.is_current = False
                session.add(old)
        await session.flush()
        entry = CatalogueEntry(
            **_columns(body),
            code=code,
            version=versions[-1].version + 1,
            created_at=hub.clock.now(),
            created_by=user.user_id,
        )
        session.add(entry)
    return entry


@router.delete("/{code}", status_code=204, dependencies=[require(Permission.CATALOGUE_EDIT)])
async def retire_entry(code: Code, hub: HubDep) -> None:
    """Return a power (the matter leaves the list); cases already routed keep their version."""
    async with hub.db.transaction() as session:
        await bump(session)
        on_commit(session, hub.reference.invalidated)
        current = (
            await session.exec(
                select(CatalogueEntry).where(
                    CatalogueEntry.code == code, col(CatalogueEntry.is_current).is_(True)
                )
            )
        ).first()
        if current is None:
            raise NotFound(f"no current catalogue entry {code!r}")
        current.is_current = False
        session.add(current)
