from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, OAuth2PasswordBearer

from hub.auth.keys import principal_from_api_key
from hub.auth.permissions import Permission
from hub.auth.principal import Principal, load_principal, token_subject
from hub.auth.security import read_token
from hub.deps import Hub, HubDep
from hub.errors import Unauthorized

# auto_error=False so a missing token is our own 401 body, like every other auth failure.
bearer_token = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)
api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False)


async def current_principal(
    request: Request,
    hub: HubDep,
    token: Annotated[str | None, Depends(bearer_token)],
    api_key: Annotated[str | None, Depends(api_key_header)],
) -> Principal:
    """Bearer token or `X-API-Key`, never a query parameter (those end up in logs)."""
    known: Principal | None = getattr(request.state, "principal", None)
    if known is not None:  # already loaded by hub.auth.guard for this request
        return known
    if token:
        principal = await token_principal(hub, token)
    elif api_key:
        async with hub.db.read() as session:
            principal = await principal_from_api_key(session, api_key, hub.clock.now())
    else:
        raise Unauthorized("missing bearer token or API key")
    request.state.principal = principal  # for the audit of denied requests
    return principal


async def token_principal(hub: Hub, token: str) -> Principal:
    """The caller of an access token: from the principal cache, else verified and loaded."""
    now = hub.clock.now()
    principal = hub.principals.get(token, now)
    if principal is None:
        claims = read_token(token, secret=hub.settings.secret_key, now=now, kind="access")
        async with hub.db.read() as session:
            principal = await load_principal(session, *token_subject(claims))
        hub.principals.put(token, principal, int(claims["exp"]))
    return principal


CurrentUser = Annotated[Principal, Depends(current_principal)]


def require(permission: Permission) -> Any:
    async def _check(user: CurrentUser) -> Principal:
        user.check(permission)
        return user

    return Depends(_check)
