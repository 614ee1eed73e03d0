"""Every role × every endpoint × an object inside and outside its scope. The matrix
counts leaks (an out-of-scope object answered as if present, a forbidden action that
went through) and must find none; every other cell must match the declared outcome."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from hub.auth.permissions import ACTION_ROLES, PERMISSION_ROLES, Permission
from hub.cases.machine import Action
from hub.enums import Role
from hub.main import create_app
from tests.helpers import Api, Auth
from tests.world import World

USERS = {
    "admin": Role.ADMIN,
    "commander": Role.COMMANDER,
    "county_commander": Role.COMMANDER,
    "dispatcher": Role.DISPATCHER,
    "dispatcher_west": Role.DISPATCHER,
    "dispatcher_south": Role.DISPATCHER,
    "leader": Role.TOWNSHIP_LEADER,
    "gridworker": Role.GRID_WORKER,
    "liaison": Role.DEPT_LIAISON,
    "staff": Role.DEPT_STAFF,
    "staff_b": Role.DEPT_STAFF,
    "wall": Role.WALL,
    "auditor": Role.AUDITOR,
}
EAST = {"east_police", "east_urban"}
ALL = EAST | {"west", "south"}
# Which of the four cases each user may see: the declared scope rule, written out by hand.
VISIBLE: dict[str, set[str]] = {
    "admin": ALL,
    "commander": ALL,
    "auditor": ALL,
    "county_commander": EAST | {"west"},
    "wall": EAST | {"west"},
    "dispatcher": EAST,
    "leader": EAST,
    "gridworker": {"east_police"},  # its own grid only
    "dispatcher_west": {"west"},
    "dispatcher_south": {"south"},
    "liaison": {"east_police"},
    "staff": {"east_police"},
    "staff_b": {"east_police"},
}
CASE_PATHS = {
    "/api/v1/cases/{case_id}",
    "/api/v1/cases/{case_id}/events",
    "/api/v1/cases/{case_id}/deadlines",
    "/api/v1/cases/{case_id}/attachments",
} | {f"/api/v1/cases/{{case_id}}/{a.value}" for a in Action}
# Endpoints that are not about one case: who may call them at all.
OPEN_TO_ALL = {
    ("GET", "/api/v1/auth/me"),
    ("POST", "/api/v1/auth/logout"),
    ("GET", "/api/v1/regions"),
    ("GET", "/api/v1/regions/{code}"),
    ("GET", "/api/v1/departments"),
    ("GET", "/api/v1/staff"),
    ("GET", "/api/v1/posts"),
    ("GET", "/api/v1/catalogue"),
    ("GET", "/api/v1/catalogue/{code}"),
    ("GET", "/api/v1/catalogue/{code}/versions"),
    ("GET", "/api/v1/cases"),
    ("GET", "/api/v1/cases/export.csv"),
    ("PATCH", "/api/v1/staff/{staff_id}/duty"),
    ("GET", "/api/v1/sla/calendar"),
    ("GET", "/api/v1/sla/calendar/{year}"),
    ("GET", "/api/v1/screens/home"),
    # A region's map and counts: any region inside the caller's scope (tests/test_screens_api.py)
    ("GET", "/api/v1/screens/map/{code}"),
    ("GET", "/api/v1/screens/stats/{code}"),
}
# Case-scoped beyond the paths above, with their role rules checked in their own tests
# (tests/test_attachments.py, tests/test_screens_api.py).
CASE_SCOPED_ELSEWHERE = {
    ("POST", "/api/v1/cases/{case_id}/attachments"),
    ("GET", "/api/v1/attachments/{attachment_id}"),
    ("GET", "/api/v1/screens/cases/{case_id}/routing"),
}
BY_PERMISSION = {
    ("POST", "/api/v1/cases"): Permission.CASE_CREATE,
    ("GET", "/api/v1/users"): Permission.USERS_MANAGE,
    ("POST", "/api/v1/users"): Permission.USERS_MANAGE,
    ("PATCH", "/api/v1/users/{user_id}"): Permission.USERS_MANAGE,
    ("GET", "/api/v1/api-keys"): Permission.USERS_MANAGE,
    ("POST", "/api/v1/api-keys"): Permission.USERS_MANAGE,
    ("DELETE", "/api/v1/api-keys/{key_id}"): Permission.USERS_MANAGE,
    ("GET", "/api/v1/audit/log"): Permission.AUDIT_READ,
    ("GET", "/api/v1/audit/chains"): Permission.AUDIT_READ,
    ("POST", "/api/v1/catalogue"): Permission.CATALOGUE_EDIT,
    ("PUT", "/api/v1/catalogue/{code}"): Permission.CATALOGUE_EDIT,
    ("DELETE", "/api/v1/catalogue/{code}"): Permission.CATALOGUE_EDIT,
    ("PUT", "/api/v1/posts"): Permission.ORG_EDIT,
    ("PUT", "/api/v1/sla/calendar/{year}"): Permission.CATALOGUE_EDIT,
}
UNAUTHENTICATED = {("POST", "/api/v1/auth/token"), ("POST", "/api/v1/auth/refresh")}


def app_routes() -> set[tuple[str, str]]:
    spec = create_app().openapi()
    return {
        (method.upper(), path)
        for path, item in spec["paths"].items()
        if path.startswith("/api/")
        for method in item
    }


def test_the_matrix_covers_every_endpoint() -> None:
    covered = (
        OPEN_TO_ALL
        | set(BY_PERMISSION)
        | UNAUTHENTICATED
        | CASE_SCOPED_ELSEWHERE
        | {("GET", p) for p in CASE_PATHS if not p.endswith(tuple(a.value for a in Action))}
        | {("POST", f"/api/v1/cases/{{case_id}}/{a.value}") for a in Action}
    )
    assert app_routes() == covered


async def _cases(api: Api) -> dict[str, dict[str, Any]]:
    return {
        "east_police": await api.create(
            user="admin", category_code="C02", grid_code="339901001001001"
        ),
        "east_urban": await api.create(
            user="admin", category_code="T01", grid_code="339901001001002"
        ),
        "west": await api.create(user="admin", category_code="C02", grid_code="339901002001001"),
        "south": await api.create(user="admin", category_code="C02", grid_code="339902001001001"),
    }


@pytest.fixture
async def cases(client: httpx.AsyncClient, auth: Auth, world: World) -> dict[str, Any]:
    api = Api(client, auth)
    made = await _cases(api)
    # Send east_police to the police so department scopes have something to see.
    made["east_police"] = await api.act(
        "admin",
        made["east_police"],
        "transfer",
        department_id=world.dept[("339901", "police")],
        reason="matrix",
    )
    return made


async def test_case_matrix_finds_no_leak(
    client: httpx.AsyncClient, auth: Auth, cases: dict[str, Any]
) -> None:
    leaks: list[str] = []
    mismatches: list[str] = []
    for username, role in USERS.items():
        headers = auth(username)
        listed = {
            c["id"]
            for c in (
                await client.get("/api/v1/cases", params={"limit": 200}, headers=headers)
            ).json()["items"]
        }
        exported = (await client.get("/api/v1/cases/export.csv", headers=headers)).text
        exported_ids = {int(line.split(",")[0]) for line in exported.splitlines()[1:]}
        for key, case in cases.items():
            inside = key in VISIBLE[username]
            if (case["id"] in listed) != inside or (case["id"] in exported_ids) != inside:
                (mismatches if inside else leaks).append(f"{username} list/export {key}")
            for path in ("", "/events", "/attachments"):
                r = await client.get(f"/api/v1/cases/{case['id']}{path}", headers=headers)
                expected = 200 if inside else 404
                if r.status_code != expected:
                    (leaks if not inside else mismatches).append(
                        f"{username} GET {key}{path}: {r.status_code}"
                    )
            for action in Action:
                # A stale version: a permitted, visible action answers 409 and changes nothing.
                r = await client.post(
                    f"/api/v1/cases/{case['id']}/{action.value}",
                    json={"version": 999, **_minimal(action)},
                    headers=headers,
                )
                permitted = role in ACTION_ROLES[action]
                expected = 403 if not permitted else 409 if inside else 404
                if r.status_code != expected:
                    leak = r.status_code < 300 or (not inside and r.status_code not in (403, 404))
                    (leaks if leak else mismatches).append(
                        f"{username} {action.value} {key}: {r.status_code} != {expected}"
                    )
    assert leaks == [], leaks
    assert mismatches == [], mismatches


_REASONED = {Action.RETURN, Action.ESCALATE, Action.REOPEN, Action.CANCEL, Action.REJECT}
_BODIES: dict[Action, dict[str, Any]] = {
    Action.CLASSIFY: {"category_code": "T01"},
    Action.TRANSFER: {"department_id": 1, "reason": "x"},
    Action.MERGE: {"into_case_id": 1},
    Action.EVALUATE: {"township_score": 3},
}


def _minimal(action: Action) -> dict[str, Any]:
    """The smallest valid body of each action, so the answer is about access, not input."""
    if action in _BODIES:
        return _BODIES[action]
    return {"reason": "x"} if action in _REASONED else {}


async def test_non_case_endpoints_follow_the_permission_table(
    client: httpx.AsyncClient, auth: Auth, world: World
) -> None:
    wrong: list[str] = []
    for username, role in USERS.items():
        headers = auth(username)
        for (method, path), permission in BY_PERMISSION.items():
            if method != "GET":
                continue  # writes are checked with bodies in their own tests
            r = await client.request(method, path, headers=headers)
            allowed = role in PERMISSION_ROLES[permission]
            if (r.status_code == 200) != allowed or (not allowed and r.status_code != 403):
                wrong.append(f"{username} {method} {path}: {r.status_code}")
        for method, path in OPEN_TO_ALL:
            if method == "GET" and "{" not in path:
                r = await client.get(path, headers=headers)
                if r.status_code != 200:
                    wrong.append(f"{username} GET {path}: {r.status_code}")
        r = await client.post("/api/v1/catalogue", json={}, headers=headers)
        if (r.status_code == 403) == (role is Role.ADMIN):
            wrong.append(f"{username} POST catalogue: {r.status_code}")
    assert wrong == []
