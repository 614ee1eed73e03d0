from __future__ import annotations

import asyncio

import httpx
from sqlalchemy import func
from sqlmodel import select

from hub.cases.models import Case
from hub.deps import Hub
from tests.helpers import GRID, Auth


async def test_a_retried_create_returns_the_same_case(
    client: httpx.AsyncClient, auth: Auth, hub: Hub
) -> None:
    headers = {**auth("dispatcher"), "Idempotency-Key": "hotline-20261123-0001"}
    body = {"title": "路灯不亮", "grid_code": GRID, "category_code": "G01"}
    first = await client.post("/api/v1/cases", json=body, headers=headers)
    again = await client.post("/api/v1/cases", json=body, headers=headers)
    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    different = await client.post("/api/v1/cases", json={**body, "title": "别的"}, headers=headers)
    assert different.status_code == 409
    # The same key from another client is that client's own key.
    other = await client.post(
        "/api/v1/cases",
        json=body,
        headers={**auth("commander"), "Idempotency-Key": headers["Idempotency-Key"]},
    )
    assert other.status_code == 201 and other.json()["id"] != first.json()["id"]


async def test_concurrent_retries_create_one_case(
    client: httpx.AsyncClient, auth: Auth, hub: Hub
) -> None:
    headers = {**auth("dispatcher"), "Idempotency-Key": "burst-1"}
    body = {"title": "并发重试", "grid_code": GRID, "category_code": "T01"}
    replies = await asyncio.gather(
        *(client.post("/api/v1/cases", json=body, headers=headers) for _ in range(8))
    )
    assert {r.status_code for r in replies} <= {200, 201}
    assert len({r.json()["id"] for r in replies}) == 1
    async with hub.db.read() as s:
        n = (
            await s.exec(
                select(func.count()).select_from(Case).where(Case.idempotency_key == "burst-1")
            )
        ).one()
    assert n == 1
