"""Photos on cases: type by magic bytes, size limits, scope through the case, and the body
limit that lets only the upload route carry megabytes."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from hub.attachments.config import MAX_PHOTO_BYTES, AttachmentSettings, get_attachment_settings
from hub.attachments.sniff import image_type
from hub.deps import Hub
from hub.main import create_app
from tests.helpers import Api, Auth

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x11" * 2000
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x22" * 500
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x33" * 500


@pytest.fixture
def store_dir(tmp_path: Path) -> Path:
    return tmp_path / "attachments"


@pytest.fixture
async def client(hub: Hub, store_dir: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(hub=hub)
    app.dependency_overrides[get_attachment_settings] = lambda: AttachmentSettings(
        dir=store_dir, per_case=3
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as c:
        yield c


@pytest.fixture
def api(client: httpx.AsyncClient, auth: Auth) -> Api:
    return Api(client, auth)


async def _police_case(api: Api) -> dict[str, Any]:
    """A level-3 whistle to the police, confirmed, so the staff account holds it."""
    case = await api.create(category_code="C01")
    return await api.act("leader", case, "confirm-whistle")


async def _upload(
    client: httpx.AsyncClient,
    auth: Auth,
    user: str,
    case_id: int,
    data: bytes,
    name: str = "site.jpg",
    mime: str = "image/jpeg",
) -> httpx.Response:
    return await client.post(
        f"/api/v1/cases/{case_id}/attachments",
        files={"file": (name, data, mime)},
        headers=auth(user),
    )


def _stored(root: Path) -> list[bytes]:
    return [p.read_bytes() for p in sorted(root.rglob("*.*"))]


def test_types_are_judged_by_their_first_bytes() -> None:
    assert image_type(JPEG[:12]) == "image/jpeg"
    assert image_type(PNG[:12]) == "image/png"
    assert image_type(WEBP[:12]) == "image/webp"
    assert image_type(b"GIF89a......") is None
    assert image_type(b"RIFF\x00\x00\x00\x00WAVE") is None
    assert image_type(b"<svg xmlns=") is None
    assert image_type(b"") is None


@pytest.mark.parametrize(
    ("data", "mime"), [(JPEG, "image/jpeg"), (PNG, "image/png"), (WEBP, "image/webp")]
)
async def test_staff_upload_and_everyone_in_scope_reads_it_back(
    client: httpx.AsyncClient, auth: Auth, api: Api, store_dir: Path, data: bytes, mime: str
) -> None:
    case = await _police_case(api)
    # The client claims a PDF: the bytes decide.
    r = await _upload(client, auth, "staff", case["id"], data, "../../etc/x.pdf", "application/pdf")
    assert r.status_code == 201, r.text
    photo = r.json()
    assert photo["content_type"] == mime
    assert photo["size_bytes"] == len(data)
    assert photo["sha256"] == hashlib.sha256(data).hexdigest()
    assert photo["filename"] == "x.pdf"  # no path survives
    assert photo["created_at"].endswith("+08:00")
    assert _stored(store_dir) == [data]

    for user in ("staff", "dispatcher", "county_commander", "liaison"):
        listed = await client.get(f"/api/v1/cases/{case['id']}/attachments", headers=auth(user))
        assert [p["id"] for p in listed.json()] == [photo["id"]], user
        got = await client.get(photo["url"], headers=auth(user))
        assert got.status_code == 200, user
        assert got.content == data
        assert got.headers["content-type"] == mime
        assert got.headers["x-content-type-options"] == "nosniff"


async def test_out_of_scope_is_not_found_and_wrong_roles_forbidden(
    client: httpx.AsyncClient, auth: Auth, api: Api
) -> None:
    case = await _police_case(api)
    photo = (await _upload(client, auth, "staff", case["id"], JPEG)).json()
    for outsider in ("dispatcher_west", "dispatcher_south"):
        r = await _upload(client, auth, outsider, case["id"], JPEG)
        assert r.status_code == 404, (outsider, r.text)
        assert r.json()["error"] == "not_found"
        r = await client.get(f"/api/v1/cases/{case['id']}/attachments", headers=auth(outsider))
        assert r.status_code == 404
        r = await client.get(photo["url"], headers=auth(outsider))
        assert r.status_code == 404
        assert r.json()["error"] == "not_found"
    for watcher in ("wall", "auditor"):
        r = await _upload(client, auth, watcher, case["id"], JPEG)
        assert r.status_code == 403, (watcher, r.text)
        assert r.json()["error"] == "forbidden"
    r = await client.get("/api/v1/attachments/999999", headers=auth("admin"))
    assert r.status_code == 404
    r = await _upload(client, auth, "admin", 999999, JPEG)
    assert r.status_code == 404


async def test_bad_uploads_are_4xx_json(client: httpx.AsyncClient, auth: Auth, api: Api) -> None:
    case = await _police_case(api)
    path = f"/api/v1/cases/{case['id']}/attachments"
    gif = await _upload(client, auth, "staff", case["id"], b"GIF89a" + b"\0" * 100, "a.jpg")
    assert gif.status_code == 415
    assert gif.json() == {
        "error": "unsupported_media_type",
        "message": "only JPEG, PNG and WebP photos are accepted",
        "field": "file",
    }
    html = await _upload(client, auth, "staff", case["id"], b"<html><script>", "a.png")
    assert html.status_code == 415
    empty = await _upload(client, auth, "staff", case["id"], b"")
    assert empty.status_code == 422
    assert empty.json()["error"] == "invalid"
    no_file = await client.post(path, data={"x": "1"}, headers=auth("staff"))
    assert no_file.status_code == 422
    as_json = await client.post(path, json={"file": "abc"}, headers=auth("staff"))
    assert as_json.status_code == 422
    unauthenticated = await client.post(path, files={"file": ("a.jpg", JPEG, "image/jpeg")})
    assert unauthenticated.status_code == 401
    bad_id = await _upload(client, auth, "staff", 2**31, JPEG)
    assert bad_id.status_code == 422


async def test_size_limit_counts_the_photo_and_the_body(
    client: httpx.AsyncClient, auth: Auth, api: Api
) -> None:
    case = await _police_case(api)
    exactly = JPEG[:12] + b"\0" * (MAX_PHOTO_BYTES - 12)
    ok = await _upload(client, auth, "staff", case["id"], exactly)
    assert ok.status_code == 201, ok.text
    # One byte over: the body still fits the route's envelope, the view refuses it.
    over = await _upload(client, auth, "staff", case["id"], exactly + b"\0")
    assert over.status_code == 413
    assert over.json()["error"] == "body_too_large"
    # Far over: the body limit answers before the view runs.
    huge = await _upload(client, auth, "staff", case["id"], exactly * 2)
    assert huge.status_code == 413
    assert huge.json()["error"] == "body_too_large"
    # Every other route keeps the small JSON limit.
    big_json = await client.post(
        "/api/v1/cases",
        content=b'{"title": "' + b"x" * 100_000 + b'"}',
        headers={**auth("dispatcher"), "Content-Type": "application/json"},
    )
    assert big_json.status_code == 413


async def test_closed_cases_and_the_per_case_cap_refuse_more(
    client: httpx.AsyncClient, auth: Auth, api: Api
) -> None:
    case = await _police_case(api)
    for _ in range(3):  # the cap is 3 in this fixture
        assert (await _upload(client, auth, "staff", case["id"], JPEG)).status_code == 201
    capped = await _upload(client, auth, "staff", case["id"], PNG)
    assert capped.status_code == 409
    assert "limit" in capped.json()["message"]

    other = await api.create(category_code="T01")
    other = await api.act("dispatcher", other, "cancel", reason="duplicate report")
    closed = await _upload(client, auth, "dispatcher", other["id"], JPEG)
    assert closed.status_code == 409
    assert closed.json()["error"] == "conflict"


async def test_the_same_photo_twice_is_stored_once(
    client: httpx.AsyncClient, auth: Auth, api: Api, store_dir: Path
) -> None:
    case = await _police_case(api)
    first = (await _upload(client, auth, "staff", case["id"], PNG, mime="image/png")).json()
    second = (await _upload(client, auth, "dispatcher", case["id"], PNG, mime="image/png")).json()
    assert first["id"] != second["id"]
    assert first["sha256"] == second["sha256"]
    assert _stored(store_dir) == [PNG]


async def test_resolving_with_photos_puts_their_hashes_on_the_chain(
    client: httpx.AsyncClient, auth: Auth, api: Api
) -> None:
    case = await _police_case(api)
    other = await _police_case(api)
    photo = (await _upload(client, auth, "staff", case["id"], JPEG)).json()
    elsewhere = (await _upload(client, auth, "staff", other["id"], PNG)).json()
    case = await api.act("staff", case, "acknowledge")
    case = await api.act("staff", case, "check-in")
    for ids, why in (
        ([elsewhere["id"]], "not of this case"),
        ([photo["id"], photo["id"]], "listed twice"),
        ([2**31], "less than or equal"),
    ):
        r = await api.act_raw("staff", case, "resolve", attachment_ids=ids)
        assert r.status_code == 422 and why in r.text, r.text
    assert (await api.get(case["id"]))["state"] == "on_site"  # refused: nothing changed
    case = await api.act("staff", case, "resolve", note="已修复", attachment_ids=[photo["id"]])
    resolved = (await api.events(case["id"]))[-1]
    assert resolved["type"] == "resolved"
    assert resolved["payload"]["attachments"] == [
        {
            "id": photo["id"],
            "sha256": hashlib.sha256(JPEG).hexdigest(),
            "content_type": "image/jpeg",
        }
    ]
