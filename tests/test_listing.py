"""Listing cases: filters, scope in SQL, cursor pagination, timezone-correct times."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

import httpx
import pytest

from hub.clock import FrozenClock
from tests.helpers import Api, Auth
from tests.world import World

SOUTH_GRID = "339902001001001"
WEST_GRID = "339901002001001"


@pytest.fixture
def api(client: httpx.AsyncClient, auth: Auth) -> Api:
    return Api(client, auth)


async def _ids(api: Api, user: str, **params: Any) -> list[int]:
    r = await api.client.get("/api/v1/cases", params=params, headers=api.auth(user))
    assert r.status_code == 200, r.text
    return [c["id"] for c in r.json()["items"]]


async def test_filters_and_scope(api: Api, world: World, clock: FrozenClock) -> None:
    east = await api.create(category_code="T01")
    clock.advance(timedelta(minutes=1))
    west = await api.create(user="admin", category_code="C02", grid_code=WEST_GRID)
    clock.advance(timedelta(minutes=1))
    south = await api.create(user="admin", category_code="C02", grid_code=SOUTH_GRID)
    queued = await api.create(category_code=None)

    assert await _ids(api, "admin") == [queued["id"], south["id"], west["id"], east["id"]]
    assert set(await _ids(api, "commander")) == {queued["id"], south["id"], west["id"], east["id"]}
    assert set(await _ids(api, "county_commander")) == {queued["id"], west["id"], east["id"]}
    assert set(await _ids(api, "dispatcher")) == {queued["id"], east["id"]}
    assert await _ids(api, "dispatcher_south") == [south["id"]]
    assert await _ids(api, "admin", region="339902") == [south["id"]]
    assert await _ids(api, "admin", state="reported") == [queued["id"]]
    assert set(await _ids(api, "admin", state=["reported", "dispatched"])) == {
        queued["id"],
        east["id"],
        west["id"],
        south["id"],
    }
    assert await _ids(api, "admin", whistle_level=2) == [east["id"]]
    assert await _ids(api, "admin", department_id=world.dept[("339902", "housing")]) == [
        south["id"]
    ]
    assert await _ids(api, "admin", overdue=True) == []
    clock.advance(timedelta(days=30))
    assert set(await _ids(api, "admin", overdue=True)) == {east["id"], west["id"], south["id"]}
    after = (clock.now() - timedelta(days=30, seconds=30)).isoformat()
    assert set(await _ids(api, "admin", created_from=after)) == {south["id"], queued["id"]}
    # Out-of-scope objects look absent, not forbidden.
    r = await api.client.get(f"/api/v1/cases/{south['id']}", headers=api.auth("dispatcher"))
    assert r.status_code == 404
    r = await api.client.get(
        "/api/v1/cases", params={"created_from": "2026-11-23T10:00:00"}, headers=api.auth("admin")
    )
    assert r.status_code == 422  # naive times are ambiguous


async def test_cursor_pagination_visits_every_case_once(api: Api, clock: FrozenClock) -> None:
    made = []
    for i in range(7):
        made.append((await api.create(category_code="T01", title=f"case {i}"))["id"])
        if i % 2:
            clock.advance(timedelta(seconds=1))  # several share a created_at
    for order, expected in (("newest", made[::-1]), ("oldest", made)):
        seen: list[int] = []
        cursor = None
        while True:
            params: dict[str, Any] = {"limit": 3, "order": order}
            if cursor:
                params["cursor"] = cursor
            r = await api.client.get("/api/v1/cases", params=params, headers=api.auth("admin"))
            page = r.json()
            seen += [c["id"] for c in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == expected
    r = await api.client.get(
        "/api/v1/cases", params={"cursor": "!!garbage"}, headers=api.auth("admin")
    )
    assert r.status_code == 422 and r.json()["field"] == "cursor"


async def test_regions_subtree_and_catalogue_search(api: Api) -> None:
    r = await api.client.get(
        "/api/v1/regions", params={"under": "339901", "tier": "grid"}, headers=api.auth("admin")
    )
    codes = [x["code"] for x in r.json()["items"]]
    assert codes == ["339901001001001", "339901001001002", "339901002001001"]
    r = await api.client.get("/api/v1/catalogue", params={"q": "c0"}, headers=api.auth("admin"))
    assert [e["code"] for e in r.json()] == ["C01", "C02"]


async def _export_ids(api: Api, user: str, **params: Any) -> list[int]:
    r = await api.client.get("/api/v1/cases/export.csv", params=params, headers=api.auth(user))
    assert r.status_code == 200, r.text
    rows = list(csv.DictReader(io.StringIO(r.text)))
    return [int(row["id"]) for row in rows]


async def test_the_export_takes_every_filter_the_list_takes(api: Api, clock: FrozenClock) -> None:
    made = [await api.create(category_code="T01")]
    clock.advance(timedelta(minutes=1))
    made.append(await api.create(user="admin", category_code="C02", grid_code=WEST_GRID))
    made.append(await api.create(user="admin", category_code="G01"))
    middle = clock.now()
    clock.advance(timedelta(minutes=1))
    made.append(await api.create(user="admin", category_code="C02", grid_code=SOUTH_GRID))
    made.append(await api.create(category_code=None))
    clock.advance(timedelta(days=5))  # two of them are overdue now
    filters: list[dict[str, Any]] = [
        {"region": "339902"},
        {"region": "339901001"},
        {"state": "reported"},
        {"state": ["reported", "closed"]},
        {"overdue": True},
        {"overdue": False},
        {"created_from": middle.isoformat()},
        {"created_to": middle.isoformat()},
        {"region": "339901", "state": "dispatched", "overdue": False},
    ]
    for name in ("department_id", "assigned_staff_id", "whistle_level"):
        filters += [{name: v} for v in sorted({c[name] for c in made} - {None})]
    everything = set(await _ids(api, "admin"))
    assert everything == {c["id"] for c in made}
    for params in filters:
        listed = await _ids(api, "admin", limit=200, **params)
        assert 0 < len(listed) < len(everything), params  # each filter narrows
        assert sorted(await _export_ids(api, "admin", **params)) == sorted(listed), params
    # The export keeps the caller's scope as the list does.
    assert sorted(await _export_ids(api, "dispatcher")) == sorted(await _ids(api, "dispatcher"))
