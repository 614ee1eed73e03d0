from typing import Annotated

from fastapi import APIRouter, Path, Query

from hub.auth.deps import CurrentUser, require
from hub.auth.permissions import Permission
from hub.catalogue import actions, queries
from hub.catalogue.models import CatalogueEntry
from hub.catalogue.schemas import EntryCreate, EntryIn, EntryOut
from hub.deps import HubDep
from hub.enums import HandlingTier
from hub.errors import NotFound

router = APIRouter(prefix="/catalogue", tags=["catalogue"])
Code = Annotated[str, Path(pattern=r"^[A-Za-z0-9_.-]{1,32}$")]


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
        rows = await queries.list_current(session)
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
        entry = await queries.current_entry(session, code)
    if entry is None:
        raise NotFound(f"no current catalogue entry {code!r}")
    return entry


@router.get("/{code}/versions", response_model=list[EntryOut])
async def entry_versions(code: Code, hub: HubDep, _user: CurrentUser) -> list[CatalogueEntry]:
    async with hub.db.read() as session:
        rows = await queries.history(session, code)
    if not rows:
        raise NotFound(f"no catalogue entry {code!r}")
    return rows


@router.post(
    "", response_model=EntryOut, status_code=201, dependencies=[require(Permission.CATALOGUE_EDIT)]
)
async def create_entry(body: EntryCreate, hub: HubDep, user: CurrentUser) -> CatalogueEntry:
    return await actions.create_entry(
        hub.db, hub.reference.invalidated, user, body, hub.clock.now()
    )


@router.put("/{code}", response_model=EntryOut, dependencies=[require(Permission.CATALOGUE_EDIT)])
async def new_version(code: Code, body: EntryIn, hub: HubDep, user: CurrentUser) -> CatalogueEntry:
    """Edits never rewrite a version: the old row is retired and a new one written."""
    return await actions.new_version(
        hub.db, hub.reference.invalidated, user, code, body, hub.clock.now()
    )


@router.delete("/{code}", status_code=204, dependencies=[require(Permission.CATALOGUE_EDIT)])
async def retire_entry(code: Code, hub: HubDep) -> None:
    """Return a power (the matter leaves the list); cases already routed keep their version."""
    await actions.retire_entry(hub.db, hub.reference.invalidated, code)
