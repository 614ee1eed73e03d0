from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select as sa_select
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.auth.models import User
from hub.auth.permissions import Permission, may
from hub.auth.security import verify_password
from hub.cases.machine import Action
from hub.enums import Role
from hub.errors import Forbidden, Unauthorized
from hub.regions.models import Region


@dataclass(frozen=True)
class Principal:
    """The authenticated caller, as loaded from the database (kept a second: auth/cache.py)."""

    user_id: int
    username: str
    display_name: str
    role: Role
    region_id: int | None
    region_code: str | None
    department_id: int | None
    staff_id: int | None
    # Set for API-key callers: they may do only what both their role and their key allow.
    grants: frozenset[str] | None = None
    # The session generation the credential was issued for (None for API keys).
    token_version: int | None = None

    @property
    def actor(self) -> str:
        return f"{self.display_name} ({self.username})"

    def can(self, what: Action | Permission) -> bool:
        return may(self.role, what) and (self.grants is None or what.value in self.grants)

    def denial(self, what: Action | Permission) -> str | None:
        """Why the caller may not `what` (None: they may), naming the role or the grant."""
        if not may(self.role, what):
            return f"role {self.role} may not {what.value}"
        if self.grants is not None and what.value not in self.grants:
            return f"API key lacks grant {what.value}"
        return None

    def check(self, what: Action | Permission) -> None:
        if (reason := self.denial(what)) is not None:
            # `kind` and `missing` let a screen say in Chinese what was refused.
            kind = "role" if not may(self.role, what) else "grant"
            raise Forbidden(reason, kind=kind, missing=what.value)


async def load_principal(
    session: AsyncSession, user_id: int, token_version: int | None
) -> Principal:
    """`token_version` None skips the session check (API keys carry no token). Runs on
    every request, so it reads plain columns rather than building an ORM object."""
    users, regions = User.__table__, Region.__table__  # type: ignore[attr-defined]
    stmt = (
        sa_select(
            users.c.username,
            users.c.display_name,
            users.c.role,
            users.c.region_id,
            users.c.department_id,
            users.c.staff_id,
            users.c.disabled,
            users.c.token_version,
            regions.c.code,
        )
        .select_from(users.outerjoin(regions, regions.c.id == users.c.region_id))
        .where(users.c.id == user_id)
    )
    conn = await session.connection()
    row = (await conn.execute(stmt)).first()
    if row is None:
        raise Unauthorized("unknown user")
    if row.disabled:
        raise Unauthorized("user is disabled")
    if token_version is not None and row.token_version != token_version:
        raise Unauthorized("token was revoked")
    return Principal(
        user_id=user_id,
        username=row.username,
        display_name=row.display_name,
        role=Role(row.role),
        region_id=row.region_id,
        region_code=row.code,
        department_id=row.department_id,
        staff_id=row.staff_id,
        token_version=token_version,
    )


async def authenticate(session: AsyncSession, username: str, password: str) -> User:
    user = (await session.exec(select(User).where(User.username == username))).first()
    if not verify_password(user.password_hash if user else None, password) or user is None:
        raise Unauthorized("wrong username or password")
    if user.disabled:
        raise Unauthorized("user is disabled")
    return user


def token_subject(claims: dict[str, Any]) -> tuple[int, int]:
    """(user id, token version) of a verified token's claims."""
    try:
        return int(claims["sub"]), int(claims["ver"])
    except (TypeError, ValueError) as exc:
        raise Unauthorized("malformed token subject") from exc
