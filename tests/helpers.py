from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

Auth = Callable[[str], dict[str, str]]
GRID = "339901001001001"  # Dongmen street, county 339901


class Api:
    """Thin test client: `await api.create(...)`, `await api.act(user, case, action)`."""

    def __init__(self, client: httpx.AsyncClient, auth: Auth) -> None:
        self.client = client
        self.auth = auth

    async def create(self, user: str = "dispatcher", **fields: Any) -> dict[str, Any]:
        body = {"title": "井盖缺失", "grid_code": GRID, **fields}
        r = await self.client.post("/api/v1/cases", json=body, headers=self.auth(user))
        assert r.status_code == 201, r.text
        data: dict[str, Any] = r.json()
        return data

    async def act_raw(
        self, user: str, case: dict[str, Any], action: str, **body: Any
    ) -> httpx.Response:
        payload = {"version": case["version"], **body}
        return await self.client.post(
            f"/api/v1/cases/{case['id']}/{action}", json=payload, headers=self.auth(user)
        )

    async def act(
        self, user: str, case: dict[str, Any], action: str, **body: Any
    ) -> dict[str, Any]:
        r = await self.act_raw(user, case, action, **body)
        assert r.status_code == 200, f"{action}: {r.status_code} {r.text}"
        data: dict[str, Any] = r.json()
        return data

    async def get(self, case_id: int, user: str = "admin") -> dict[str, Any]:
        r = await self.client.get(f"/api/v1/cases/{case_id}", headers=self.auth(user))
        assert r.status_code == 200, r.text
        data: dict[str, Any] = r.json()
        return data

    async def events(self, case_id: int, user: str = "admin") -> list[dict[str, Any]]:
        r = await self.client.get(f"/api/v1/cases/{case_id}/events", headers=self.auth(user))
        assert r.status_code == 200, r.text
        data: list[dict[str, Any]] = r.json()
        return data
