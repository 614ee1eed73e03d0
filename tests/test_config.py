"""Settings: the signing key's rules, and the default settings serving without warnings."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError

from hub.auth.security import issue_token
from hub.clock import FrozenClock
from hub.config import DEFAULT_SECRET, MIN_SECRET_BYTES, Settings
from hub.db import Database
from hub.deps import Hub
from hub.main import create_app
from tests import world as w


def test_the_placeholder_is_long_enough_for_hs256() -> None:
    assert len(DEFAULT_SECRET.encode()) >= MIN_SECRET_BYTES
    assert Settings().secret_key == DEFAULT_SECRET


def test_production_refuses_the_placeholder() -> None:
    with pytest.raises(ValidationError, match="real secret"):
        Settings(mode="production", secret_key=DEFAULT_SECRET)


@pytest.mark.parametrize("mode", ["demo", "production"])
def test_a_short_key_is_refused_in_every_mode(mode: str) -> None:
    with pytest.raises(ValidationError, match="at least 32 bytes"):
        Settings(mode=mode, secret_key="s" * (MIN_SECRET_BYTES - 1))
    # Bytes, as the HMAC sees them: 11 Chinese characters are 33 bytes in UTF-8.
    assert Settings(mode=mode, secret_key="吹" * 11).secret_key == "吹" * 11


async def test_a_request_with_the_default_settings_warns_nothing(
    sqlite_template: Path, tmp_path: Path
) -> None:
    """The token is signed and checked with the default key (PyJWT warns below 32 bytes),
    and nothing else on the way warns either."""
    db_path = tmp_path / "hub.db"
    shutil.copy(sqlite_template, db_path)
    settings = Settings(database_url=f"sqlite+aiosqlite:///{db_path}", sla_in_process=False)
    hub = Hub(settings=settings, db=Database(settings.database_url), clock=FrozenClock(w.T0))
    try:
        async with hub.db.read() as session:
            world = await w.load(session)
        transport = httpx.ASGITransport(app=create_app(hub=hub))
        async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                token = issue_token(
                    user_id=world.user["admin"],
                    token_version=0,
                    secret=settings.secret_key,
                    now=hub.clock.now(),
                    ttl_s=600,
                    kind="access",
                )
                r = await client.get("/api/v1/cases", headers={"Authorization": f"Bearer {token}"})
    finally:
        await hub.aclose()
    assert r.status_code == 200, r.text
    assert [str(c.message) for c in caught] == []
