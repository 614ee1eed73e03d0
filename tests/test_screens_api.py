"""The screens' own endpoints: pages and static files, a region's map and counts, and the
routing suggestion — each inside the caller's scope, each refusing bad input with 4xx."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from hub.clock import FrozenClock
from hub.web.pages import CSP
from tests.helpers import Api, Auth
from tests.world import World

WEST_GRID = "339901002001001"


@pytest.fixture
def api(client: httpx.AsyncClient, auth: Auth) -> Api:
    return Api(client, auth)


async def test_pages_are_served_with_a_strict_policy(client: httpx.AsyncClient) -> None:
    for path in ("/login", "/wall", "/wall/339901", "/console", "/staff"):
        r = await client.get(path)
        assert r.status_code == 200, path
        assert r.headers["content-type"].startswith("text/html")
        assert r.headers["content-security-policy"] == CSP
        assert "script-src 'self'" in CSP
    root = await client.get("/", follow_redirects=False)
    assert root.status_code == 307
    assert root.headers["location"] == "/login"
    bad = await client.get("/wall/not-a-code")
    assert bad.status_code == 422


async def test_static_files_only_from_web_and_only_known_types(client: httpx.AsyncClient) -> None:
    js = await client.get("/static/js/wall.js")
    assert js.status_code == 200
    assert js.headers["content-type"].startswith("text/javascript")
    assert "etag" in js.headers
    css = await client.get("/static/css/base.css")
    assert css.headers["content-type"].startswith("text/css")
    for path in (
        "/static/../hub/config.py",
        "/static/%2e%2e/hub/config.py",
        "/static/js/../../pyproject.toml",
        "/static/vendor/echarts-6.1.0/LICENSE",  # no suffix served
        "/static/wall.html",  # pages have their own routes
        "/static/js/missing.js",
        "/static/",
    ):
        r = await client.get(path)
        assert r.status_code == 404, path
        assert r.json()["error"] == "not_found"


async def test_home_is_the_account_region_or_the_city(
    client: httpx.AsyncClient, auth: Auth
) -> None:
    expected = {"admin": "3399", "dispatcher": "339901001", "wall": "339901", "staff": "339901001"}
    for user, code in expected.items():
        r = await client.get("/api/v1/screens/home", headers=auth(user))
        assert r.status_code == 200
        assert r.json()["region"]["code"] == code, user
    assert (await client.get("/api/v1/screens/home")).status_code == 401


async def test_map_children_and_breadcrumb_within_scope(
    client: httpx.AsyncClient, auth: Auth
) -> None:
    city = (await client.get("/api/v1/screens/map/3399", headers=auth("commander"))).json()
    assert city["child_tier"] == "county"
    assert [f["id"] for f in city["geojson"]["features"]] == ["339901", "339902"]
    county = (await client.get("/api/v1/screens/map/339901", headers=auth("wall"))).json()
    assert [f["properties"]["code"] for f in county["geojson"]["features"]] == [
        "339901001",
        "339901002",
    ]
    # The wall's scope is the county: the way up stops there.
    assert [b["code"] for b in county["breadcrumb"]] == ["339901"]
    town = (await client.get("/api/v1/screens/map/339901001", headers=auth("commander"))).json()
    assert town["child_tier"] == "grid"
    assert [f["id"] for f in town["geojson"]["features"]] == ["339901001001001", "339901001001002"]
    assert [b["code"] for b in town["breadcrumb"]] == ["3399", "339901", "339901001"]
    grid = (await client.get("/api/v1/screens/map/339901001001001", headers=auth("admin"))).json()
    assert grid["child_tier"] is None
    assert grid["geojson"]["features"] == []

    outside = await client.get("/api/v1/screens/map/339902", headers=auth("wall"))
    assert outside.status_code == 404
    assert outside.json()["error"] == "not_found"
    missing = await client.get("/api/v1/screens/map/3398", headers=auth("admin"))
    assert missing.status_code == 404
    for bad in ("12", "33990x", "3" * 16):
        r = await client.get(f"/api/v1/screens/map/{bad}", headers=auth("admin"))
        assert r.status_code == 422, bad


async def test_stats_count_open_and_overdue_per_area_in_scope(
    client: httpx.AsyncClient, auth: Auth, api: Api, clock: FrozenClock
) -> None:
    await api.create(category_code="T01")  # Dongmen: township office, 3 working days
    police = await api.create(category_code="C01")  # Dongmen: county police, 2 hours
    await api.act("leader", police, "confirm-whistle")
    await api.create(user="dispatcher_west", category_code="T01", grid_code=WEST_GRID)
    closed = await api.create(user="dispatcher_west", category_code="T01", grid_code=WEST_GRID)
    await api.act("dispatcher_west", closed, "cancel", reason="duplicate")

    def by_code(body: dict[str, object]) -> dict[str, tuple[int, int]]:
        rows = body["children"]
        assert isinstance(rows, list)
        return {r["code"]: (r["open"], r["overdue"]) for r in rows}

    r = await client.get("/api/v1/screens/stats/339901", headers=auth("county_commander"))
    assert r.status_code == 200
    body = r.json()
    assert by_code(body) == {"339901001": (2, 0), "339901002": (1, 0)}
    assert body["as_of"].endswith("+08:00")
    assert len(body["hourly"]) == 24
    assert body["hourly"][-1]["hour"] == "2026-11-23T10:00:00+08:00"
    assert body["hourly"][-1]["created"] == 4
    assert sum(h["created"] for h in body["hourly"]) == 4

    clock.advance(timedelta(hours=3))  # past the police case's 2-hour limit
    later = (await client.get("/api/v1/screens/stats/339901", headers=auth("wall"))).json()
    assert by_code(later) == {"339901001": (2, 1), "339901002": (1, 0)}
    assert later["hourly"][-4]["created"] == 4  # the same hour, three buckets back
    # The police staff see their own department's case only.
    mine = (await client.get("/api/v1/screens/stats/339901001", headers=auth("staff"))).json()
    assert sum(r["open"] for r in mine["children"]) == 1
    outside = await client.get("/api/v1/screens/stats/339902", headers=auth("dispatcher"))
    assert outside.status_code == 404


async def test_routing_suggestion_explains_without_writing(
    client: httpx.AsyncClient, auth: Auth, api: Api, world: World
) -> None:
    case = await api.create()  # no category: waits for a person
    path = f"/api/v1/screens/cases/{case['id']}/routing"
    undecided = (await client.get(path, headers=auth("dispatcher"))).json()
    assert undecided["decided"] is False
    assert "classify" in undecided["reason"]

    r = await client.get(path, params={"category_code": "C01"}, headers=auth("dispatcher"))
    assert r.status_code == 200
    s = r.json()
    assert s["decided"] is True
    assert s["whistle_level"] == 3
    assert s["department"]["id"] == world.dept[("339901", "police")]
    assert s["staff"]["id"] == world.staff["police_a"]
    assert s["notified_via"] == "post_A"
    assert s["needs_confirmation"] is True
    assert s["entry"]["code"] == "C01"
    assert any("A post" in reason for reason in s["reasons"])

    down = await client.get(
        path,
        params={"category_code": "C01", "department_id": world.dept[("339901001", "urban")]},
        headers=auth("dispatcher"),
    )
    assert down.status_code == 422
    assert down.json()["rule"] == "access"
    unknown = await client.get(path, params={"category_code": "NOPE"}, headers=auth("dispatcher"))
    assert unknown.status_code == 422
    assert unknown.json()["field"] == "category_code"
    assert (await client.get(path, headers=auth("wall"))).status_code == 403
    assert (await client.get(path, headers=auth("dispatcher_west"))).status_code == 404
    huge = await client.get("/api/v1/screens/cases/99999999999/routing", headers=auth("admin"))
    assert huge.status_code == 422

    after = await api.get(case["id"])
    assert after["version"] == case["version"]
    assert after["state"] == "reported"
    assert len(await api.events(case["id"])) == 1
