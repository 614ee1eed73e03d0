from __future__ import annotations

from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import col, select

from hub.auth.models import User
from hub.config import Settings
from hub.db import Database
from hub.regions.models import Region


async def account_lines(settings: Settings) -> list[str]:
    """The accounts table `make run` prints, read from the database (not a fixed list)."""
    db = Database(settings.database_url, pool_size=1)
    try:
        async with db.read() as session:
            rows = (
                await session.exec(
                    select(User, Region.name_zh)
                    .join(Region, col(Region.id) == User.region_id, isouter=True)
                    .where(col(User.disabled).is_(False))
                    .order_by(col(User.id))
                    .limit(40)
                )
            ).all()
    except SQLAlchemyError as exc:
        return [f"(could not read accounts: {exc.__class__.__name__})"]
    finally:
        await db.dispose()
    if not rows:
        return ["No accounts yet: run `hub demo` to load the demo city."]
    lines = [f"Accounts (password: {settings.demo_password!r} for the demo ones):"]
    lines += [f"  {u.username:<18} {u.role.value:<16} {region or '(all)'}" for u, region in rows]
    return lines
