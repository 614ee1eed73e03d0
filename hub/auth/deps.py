from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends
from fastapi.security import OAuth2PasswordBearer

from hub.auth.permissions import Permission, may
from hub.auth.service import Principal, principal_from_token
from hub.deps import HubDep
from hub.errors import Forbidden, Unauthorized

# auto_error=False so a missing token is our own 401 body, like every other auth failure.
_bearer = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


async def current_principal(
    hub: HubDep, token: Annotated[str | None, Depends(_bearer)]
) -> Principal:
    if not token:
        raise Unauthorized("missing bearer token")
    async with hub.db.read() as session:
        return await principal_from_token(
            session, token, secret=hub.settings.secret_key, now=hub.clock.now()
        )


CurrentUser = Annotated[Principal, Depends(current_principal)]


def require(permission: Permission) -> Any:
    async def _check(user: CurrentUser) -> Principal:
        if not may(user.role, permission):
            raise Forbidden(f"role {user.role} may not {permission}")
        return user

    return Depends(_check)
