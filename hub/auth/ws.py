"""What the websocket gateway uses to let a client in: the Origin allowlist for the
handshake, and the first message that carries the credential (never the URL)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from hub.auth.deps import token_principal
from hub.auth.keys import principal_from_api_key
from hub.auth.principal import Principal
from hub.config import Settings
from hub.deps import Hub
from hub.errors import Unauthorized


def origin_allowed(settings: Settings, origin: str | None, host: str | None) -> bool:
    """Browsers always send Origin; a client without one is not a browser page that could be
    abused cross-site, and still has to authenticate."""
    if origin is None:
        return True
    origin = origin.rstrip("/")
    if origin in settings.origin_allowlist:
        return True
    return host is not None and urlsplit(origin).netloc == host


async def authenticate_message(hub: Hub, message: Any) -> Principal:
    """`{"type": "auth", "token": "..."}` or `{"type": "auth", "api_key": "..."}`."""
    if not isinstance(message, dict) or message.get("type") != "auth":
        raise Unauthorized('the first message must be {"type": "auth", "token": ...}')
    token, api_key = message.get("token"), message.get("api_key")
    if isinstance(token, str) and token:
        return await token_principal(hub, token)
    if isinstance(api_key, str) and api_key:
        async with hub.db.read() as session:
            return await principal_from_api_key(session, api_key, hub.clock.now())
    raise Unauthorized("auth message carries no token or api_key")
