"""The permission table (hub/auth/permissions.py) against the app, both ways, and then
against every caller:

- every route of the OpenAPI spec and every websocket topic kind has an entry, and every
  entry a route; a route the table does not name is refused;
- every route × callers of disjoint townships, a department, a wall, an auditor and a
  narrowly granted API key × objects of their own and of foreign townships: a caller the
  table refuses gets 403 naming the role or the missing grant; a foreign object answers
  403 or 404, never 2xx; a listing holds no foreign object; nothing in the database
  changes; every refusal is in the audit log;
- every role × every case endpoint × a case inside and outside its scope (the case
  matrix below) counts leaks and must find none."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, get_args

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI
from sqlalchemy import select as sa_select
from sqlmodel import SQLModel, select

from hub import errors
from hub.attachments.config import AttachmentSettings, get_attachment_settings
from hub.audit.models import AuditEntry
from hub.auth.guard import Guard
from hub.auth.permissions import ACTION_ROLES, ROUTES, TOPICS, UNGUARDED, Rule, Scope, may
from hub.cases.machine import Action
from hub.deps import Hub
from hub.enums import Role
from hub.main import create_app
from hub.realtime.protocol import Topic
from tests.access_bodies import BODIES, minimal
from tests.access_world import AccessWorld, Caller, Side, build, fill, path_params
from tests.helpers import Api, Auth
from tests.live import Client, serve, ws_client
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
                    json={"version": 999, **minimal(action)},
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


# -- the permission table against the spec ----------------------------------------------


def app_routes() -> set[tuple[str, str]]:
    spec = create_app().openapi()
    return {(method.upper(), path) for path, item in spec["paths"].items() for method in item}


def test_the_permission_table_and_the_spec_name_the_same_routes() -> None:
    spec = app_routes()
    assert spec >= UNGUARDED
    routes = spec - UNGUARDED
    assert all(path.startswith("/api/v1/") for _, path in routes)  # all behind the guard
    undeclared = sorted(routes - set(ROUTES))
    assert undeclared == [], f"routes missing from hub/auth/permissions.py ROUTES: {undeclared}"
    stale = sorted(set(ROUTES) - routes)
    assert stale == [], f"ROUTES entries for routes that do not exist: {stale}"


def test_the_topic_table_names_every_topic_kind() -> None:
    kinds = set(get_args(Topic.model_fields["kind"].annotation))
    assert kinds == set(TOPICS)


async def test_a_route_missing_from_the_table_is_refused(hub: Hub, auth: Auth) -> None:
    extra = APIRouter()

    @extra.get("/not-in-the-table")
    async def undeclared() -> dict[str, str]:
        return {"leaked": "yes"}

    app = FastAPI()
    app.state.hub = hub
    errors.install(app)
    api = APIRouter(prefix="/api/v1", dependencies=[Depends(Guard("/api/v1", [extra]))])
    api.include_router(extra)
    app.include_router(api)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as c:
        r = await c.get("/api/v1/not-in-the-table", headers=auth("admin"))
    assert r.status_code == 403 and r.json()["error"] == "forbidden", r.text


# -- every route × every caller × own and foreign objects --------------------------------


@pytest.fixture
async def photo_client(hub: Hub, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(hub=hub)
    app.dependency_overrides[get_attachment_settings] = lambda: AttachmentSettings(
        dir=tmp_path / "attachments"
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as c:
        yield c


@pytest.fixture
async def access(
    photo_client: httpx.AsyncClient, auth: Auth, world: World, hub: Hub
) -> AccessWorld:
    return await build(photo_client, auth, world, hub)


# Writes the sweep leaves to their own tests: logging in, and ending one's own sessions
# (tests/test_auth.py, tests/test_credentials.py).
NOT_SWEPT = {
    ("POST", "/api/v1/auth/token"),
    ("POST", "/api/v1/auth/refresh"),
    ("POST", "/api/v1/auth/logout"),
}


def _path_value(name: str, scope: Scope, side: Side, access: AccessWorld, world: World) -> Any:
    """The object a path parameter names: the side's own where the route is scoped."""
    owned = {
        "case_id": side.case_id,
        "attachment_id": side.attachment_id,
        "staff_id": side.staff_id,
        "code": side.township,
        "report": "monthly",
    }
    if scope in (Scope.CASE, Scope.REGION, Scope.ORG):
        assert name in owned, f"the matrix has no object for {{{name}}} in a {scope} route"
        return owned[name]
    city_wide = {
        "code": "T01",
        "year": 2026,
        "user_id": world.user[f"dispatcher_{side.name}" if side.name != "east" else "dispatcher"],
        "key_id": access.key_id,
    }
    assert name in city_wide, f"the matrix has no value for {{{name}}} in a {scope} route"
    return city_wide[name]


