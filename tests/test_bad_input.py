"""Bad input gets a clear 4xx naming what was wrong, and never changes stored data."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func
from sqlmodel import select

from hub.auth.security import issue_token
from hub.cases.models import Case, CaseEvent
from hub.deps import Hub
from hub.errors import SafeJSONResponse
from hub.inputs import input_faults
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
    # The caller's own buttons: a dispatcher may transfer the case, not acknowledge it.
    assert body["allowed_actions"] == (await api.get(case["id"], "dispatcher"))["allowed_actions"]
    assert "transfer" in body["allowed_actions"] and "acknowledge" not in body["allowed_actions"]
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


# Each one instant too early or too late to convert or show; the last fits UTC only.
TIMES_OUT_OF_RANGE = (
    "0001-01-01T00:00:00+08:00",
    "0001-01-01T07:59:59+08:00",
    "9999-12-31T23:00:00-05:00",
    "9999-12-31T20:00:00+00:00",
)


async def test_times_past_the_representable_range_are_422(
    client: httpx.AsyncClient, auth: Auth
) -> None:
    for path in ("/api/v1/cases", "/api/v1/cases/export.csv"):
        for param in ("created_from", "created_to"):
            for edge in TIMES_OUT_OF_RANGE:
                r = await client.get(path, params={param: edge}, headers=auth("admin"))
                assert r.status_code == 422, (path, param, edge, r.text)
                body = r.json()
                assert body["detail"][0]["loc"] == ["query", param]
                assert "outside years 1-9999" in body["message"]
            for edge in ("0001-01-01T00:00:00+00:00", "9999-12-31T15:59:59+00:00"):
                r = await client.get(path, params={param: edge}, headers=auth("admin"))
                assert r.status_code == 200, (path, param, edge, r.text)


def _cursor(raw: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(raw).encode()).decode().rstrip("=")


FORGED_CURSORS = (
    ["0001-01-01T00:00:00+08:00", 1],
    ["9999-12-31T23:00:00-05:00", 1],
    ["2026-11-23T10:00:00+08:00", 2**70],
    ["2026-11-23T10:00:00+08:00", -1],
    ["2026-11-23T10:00:00+08:00", True],
    ["2026-11-23T10:00:00", 1],
    [float("nan"), 1],
    "not a pair",
)


async def test_forged_cursors_are_422(client: httpx.AsyncClient, auth: Auth) -> None:
    for raw in FORGED_CURSORS:
        params = {"cursor": _cursor(raw)}
        r = await client.get("/api/v1/cases", params=params, headers=auth("admin"))
        assert r.status_code == 422, (raw, r.text)
        assert r.json()["field"] == "cursor"


async def test_non_finite_coordinates_are_422_and_echoed_as_text(api: Api, hub: Hub) -> None:
    case = await api.create(category_code="T01")
    before = await counts(hub)
    headers = {**api.auth("admin"), "Content-Type": "application/json"}
    for token in (b"NaN", b"Infinity", b"-Infinity", b"1e999", b"-1e999"):
        for field in (b"lat", b"lon"):
            create = b'{"title": "x", "grid_code": "%s", "%s": %s}' % (GRID.encode(), field, token)
            check_in = b'{"version": %d, "%s": %s}' % (case["version"], field, token)
            for url, body in (
                ("/api/v1/cases", create),
                (f"/api/v1/cases/{case['id']}/check-in", check_in),
            ):
                r = await api.client.post(url, content=body, headers=headers)
                assert r.status_code == 422, (url, body, r.text)
                (entry,) = r.json()["detail"]
                assert entry["loc"] == ["body", field.decode()]
                assert entry["type"] == "finite_number"
                assert isinstance(entry["input"], str)  # NaN is no JSON: the echo is text
    assert await counts(hub) == before


FORBIDDEN_TEXT = (
    ("a\x00b", "NUL (U+0000)"),
    ("a\x07b", "U+0007"),
    ("a\x7fb", "U+007F"),
    ("a\ud800b", "lone surrogate (U+D800)"),
    ("a\udfffb", "lone surrogate (U+DFFF)"),
)


async def test_forbidden_characters_are_422_naming_the_field(
    client: httpx.AsyncClient, auth: Auth, hub: Hub
) -> None:
    before = await counts(hub)
    headers = {**auth("dispatcher"), "Content-Type": "application/json"}
    for text, named in FORBIDDEN_TEXT:
        # json.dumps writes the surrogate as its \u escape, as a client's JSON would.
        body = json.dumps({"title": "x", "grid_code": GRID, "description": text})
        r = await client.post("/api/v1/cases", content=body, headers=headers)
        assert r.status_code == 422, r.text
        assert r.json()["detail"][0]["loc"] == ["body", "description"]
        assert named in r.json()["message"]
    assert await counts(hub) == before


async def test_text_that_only_looks_odd_is_accepted(api: Api) -> None:
    # TAB, LF and CR, a surrogate pair (one emoji), C1 controls and U+FFFD are text.
    text = "第一行\n\t第二行\r\n😀 \u0085 \ufffd"
    case = await api.create(category_code="T01", description=text)
    assert case["description"] == text
    assert (await api.get(case["id"]))["description"] == text


async def test_forbidden_characters_in_keys_query_and_forms_are_422(
    client: httpx.AsyncClient, auth: Auth, hub: Hub
) -> None:
    headers = auth("admin")
    r = await client.post(
        "/api/v1/cases",
        content=json.dumps({"title": "x", "grid_code": GRID, "ev\x00il": 1}),
        headers={**headers, "Content-Type": "application/json"},
    )
    assert r.status_code == 422 and r.json()["detail"][0]["type"] == "string_forbidden_character"
    r = await client.get("/api/v1/catalogue?q=a%00b&x%01=1", headers=headers)
    assert r.status_code == 422
    assert {tuple(d["loc"]) for d in r.json()["detail"]} == {("query", "q"), ("query", "x\x01")}
    r = await client.post(
        "/api/v1/auth/token", data={"username": "admin\x00", "password": "x"}, headers=headers
    )
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "username"]
    # What a URL can say of a lone surrogate (its CESU-8 bytes) arrives as U+FFFD: text.
    r = await client.get("/api/v1/catalogue?q=%ED%A0%80", headers=headers)
    assert r.status_code == 200


async def test_a_nul_in_an_uploaded_files_name_is_422(api: Api, hub: Hub) -> None:
    case = await api.create(category_code="T01")
    boundary = "probe-boundary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a\x00.jpg"\r\n'
            f"Content-Type: image/jpeg\r\n\r\n"
        ).encode()
        + b"\xff\xd8\xff\xe0"
        + b"\x00" * 64
        + f"\r\n--{boundary}--\r\n".encode()
    )
    r = await api.client.post(
        f"/api/v1/cases/{case['id']}/attachments",
        content=body,
        headers={**api.auth("staff"), "Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["loc"] == ["body", "file"]


async def test_deeply_nested_bodies_are_refused_not_crashed(
    client: httpx.AsyncClient, auth: Auth
) -> None:
    headers = {**auth("dispatcher"), "Content-Type": "application/json"}
    for depth in (500, 5_000, 30_000):
        body = b'{"title": "x", "grid_code": "' + GRID.encode() + b'", "description": '
        body += b"[" * depth + b'"\\u0000"' + b"]" * depth + b"}"
        r = await client.post("/api/v1/cases", content=body, headers=headers)
        assert 400 <= r.status_code < 500, (depth, r.status_code, r.text[:200])
        assert {"error", "message"} <= r.json().keys()


def test_input_faults_walk_without_recursion() -> None:
    deep: object = "\x00"
    for _ in range(3_000):
        deep = [deep]
    (fault,) = input_faults({"a": deep}, ("body",))
    assert fault["loc"][:2] == ("body", "a") and len(fault["loc"]) == 3_002


def test_error_bodies_encode_whatever_they_echo() -> None:
    response = SafeJSONResponse(
        {"error": "invalid", "message": "m\ud800", "detail": [{"input": [float("nan"), b"\xff"]}]}
    )
    decoded = json.loads(bytes(response.body))
    assert decoded["message"] == "m\\ud800"
    assert decoded["detail"][0]["input"] == ["nan", "\ufffd"]
