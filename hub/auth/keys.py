"""API keys for machine clients: `hub_<prefix>_<secret>`, stored as a SHA-256 of the secret
(the secret is 256 random bits, so a slow hash adds nothing)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import replace
from datetime import datetime

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.auth.models import ApiKey
from hub.auth.principal import Principal, load_principal
from hub.errors import Unauthorized

KEY_PREFIX = "hub_"


def new_key() -> tuple[str, str, str]:
    """(raw key to hand out once, prefix, stored hash)."""
    prefix = secrets.token_hex(4)
    secret = secrets.token_urlsafe(32)
    return f"{KEY_PREFIX}{prefix}_{secret}", prefix, _digest(secret)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


async def principal_from_api_key(session: AsyncSession, raw: str, now: datetime) -> Principal:
    if not raw.startswith(KEY_PREFIX) or raw.count("_") < 2:
        raise Unauthorized("malformed API key")
    prefix, secret = raw[len(KEY_PREFIX) :].split("_", 1)
    key = (await session.exec(select(ApiKey).where(ApiKey.prefix == prefix))).first()
    if key is None or not hmac.compare_digest(key.secret_hash, _digest(secret)):
        raise Unauthorized("unknown API key")
    if key.revoked_at is not None and key.revoked_at <= now:
        raise Unauthorized("API key was revoked")
    principal = await load_principal(session, key.user_id, None)
    return replace(principal, grants=frozenset(key.grants))
