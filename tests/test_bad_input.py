"""Bad input gets a clear 4xx naming what was wrong, and never changes stored data."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func
from sqlmodel import select

from hub.auth.security import issue_token
from hub.cases.models import Case, CaseEvent
from hub.deps import Hub
from tests.helpers import GRID, Api, Auth
from tests.world import World


@pytest.fixture
def api(client: httpx.AsyncClient, auth: Auth) -> Api:
    return Api(client, auth)


async def counts(hub: Hub) -> tuple[int, int]:
    async with hub.db.read() as s:
        cases = (await s.exec(select(func.count()).select_from(Case))).one()
        events = (await s.exec(select(func.count()).select_from(CaseEvent))).one()
    return cases, events


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": "x", "grid_code": "339901001001999"}, "grid_code"),
        ({"title": "x", "grid_code": GRID, "category_code": "NOPE"}, "category_code"),
    ],
)
async def test_unknown_references_name_the_field(
    client: httpx.AsyncClient, auth: Auth, hub: Hub, body: dict[str, str], field: str
) -> None:
    before = await counts(hub)
    r = await client.post("/api/v1/cases", json=body, headers=auth("dispatcher"))
    assert r.status_code == 422
    assert r.json()["field"] == field
    assert await counts(hub) == before


async def test_schema_violations_are_422_naming_the_field(
    client: httpx.AsyncClient, auth: Auth
) -> None:
    r = await client.post(
        "/api/v1/cases", json={"title": "", "grid_code": "12"}, headers=auth("dispatcher")
    )
    assert r.status_code == 422
    locs = {tuple(d["loc"]) for d in r.json()["detail"]}
    assert ("body", "title") in locs and ("body", "grid_code") in locs
    r = await client.post(
        "/api/v1/cases",
        json={"title": "x", "grid_code": GRID, "evil": 1},
        headers=auth("dispatcher"),
    )
    assert r.status_code == 422


async def test_malformed_json_and_oversized_bodies(
    client: httpx.AsyncClient, auth: Auth, hub: Hub
) -> None:
    before = await counts(hub)
    headers = {**auth("dispatcher"), "Content-Type": "application/json"}
    r = await client.post("/api/v1/cases", content=b'{"title": "x", ', headers=headers)
    assert r.status_code == 422
    big = b'{"title": "' + b"x" * 70_000 + b'", "grid_code": "' + GRID.encode() + b'"}'
    r = await client.post("/api/v1/cases", content=big, headers=headers)
    assert r.status_code == 413
    assert r.json()["error"] == "body_too_large"

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(20):
            yield b"x" * 4096

    r = await client.post("/api/v1/cases", content=chunks(), headers=headers)
    assert r.status_code == 413
    assert await counts(hub) == before


async def test_missing_forged_and_expired_tokens_are_401(
    client: httpx.AsyncClient, hub: Hub, world: World
) -> None:
    assert (await client.get("/api/v1/cases")).status_code == 401
    bad = {"Authorization": "Bearer not-a-token"}
    assert (await client.get("/api/v1/cases", headers=bad)).status_code == 401
    forged = issue_token(
        user_id=world.user["admin"],
        token_version=0,
        secret="x" * 40,
        now=hub.clock.now(),
        ttl_s=60,
        kind="access",
    )
    r = await client.get("/api/v1/cases", headers={"Authorization": f"Bearer {forged}"})
    assert r.status_code == 401
    expired = issue_token(
        user_id=world.user["admin"],
        token_version=0,
        secret=hub.settings.secret_key,
        now=hub.clock.now() - timedelta(hours=2),
        ttl_s=60,
        kind="access",
    )
    r = await client.get("/api/v1/cases", headers={"Authorization": f"Bearer {expired}"})
    assert r.status_code == 401 and "expired" in r.json()["message"]


async def test_role_without_permission_gets_403_and_nothing_changes(api: Api, hub: Hub) -> None:
    case = await api.create(category_code="T01")
    before = await counts(hub)
    r = await api.act_raw("wall", case, "cancel", reason="x")
    assert r.status_code == 403
    r = await api.client.post(
        "/api/v1/cases", json={"title": "x", "grid_code": GRID}, headers=api.auth("wall")
    )
    assert r.status_code == 403
    assert await counts(hub) == before


async def test_illegal_and_stale_actions_are_409_with_state_and_allowed(api: Api, hub: Hub) -> None:
    case = await api.create(category_code="T01")
    r = await api.act_raw("dispatcher", case, "close")
    assert r.status_code == 409
    body = r.json()
    assert body["state"] == "dispatched"
    assert "acknowledge" in body["allowed_actions"] and "close" not in body["allowed_actions"]
    stale = {**case, "version": case["version"] - 1}
    r = await api.act_raw("admin", stale, "acknowledge")
    assert r.status_code == 409 and r.json()["version"] == case["version"]
    assert (await api.get(case["id"]))["version"] == case["version"]


async def test_unknown_staff_and_bad_ids(api: Api, world: World) -> None:
    case = await api.create(category_code=None)
    r = await api.act_raw(
        "dispatcher",
        case,
        "dispatch",
        category_code="C02",
        department_id=world.dept[("339901", "housing")],
        staff_id=999999,
    )
    assert r.status_code == 422 and r.json()["field"] == "staff_id"
    r = await api.act_raw(
        "dispatcher",
        case,
        "dispatch",
        category_code="C02",
        department_id=world.dept[("339902", "housing")],
    )
    assert r.status_code == 422 and r.json()["field"] == "department_id"
    r = await api.client.post(
        "/api/v1/cases/abc/acknowledge", json={"version": 1}, headers=api.auth("admin")
    )
    assert r.status_code == 422
    r = await api.client.post(
        "/api/v1/cases/99999/acknowledge", json={"version": 1}, headers=api.auth("admin")
    )
    assert r.status_code == 404
    r = await api.act_raw("dispatcher", case, "merge", into_case_id=case["id"])
    assert r.status_code == 422 and r.json()["field"] == "into_case_id"
    assert (await api.get(case["id"]))["version"] == case["version"]


async def test_evaluation_scores_are_bounded(api: Api) -> None:
    case = await api.create(category_code="T01")
    r = await api.act_raw("dispatcher", case, "evaluate", township_score=9)
    assert r.status_code == 422


async def test_creating_a_case_outside_ones_region_is_refused(
    client: httpx.AsyncClient, auth: Auth, hub: Hub
) -> None:
    before = await counts(hub)
    r = await client.post(
        "/api/v1/cases",
        json={"title": "x", "grid_code": "339902001001001"},
        headers=auth("dispatcher"),
    )
    assert r.status_code == 403 and r.json()["field"] == "grid_code"
    assert await counts(hub) == before
