from __future__ import annotations

import httpx
import pytest
from pydantic import ValidationError

from hub.config import DEFAULT_SECRET, Settings
from tests.helpers import Auth
from tests.world import PASSWORD, World


async def test_login_and_me(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/api/v1/auth/token", data={"username": "dispatcher", "password": PASSWORD}
    )
    assert r.status_code == 200, r.text
    token = r.json()["access_token"]
    me = await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json()["username"] == "dispatcher" and me.json()["role"] == "dispatcher"
    bad = await client.post("/api/v1/auth/token", data={"username": "dispatcher", "password": "no"})
    assert bad.status_code == 401
    nobody = await client.post("/api/v1/auth/token", data={"username": "ghost", "password": "x"})
    assert nobody.status_code == 401


async def test_disabling_a_user_takes_effect_on_the_next_request(
    client: httpx.AsyncClient, auth: Auth, world: World
) -> None:
    headers = auth("dispatcher")
    assert (await client.get("/api/v1/cases", headers=headers)).status_code == 200
    r = await client.patch(
        f"/api/v1/users/{world.user['dispatcher']}", json={"disabled": True}, headers=auth("admin")
    )
    assert r.status_code == 200
    assert (await client.get("/api/v1/cases", headers=headers)).status_code == 401
    r = await client.post(
        "/api/v1/auth/token", data={"username": "dispatcher", "password": PASSWORD}
    )
    assert r.status_code == 401


async def test_user_management_is_admin_only(
    client: httpx.AsyncClient, auth: Auth, world: World
) -> None:
    body = {
        "username": "new_dispatcher",
        "display_name": "新调度员",
        "password": "pw1234",
        "role": "dispatcher",
        "region_id": world.region["339901002"],
    }
    assert (
        await client.post("/api/v1/users", json=body, headers=auth("commander"))
    ).status_code == 403
    r = await client.post("/api/v1/users", json=body, headers=auth("admin"))
    assert r.status_code == 201 and "password" not in r.text
    again = await client.post("/api/v1/users", json=body, headers=auth("admin"))
    assert again.status_code == 409


def test_settings_refuse_a_placeholder_secret_outside_demo() -> None:
    with pytest.raises(ValidationError):
        Settings(mode="production", secret_key=DEFAULT_SECRET)
    assert Settings(mode="demo").secret_key == DEFAULT_SECRET


async def test_health_and_metrics_need_no_token(client: httpx.AsyncClient, auth: Auth) -> None:
    await client.post(
        "/api/v1/cases",
        json={"title": "x", "grid_code": "339901001001001", "category_code": "T01"},
        headers=auth("dispatcher"),
    )
    r = await client.get("/metrics")
    assert r.status_code == 200
    assert 'hub_cases_created_total{tier="township"} 1.0' in r.text
    assert 'hub_open_cases{state="dispatched"} 1.0' in r.text
    assert "hub_action_seconds_bucket" in r.text
    assert (await client.get("/docs")).status_code == 200
    spec = (await client.get("/openapi.json")).json()
    assert "/api/v1/cases/{case_id}/confirm-whistle" in spec["paths"]
