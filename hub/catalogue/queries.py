from __future__ import annotations

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.catalogue.models import CatalogueEntry


async def current_entry(session: AsyncSession, code: str) -> CatalogueEntry | None:
    stmt = select(CatalogueEntry).where(
        CatalogueEntry.code == code, col(CatalogueEntry.is_current).is_(True)
    )
    return (await session.exec(stmt)).first()


async def list_current(session: AsyncSession) -> list[CatalogueEntry]:
    stmt = (
        select(CatalogueEntry)
        .where(col(CatalogueEntry.is_current).is_(True))
        .order_by(col(CatalogueEntry.code))
    )
    return list((await session.exec(stmt)).all())


async def history(session: AsyncSession, code: str) -> list[CatalogueEntry]:
    stmt = (
        select(CatalogueEntry)
        .where(CatalogueEntry.code == code)
        .order_by(col(CatalogueEntry.version))
    )
    return list((await session.exec(stmt)).all())