def _listed(path: str, r: httpx.Response) -> set[tuple[str, object]]:
    """The objects a scoped listing answered with, as `Side.tokens` names them."""
    if path.endswith("export.csv"):
        return {("case", int(line.split(",")[0])) for line in r.text.splitlines()[1:]}
    data = r.json()
    items = data["items"] if isinstance(data, dict) else data
    kind = {
        "/api/v1/cases": "case",
        "/api/v1/staff": "staff",
        "/api/v1/departments": "department",
        "/api/v1/posts": "post",
    }.get(path)
    if path == "/api/v1/regions":
        return {("region", item["code"]) for item in items}
    assert kind is not None, f"the matrix cannot read the listing {path}"
    return {(kind, item["id"]) for item in items}


async def _table_rows(hub: Hub) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table but the audit log (which records the refusals)."""
    rows: dict[str, list[tuple[Any, ...]]] = {}
    async with hub.db.read() as session:
        conn = await session.connection()
        for table in SQLModel.metadata.sorted_tables:
            if table.name == "audit_log":
                continue
            result = await conn.execute(sa_select(table).order_by(*table.primary_key.columns))
            rows[table.name] = [tuple(row) for row in result.all()]
    return rows


def _refusal_ok(caller: Caller, rule: Rule, r: httpx.Response) -> str | None:
    """A refusal by the table must say what was missing: the role, or the key's grant."""
    assert rule.permission is not None
    name = rule.permission.value
    expected = (
        f"API key lacks grant {name}"
        if caller.api_key is not None and may(caller.role, rule.permission)
        else f"role {caller.role} may not {name}"
    )
    if r.status_code != 403:
        return f"{r.status_code}, expected 403"
    if r.json().get("message") != expected:
        return f"message {r.json().get('message')!r}, expected {expected!r}"
    return None


async def test_every_route_for_every_caller(
    photo_client: httpx.AsyncClient, access: AccessWorld, world: World, hub: Hub
) -> None:
    client = photo_client
    before = await _table_rows(hub)
    wrong: list[str] = []
    refused: Counter[tuple[str, str]] = Counter()

    async def call(caller: Caller, method: str, template: str, side: Side) -> httpx.Response:
        rule = ROUTES[(method, template)]
        values = {n: _path_value(n, rule.scope, side, access, world) for n in path_params(template)}
        path = fill(template, values)
        kwargs: dict[str, Any] = {}
        if method != "GET":
            assert (method, template) in BODIES, f"the matrix has no body for {method} {template}"
            kwargs = BODIES[(method, template)](side, world)
        r = await client.request(method, path, headers=caller.headers, **kwargs)
        if r.status_code == 403:
            refused[(method, path)] += 1
        if "no permission is declared" in r.text:
            wrong.append(f"{caller.name} {method} {template}: the guard does not know the route")
        return r

    for (method, template), rule in sorted(ROUTES.items()):
        if rule.scope is Scope.PUBLIC or (method, template) in NOT_SWEPT:
            continue
        scoped = rule.scope in (Scope.CASE, Scope.REGION, Scope.ORG)
        names_an_object = bool(path_params(template)) or method != "GET"
        for caller in access.callers.values():
            cell = f"{caller.name} {method} {template}"
            permitted = caller.may(rule.permission)
            if not permitted:
                side = access.sides[caller.home or "east"]
                r = await call(caller, method, template, side)
                if (problem := _refusal_ok(caller, rule, r)) is not None:
                    wrong.append(f"{cell}: {problem}")
                continue
            if scoped and names_an_object:
                for foreign in caller.foreign:
                    r = await call(caller, method, template, access.sides[foreign])
                    if r.status_code not in (403, 404):
                        wrong.append(
                            f"{cell} on {foreign}'s object: {r.status_code} {r.text[:120]}"
                        )
            if method != "GET" or caller.home is None:
                continue  # writes inside scope change data: their own tests
            home = access.sides[caller.home]
            r = await call(caller, method, template, home)
            if r.status_code != 200:
                wrong.append(f"{cell} at home: {r.status_code} {r.text[:120]}")
                continue
            if scoped and not names_an_object:
                listed = _listed(template, r)
                for foreign in caller.foreign:
                    if leaked := listed & access.sides[foreign].tokens():
                        wrong.append(f"{cell} lists {foreign}'s {sorted(leaked, key=str)}")
                if not listed & home.tokens():
                    wrong.append(f"{cell} lists nothing of its own township")
    assert wrong == [], "\n".join(wrong)
    assert await _table_rows(hub) == before, "a refused or foreign request changed data"
    async with hub.db.read() as session:
        entries = (await session.exec(select(AuditEntry).where(AuditEntry.kind == "denied"))).all()
    audited = Counter((e.detail["method"], e.detail["path"]) for e in entries)
    assert refused - audited == Counter(), "refusals missing from the audit log"


