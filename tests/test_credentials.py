"""Sessions, API keys, rate limits and the audit log of who got in and who was refused."""

from __future__ import annotations

from datetime import timedelta

import httpx

from hub.clock import FrozenClock
from tests.helpers import GRID, Auth
from tests.world import PASSWORD, World


async def _login(
    client: httpx.AsyncClient, username: str, password: str = PASSWORD
) -> httpx.Response:
    return await client.post(
        "/api/v1/auth/token", data={"username": username, "password": password}
    )


async def test_refresh_and_logout(client: httpx.AsyncClient, clock: FrozenClock) -> None:
    tokens = (await _login(client, "dispatcher")).json()
    clock.advance(timedelta(minutes=20))  # the access token (15 min) has expired
    me = await client.get(
        "/api/v1/auth/me", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert me.status_code == 401
    r = await client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["access_token"]})
    assert r.status_code == 401  # an access token is not a refresh token
    fresh = (
        await client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    ).json()
    headers = {"Authorization": f"Bearer {fresh['access_token']}"}
    assert (await client.get("/api/v1/auth/me", headers=headers)).status_code == 200
    assert (await client.post("/api/v1/auth/logout", headers=headers)).status_code == 204
    assert (await client.get("/api/v1/auth/me", headers=headers)).status_code == 401
    r = await client.post("/api/v1/auth/refresh", json={"refresh_token": fresh["refresh_token"]})
    assert r.status_code == 401


async def test_tokens_in_query_strings_are_ignored(client: httpx.AsyncClient, auth: Auth) -> None:
    token = auth("admin")["Authorization"].split()[1]
    for name in ("access_token", "token", "api_key"):
        r = await client.get("/api/v1/cases", params={name: token})
        assert r.status_code == 401


async def test_api_key_scope_grants_and_revocation(
    client: httpx.AsyncClient, auth: Auth, world: World
) -> None:
    body = {
        "name": "hotline-12345",
        "role": "dispatcher",
        "region_id": world.region["339901001"],
        "grants": ["case.create", "case.read"],
    }
    r = await client.post("/api/v1/api-keys", json=body, headers=auth("admin"))
    assert r.status_code == 201, r.text
    created = r.json()
    key = {"X-API-Key": created["key"]}
    r = await client.post(
        "/api/v1/cases",
        json={
            "title": "热线来电",
            "grid_code": GRID,
            "source": "hotline_12345",
            "category_code": "T01",
        },
        headers=key,
    )
    assert r.status_code == 201
    case = r.json()
    events = (await client.get(f"/api/v1/cases/{case['id']}/events", headers=key)).json()
    assert "hotline-12345" in events[0]["actor"]
    # The key's grants narrow its role: a dispatcher may cancel, this key may not.
    r = await client.post(
        f"/api/v1/cases/{case['id']}/cancel",
        json={"version": case["version"], "reason": "x"},
        headers=key,
    )
    assert r.status_code == 403
    # Its region is its scope.
    r = await client.post(
        "/api/v1/cases", json={"title": "x", "grid_code": "339902001001001"}, headers=key
    )
    assert r.status_code == 403
    listed = (await client.get("/api/v1/api-keys", headers=auth("admin"))).json()
    assert "key" not in listed[0] and "secret_hash" not in listed[0]
    forged = {"X-API-Key": created["key"][:-4] + "abcd"}
    assert (await client.get("/api/v1/cases", headers=forged)).status_code == 401
    assert (
        await client.delete(f"/api/v1/api-keys/{created['id']}", headers=auth("admin"))
    ).status_code == 204
    assert (await client.get("/api/v1/cases", headers=key)).status_code == 401
    assert (await client.get("/api/v1/cases", headers={"X-API-Key": "garbage"})).status_code == 401
    r = await client.post(
        "/api/v1/api-keys", json={**body, "grants": ["fly"]}, headers=auth("admin")
    )
    assert r.status_code == 422


async def test_login_rate_limits_per_account_and_address(
    client: httpx.AsyncClient, clock: FrozenClock
) -> None:
    for _ in range(10):
        assert (await _login(client, "leader", "wrong")).status_code == 401
    r = await _login(client, "leader")  # even the right password waits
    assert r.status_code == 429
    assert int(r.headers["Retry-After"]) >= 1
    assert (await _login(client, "dispatcher")).status_code == 200  # another account is fine
    clock.advance(timedelta(minutes=1))
    assert (await _login(client, "leader")).status_code == 200
    for i in range(60):
        await _login(client, f"nobody{i}", "x")
    assert (await _login(client, "commander")).status_code == 429  # this address is spent


async def test_case_creation_rate_limit_per_client(
    client: httpx.AsyncClient, auth: Auth, clock: FrozenClock
) -> None:
    from hub.auth.ratelimit import TokenBuckets

    hub = client._transport.app.state.hub  # type: ignore[attr-defined]
    hub.limits.create = TokenBuckets(clock, per_min=3)
    body = {"title": "x", "grid_code": GRID, "category_code": "T01"}
    codes = [
        (await client.post("/api/v1/cases", json=body, headers=auth("dispatcher"))).status_code
        for _ in range(4)
    ]
    assert codes == [201, 201, 201, 429]
    assert (
        await client.post("/api/v1/cases", json=body, headers=auth("commander"))
    ).status_code == 201


async def test_audit_log_records_logins_failures_and_denials(
    client: httpx.AsyncClient, auth: Auth
) -> None:
    await _login(client, "dispatcher")
    await _login(client, "dispatcher", "wrong")
    await client.get("/api/v1/users", headers=auth("dispatcher"))
    assert (await client.get("/api/v1/audit/log", headers=auth("dispatcher"))).status_code == 403
    log = (await client.get("/api/v1/audit/log", headers=auth("auditor"))).json()
    kinds = [(e["kind"], e["username"]) for e in log]
    assert ("login", "dispatcher") in kinds
    assert ("login_failed", "dispatcher") in kinds
    assert kinds.count(("denied", "dispatcher")) == 2
    chains = (await client.get("/api/v1/audit/chains", headers=auth("auditor"))).json()
    assert chains["ok"] is True
