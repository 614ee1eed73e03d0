"""The screens' pages and every file they load, served by the hub itself: a command
centre on an intranet has no CDN to fall back on."""

from __future__ import annotations

from pathlib import Path as FsPath
from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import FileResponse, RedirectResponse

from hub.errors import NotFound
from hub.resources import package_dir

# Shipped inside the package (hub/web/static), so an installed wheel serves the same files.
WEB_ROOT = package_dir("hub.web", "static")
PAGES = ("login", "wall", "console", "staff", "reports")
STATIC_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".json": "application/json",
}
# Scripts and styles only from the hub; ECharts sets inline styles, photos are blob: URLs.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; connect-src 'self'; font-src 'self'; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'"
)
_PAGE_HEADERS = {
    "Content-Security-Policy": CSP,
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}

router = APIRouter(include_in_schema=False)


def _page(name: str) -> FileResponse:
    return FileResponse(
        WEB_ROOT / f"{name}.html", media_type="text/html; charset=utf-8", headers=_PAGE_HEADERS
    )


@router.get("/")
async def index() -> RedirectResponse:
    return RedirectResponse("/login", status_code=307)


@router.get("/login")
async def login_page() -> FileResponse:
    return _page("login")


@router.get("/wall")
async def wall_page() -> FileResponse:
    return _page("wall")


@router.get("/wall/{code}")
async def wall_region_page(code: Annotated[str, Path(pattern=r"^\d{4,15}$")]) -> FileResponse:
    return _page("wall")


@router.get("/console")
async def console_page() -> FileResponse:
    return _page("console")


@router.get("/staff")
async def staff_page() -> FileResponse:
    return _page("staff")


@router.get("/reports")
async def reports_page() -> FileResponse:
    return _page("reports")


def static_path(relative: str) -> FsPath | None:
    """The file under hub/web/static that `relative` names, if it is one the hub serves."""
    if not relative or len(relative) > 200 or "\\" in relative or "\x00" in relative:
        return None
    path = (WEB_ROOT / relative).resolve()
    if WEB_ROOT not in path.parents or path.suffix not in STATIC_TYPES or not path.is_file():
        return None
    return path


@router.get("/static/{relative:path}")
async def static_file(relative: str) -> FileResponse:
    path = static_path(relative)
    if path is None:
        raise NotFound(f"no file {relative[:200]!r}")
    # no-cache: revalidated by ETag on every load, so a new version reaches walls that run
    # for weeks without anyone clearing a cache.
    return FileResponse(
        path,
        media_type=STATIC_TYPES[path.suffix],
        headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"},
    )