# -- every websocket topic kind × every caller × own and foreign objects ----------------

HOME_REGION = {
    "dispatcher": "339901001",
    "dispatcher_west": "339901002",
    "dispatcher_south": "339902001",
    "liaison": "339901",
    "wall": "339901",
    "auditor": "3399",
    "key": "339901001",
    "key_create": "339901001",
}


def _topic(kind: str, side: Side) -> dict[str, str]:
    keys = {
        "region": side.township,
        "case": str(side.case_id),
        "department": str(side.department_id),
    }
    assert kind == "inbox" or kind in keys, f"the matrix has no object for a {kind} topic"
    return {"kind": kind} if kind == "inbox" else {"kind": kind, "key": keys[kind]}


async def _subscribe(client: Client, topic: dict[str, str]) -> dict[str, Any]:
    await client.send({"type": "subscribe", "topics": [topic]})
    return await client.until(lambda f: f["type"] in ("error", "subscribed"))


@asynccontextmanager
async def _signed_in(addr: str, caller: Caller) -> AsyncIterator[Client]:
    async with ws_client(addr, None) as c:
        credential = (
            {"api_key": caller.api_key}
            if caller.api_key
            else {"token": caller.headers["Authorization"].split()[1]}
        )
        await c.send({"type": "auth", **credential})
        assert (await c.recv())["type"] == "welcome"
        yield c


async def test_every_topic_for_every_caller(
    hub: Hub, photo_client: httpx.AsyncClient, access: AccessWorld
) -> None:
    wrong: list[str] = []
    async with serve(hub) as addr:
        for caller in access.callers.values():
            # A socket per topic kind: one socket may subscribe only a few times a second.
            for kind, rule in sorted(TOPICS.items()):
                cell = f"{caller.name} {kind}"
                async with _signed_in(addr, caller) as c:
                    if not caller.may(rule.permission):
                        frame = await _subscribe(c, _topic(kind, access.sides["east"]))
                        if frame.get("code") != "forbidden":
                            wrong.append(f"{cell}: {frame}, expected forbidden")
                        continue
                    if rule.scope is not Scope.SELF:
                        for foreign in caller.foreign:
                            frame = await _subscribe(c, _topic(kind, access.sides[foreign]))
                            if frame["type"] != "error" or frame.get("code") == "rate_limited":
                                wrong.append(f"{cell} on {foreign}'s object: {frame}")
            if caller.may(TOPICS["region"].permission):
                async with _signed_in(addr, caller) as c:
                    own = {"kind": "region", "key": HOME_REGION[caller.name]}
                    if (frame := await _subscribe(c, own))["type"] != "subscribed":
                        wrong.append(f"{caller.name} own region: {frame}")
    assert wrong == [], "\n".join(wrong)
