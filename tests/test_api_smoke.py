from __future__ import annotations

from collections.abc import Callable

import httpx

from tests.world import World

Auth = Callable[[str], dict[str, str]]


async def test_health(client: httpx.AsyncClient) -> None:
    r = await client.get("/healthz")
    assert r.status_code == 200
    assert r.json()["status"] == "ok"


async def test_create_county_case_waits_for_leader(
    client: httpx.AsyncClient, auth: Auth, world: World
) -> None:
    r = await client.post(
        "/api/v1/cases",
        json={"title": "占道经营", "category_code": "C01", "grid_code": "339901001001001"},
        headers=auth("dispatcher"),
    )
    assert r.status_code == 201, r.text
    case = r.json()
    assert case["state"] == "awaiting_confirmation"
    assert case["whistle_level"] == 3
    assert case["department_id"] == world.dept[("339901", "police")]


async def test_create_answers_exactly_the_caseout_shape(
    client: httpx.AsyncClient, auth: Auth
) -> None:
    from hub.cases.schemas import CaseOut

    r = await client.post(
        "/api/v1/cases",
        json={"title": "x", "grid_code": "339901001001001", "category_code": "T01"},
        headers=auth("dispatcher"),
    )
    created = r.json()
    assert CaseOut.model_validate(created).model_dump(mode="json") == created
    fetched = await client.get(f"/api/v1/cases/{created['id']}", headers=auth("dispatcher"))
    assert fetched.json() == created
