from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from hub.errors import Unauthorized

_hasher = PasswordHasher()
ALGORITHM = "HS256"
# Verifying against this keeps an unknown username as slow as a wrong password.
_DUMMY_HASH = _hasher.hash("dummy-password-for-timing")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def issue_token(
    *, user_id: int, token_version: int, secret: str, now: datetime, ttl_s: int, kind: str
) -> str:
    claims = {
        "sub": str(user_id),
        "ver": token_version,
        "typ": kind,
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(seconds=ttl_s)).timestamp()),
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def read_token(token: str, *, secret: str, now: datetime, kind: str) -> dict[str, Any]:
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            options={
                "verify_exp": False,
                "verify_iat": False,
                "require": ["sub", "exp", "ver", "typ"],
            },
        )
    except jwt.PyJWTError as exc:
        raise Unauthorized(f"invalid token: {exc}") from exc
    # Expiry is checked against the injected clock so frozen-clock tests see real expiry.
    if int(claims["exp"]) <= int(now.timestamp()):
        raise Unauthorized("token expired")
    if claims["typ"] != kind:
        raise Unauthorized(f"expected a {kind} token")
    return claims
