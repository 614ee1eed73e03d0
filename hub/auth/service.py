from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.auth.models import User
from hub.auth.permissions import Permission, may
from hub.auth.security import read_token, verify_password
from hub.cases.machine import Action
from hub.enums import Role
from hub.errors import Unauthorized
from hub.regions.models import Region


@dataclass(frozen=True)
class Principal:
    """The authenticated caller, as loaded fresh from the database on every request."""

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


async def load_principal(
    session: AsyncSession, user_id: int, token_version: int | None
) -> Principal:
    """`token_version` None skips the session check (API keys carry no token)."""
    row = (
        await session.exec(
            select(User, Region.code)
            .join(Region, Region.id == User.region_id, isouter=True)  # type: ignore[arg-type]
            .where(User.id == user_id)
        )
    ).first()
    if row is None:
        raise Unauthorized("unknown user")
    user, region_code = row
    if user.disabled:
        raise Unauthorized("user is disabled")
    if token_version is not None and user.token_version != token_version:
        raise Unauthorized("token was revoked")
    assert user.id is not None
    return Principal(
        user_id=user.id,
        username=user.username,
        display_name=user.display_name,
        role=user.role,
        region_id=user.region_id,
        region_code=region_code,
        department_id=user.department_id,
        staff_id=user.staff_id,
        token_version=token_version,
    )


async def authenticate(session: AsyncSession, username: str, password: str) -> User:
    user = (await session.exec(select(User).where(User.username == username))).first()
    if not verify_password(user.password_hash if user else None, password) or user is None:
        raise Unauthorized("wrong username or password")
    if user.disabled:
        raise Unauthorized("user is disabled")
    return user


async def principal_from_token(
    session: AsyncSession, token: str, *, secret: str, now: datetime
) -> Principal:
    """The helper REST and the websocket gateway share to turn a token into a caller."""
    claims = read_token(token, secret=secret, now=now, kind="access")
    try:
        user_id = int(claims["sub"])
        version = int(claims["ver"])
    except (TypeError, ValueError) as exc:
        raise Unauthorized("malformed token subject") from exc
    return await load_principal(session, user_id, version)
