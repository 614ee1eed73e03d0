"""The principal cache: a token's caller is remembered for a second, never past the token's
expiry, and forgotten at once when this process changes users."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import text

from hub.auth.cache import PrincipalCache
from hub.auth.principal import Principal
from hub.deps import Hub
from hub.enums import Role
from tests.helpers import Auth
from tests.world import T0, World

ALICE = Principal(
    user_id=1,
    username="alice",
    display_name="Alice",
    role=Role.DISPATCHER,
    region_id=None,
    region_code=None,
    department_id=None,
    staff_id=None,
    token_version=0,
)


class Ticks:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_entries_live_a_recheck_interval_and_never_past_the_token_expiry() -> None:
    ticks = Ticks()
    cache = PrincipalCache(recheck_s=1.0, monotonic=ticks)
    exp = int((T0 + timedelta(minutes=5)).timestamp())
    assert cache.get("tok", T0) is None
    cache.put("tok", ALICE, exp)
    assert cache.get("tok", T0) is ALICE
    ticks.now += 0.99
    assert cache.get("tok", T0) is ALICE
    ticks.now += 0.01
    assert cache.get("tok", T0) is None  # due for a re-check: loaded again by the caller
    assert len(cache) == 0

    cache.put("tok", ALICE, exp)
    assert cache.get("tok", T0 + timedelta(minutes=5)) is None  # expired on the hub's clock


def test_a_flood_of_tokens_does_not_grow_it_without_bound() -> None:
    cache = PrincipalCache(max_entries=3)
    exp = int((T0 + timedelta(minutes=5)).timestamp())
    for i in range(10):
        cache.put(f"tok{i}", ALICE, exp)
        assert len(cache) <= 3
    assert cache.get("tok9", T0) is ALICE
    cache.clear()
    assert len(cache) == 0


async def test_a_change_by_another_process_is_seen_within_the_recheck(
    hub: Hub, client: httpx.AsyncClient, auth: Auth, world: World
) -> None:
    ticks = Ticks()
    hub.principals = PrincipalCache(recheck_s=1.0, monotonic=ticks)
    headers = auth("dispatcher")
    assert (await client.get("/api/v1/cases", headers=headers)).status_code == 200
    # Another hub process disables the user: this process does not hear of it...
    async with hub.db.transaction() as session:
        conn = await session.connection()
        await conn.execute(
            text("UPDATE users SET disabled = true WHERE id = :id"),
            {"id": world.user["dispatcher"]},
        )
    ticks.now += 0.5
    assert (await client.get("/api/v1/cases", headers=headers)).status_code == 200
    # ...until its copy is due for a re-check.
    ticks.now += 0.5
    r = await client.get("/api/v1/cases", headers=headers)
    assert r.status_code == 401
    assert "disabled" in r.text


async def test_logout_here_ends_the_session_at_once(
    hub: Hub, client: httpx.AsyncClient, auth: Auth
) -> None:
    hub.principals = PrincipalCache(recheck_s=3600.0)  # only this process's clearing counts
    headers = auth("dispatcher")
    assert (await client.get("/api/v1/cases", headers=headers)).status_code == 200
    assert len(hub.principals) == 1
    assert (await client.post("/api/v1/auth/logout", headers=headers)).status_code == 204
    assert (await client.get("/api/v1/cases", headers=headers)).status_code == 401
