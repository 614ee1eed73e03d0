"""Changes to the responsibility list. An entry is never rewritten: an edit retires the
current version and writes the next, so cases keep the version they were routed by. Each
change bumps the reference version and has the reference cache reloaded after commit."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from sqlmodel import col, select

from hub.auth.principal import Principal
from hub.catalogue import queries
from hub.catalogue.models import CatalogueEntry
from hub.catalogue.schemas import EntryCreate, EntryIn
from hub.db import Database, on_commit
from hub.dispatch.reference import bump
from hub.dispatch.routing import GRID_OFFICE
from hub.enums import HandlingTier
from hub.errors import Conflict, NotFound, Unprocessable

Invalidated = Callable[[], Awaitable[None]]


def _columns(body: EntryIn) -> dict[str, Any]:
    sla = body.sla.model_dump(mode="json", exclude_none=True) if body.sla else None
    return {**body.model_dump(exclude={"sla"}), "sla": sla}


def _check(body: EntryIn) -> None:
    if body.tier is HandlingTier.GRID and body.primary_department != GRID_OFFICE:
        raise Unprocessable(
            "primary_department", f"grid-tier entries are handled by the {GRID_OFFICE}"
        )


async def create_entry(
    db: Database, invalidated: Invalidated, user: Principal, body: EntryCreate, now: datetime
) -> CatalogueEntry:
    _check(body)
    async with db.transaction() as session:
        await bump(session)
        on_commit(session, invalidated)
        if await queries.history(session, body.code):
            raise Conflict(
                f"entry {body.code!r} exists; PUT a new version instead", kind="entry_exists"
            )
        entry = CatalogueEntry(**_columns(body), version=1, created_at=now, created_by=user.user_id)
        session.add(entry)
    return entry


async def new_version(
    db: Database, invalidated: Invalidated, user: Principal, code: str, body: EntryIn, now: datetime
) -> CatalogueEntry:
    """Edits never rewrite a version: the old row is retired and a new one written."""
    _check(body)
    async with db.transaction() as session:
        await bump(session)
        on_commit(session, invalidated)
        versions = await queries.history(session, code)
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
            created_at=now,
            created_by=user.user_id,
        )
        session.add(entry)
    return entry


async def retire_entry(db: Database, invalidated: Invalidated, code: str) -> None:
    """Return a power (the matter leaves the list); cases already routed keep their version."""
    async with db.transaction() as session:
        await bump(session)
        on_commit(session, invalidated)
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
