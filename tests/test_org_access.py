"""Who may read and rearrange the organisation: duty status, the staff directory and its
phone numbers, departments, regions and posts, each judged by the caller's scope."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import update
from sqlmodel import col, select

from hub.audit.models import AuditEntry
from hub.deps import Hub
from hub.org.models import Staff
from tests.helpers import GRID, Auth
from tests.world import World


async def _duty(
    client: httpx.AsyncClient, headers: dict[str, str], staff_id: int, status: str = "off"
) -> httpx.Response:
    return await client.patch(
        f"/api/v1/staff/{staff_id}/duty", json={"duty_status": status}, headers=headers
    )


async def _status(hub: Hub, staff_id: int) -> str:
    async with hub.db.read() as session:
        staff = await session.get(Staff, staff_id)
    assert staff is not None
    return staff.duty_status.value


async def _key(client: httpx.AsyncClient, auth: Auth, world: World, grants: list[str]) -> str:
    r = await client.post(
        "/api/v1/api-keys",
        json={
            "name": "hotline",
            "role": "dispatcher",
            "region_id": world.region["339901001"],
            "grants": grants,
        },
        headers=auth("admin"),
    )
    assert r.status_code == 201, r.text
    key: str = r.json()["key"]
    return key


async def test_duty_is_set_only_inside_the_callers_scope(
    client: httpx.AsyncClient, auth: Auth, world: World, hub: Hub
) -> None:
    police_a, police_b = world.staff["police_a"], world.staff["police_b"]
    # Another township's dispatcher, and the township's own for county-level staff: unseen.
    r = await _duty(client, auth("dispatcher_west"), police_a)
    assert r.status_code == 404, r.text
    r = await _duty(client, auth("dispatcher"), world.staff["police_liaison"])
    assert r.status_code == 404, r.text
    assert await _status(hub, police_a) == "on_duty"
    assert await _status(hub, world.staff["police_liaison"]) == "on_duty"
    # Inside the township, and posted only there: the township's dispatcher may.
    r = await _duty(client, auth("dispatcher"), police_a)
    assert r.status_code == 200 and r.json()["duty_status"] == "off", r.text
    # Once police_b also holds Ximen's A post, Dongmen may no longer take them off duty.
    r = await client.put(
        "/api/v1/posts",
        json={
            "department_id": world.dept[("339901", "police")],
            "township_id": world.region["339901002"],
            "slot": "A",
            "mode": "on_call",
            "staff_id": police_b,
        },
        headers=auth("admin"),
    )
    assert r.status_code == 200, r.text
    r = await _duty(client, auth("dispatcher"), police_b)
    assert r.status_code == 403 and "outside your scope" in r.json()["message"], r.text
    assert await _status(hub, police_b) == "on_duty"
    r = await _duty(client, auth("county_commander"), police_b)  # the county's may
    assert r.status_code == 200, r.text


async def test_staff_set_their_own_duty_and_liaisons_their_departments(
    client: httpx.AsyncClient, auth: Auth, world: World, hub: Hub
) -> None:
    r = await _duty(client, auth("staff"), world.staff["police_a"], "away")
    assert r.status_code == 200, r.text
    r = await _duty(client, auth("staff"), world.staff["police_b"])
    assert r.status_code == 403
    assert r.json()["message"] == "role dept_staff may not duty.assign"
    r = await _duty(client, auth("liaison"), world.staff["police_b"])
    assert r.status_code == 200, r.text
    r = await _duty(client, auth("liaison"), world.staff["urban_tw_liaison"])
    assert r.status_code == 404, r.text  # another department's
    r = await _duty(client, auth("wall"), world.staff["police_a"])
    assert r.status_code == 403 and r.json()["message"] == "role wall may not staff.duty"
    assert await _status(hub, world.staff["urban_tw_liaison"]) == "on_duty"


async def test_an_api_key_without_the_grant_may_not_set_duty(
    client: httpx.AsyncClient, auth: Auth, world: World, hub: Hub
) -> None:
    key = {"X-API-Key": await _key(client, auth, world, ["case.read", "case.create"])}
    r = await _duty(client, key, world.staff["police_a"])
    assert r.status_code == 403, r.text
    assert r.json() == {
        "error": "forbidden",
        "message": "API key lacks grant staff.duty",
        "kind": "grant",
        "missing": "staff.duty",
    }
    assert await _status(hub, world.staff["police_a"]) == "on_duty"
    granted = {"X-API-Key": await _key(client, auth, world, ["staff.duty"])}
    r = await _duty(client, granted, world.staff["police_a"])
    assert r.json()["message"] == "API key lacks grant duty.assign"
    both = {"X-API-Key": await _key(client, auth, world, ["staff.duty", "duty.assign"])}
    assert (await _duty(client, both, world.staff["police_a"])).status_code == 200
    assert (await _duty(client, both, world.staff["police_liaison"])).status_code == 404


async def _directory(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[int, Any]:
    r = await client.get("/api/v1/staff", headers=headers)
    assert r.status_code == 200, r.text
    return {s["id"]: s["phone"] for s in r.json()}


async def test_the_directory_is_scoped_and_phones_go_to_those_who_call_staff(
    client: httpx.AsyncClient, auth: Auth, world: World, hub: Hub
) -> None:
    async with hub.db.transaction() as session:
        await session.exec(update(Staff).values(phone="13800001111"))
    s = world.staff
    dongmen = {
        s[k]
        for k in ("police_a", "police_b", "urban_tw_liaison", "grid_worker", "grid_office_liaison")
    }
    police = {s[k] for k in ("police_a", "police_b", "police_liaison", "police_leader")}
    expected: dict[str, tuple[set[int], bool]] = {
        "admin": (set(s.values()), True),
        "commander": (set(s.values()), True),
        "auditor": (set(s.values()), False),
        "dispatcher": (dongmen, True),
        "leader": (dongmen, True),
        "liaison": (police, True),
        "staff": ({s["police_a"], s["police_b"]}, False),
        "gridworker": ({s["grid_worker"]}, False),
        "dispatcher_west": (set(), True),
        "dispatcher_south": (set(), True),
    }
    for user, (ids, phones) in expected.items():
        listed = await _directory(client, auth(user))
        assert set(listed) == ids, user
        assert all((phone is not None) == phones for phone in listed.values()), user
    r = await client.get("/api/v1/staff", headers=auth("wall"))
    assert r.status_code == 403 and r.json()["message"] == "role wall may not staff.read"
    key = {"X-API-Key": await _key(client, auth, world, ["staff.read"])}
    assert set((await _directory(client, key)).values()) == {None}  # no staff.contact grant


async def test_departments_regions_and_posts_follow_the_callers_line(
    client: httpx.AsyncClient, auth: Auth, world: World
) -> None:
    west = auth("dispatcher_west")
    r = await client.get("/api/v1/departments", headers=west)
    seen = {(d["region_id"], d["code"]) for d in r.json()}
    r_ = world.region
    assert (r_["339901"], "police") in seen and (r_["339901002"], "urban") in seen
    assert (r_["339901001"], "urban") not in seen and (r_["339902"], "police") not in seen
    r = await client.get("/api/v1/regions", headers=west)
    codes = {region["code"] for region in r.json()["items"]}
    assert codes == {"3399", "339901", "339901002", "339901002001", "339901002001001"}
    assert (await client.get("/api/v1/regions/339901001", headers=west)).status_code == 404
    assert (await client.get("/api/v1/regions/339901", headers=west)).status_code == 200
    assert (await client.get("/api/v1/posts", headers=west)).json() == []
    dongmen_posts = (await client.get("/api/v1/posts", headers=auth("dispatcher"))).json()
    assert {p["staff_id"] for p in dongmen_posts} == {
        world.staff["police_a"],
        world.staff["police_b"],
    }


async def test_refusals_name_the_missing_grant_and_are_audited(
    client: httpx.AsyncClient, auth: Auth, world: World, hub: Hub
) -> None:
    key = {"X-API-Key": await _key(client, auth, world, ["case.read", "case.create"])}
    r = await client.post(
        "/api/v1/cases",
        json={"title": "热线", "grid_code": GRID, "category_code": "T01"},
        headers=key,
    )
    assert r.status_code == 201, r.text
    case = r.json()
    assert case["allowed_actions"] == []  # a dispatcher's actions, none of them granted
    r = await client.post(
        f"/api/v1/cases/{case['id']}/cancel",
        json={"version": case["version"], "reason": "x"},
        headers=key,
    )
    assert r.status_code == 403
    assert r.json()["message"] == "API key lacks grant cancel"
    r = await client.post(
        f"/api/v1/cases/{case['id']}/cancel",
        json={"version": case["version"], "reason": "x"},
        headers=auth("wall"),
    )
    assert r.json()["message"] == "role wall may not cancel"
    async with hub.db.read() as session:
        denied = (
            await session.exec(
                select(AuditEntry).where(AuditEntry.kind == "denied").order_by(col(AuditEntry.id))
            )
        ).all()
    assert [e.detail["reason"] for e in denied] == [
        "API key lacks grant cancel",
        "role wall may not cancel",
    ]
    assert denied[0].username is not None and denied[0].username.startswith("key-")


async def test_an_auditor_below_the_city_reads_the_log_of_their_own_subtree(
    client: httpx.AsyncClient, auth: Auth, world: World
) -> None:
    r = await client.post(
        "/api/v1/users",
        json={
            "username": "south_auditor",
            "display_name": "南山审计",
            "password": "pw1234",
            "role": "auditor",
            "region_id": world.region["339902"],
        },
        headers=auth("admin"),
    )
    assert r.status_code == 201, r.text
    # Two refusals: one of Donghu's wall, one of Nanshan's dispatcher.
    for user in ("wall", "dispatcher_south"):
        r = await client.post(
            "/api/v1/cases", json={"title": "x", "grid_code": GRID}, headers=auth(user)
        )
        assert r.status_code == 403, r.text
    city = (await client.get("/api/v1/audit/log", headers=auth("auditor"))).json()
    assert {e["username"] for e in city if e["kind"] == "denied"} >= {"wall", "dispatcher_south"}
    token = (
        await client.post(
            "/api/v1/auth/token", data={"username": "south_auditor", "password": "pw1234"}
        )
    ).json()["access_token"]
    county = await client.get("/api/v1/audit/log", headers={"Authorization": f"Bearer {token}"})
    assert county.status_code == 200, county.text
    names = {e["username"] for e in county.json()}
    assert "dispatcher_south" in names and "wall" not in names
