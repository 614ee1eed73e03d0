"""/docs (Swagger UI) and /redoc from the hub's own vendored copies: FastAPI's defaults load
them from a public CDN, which leaves the API docs blank on an air-gapped intranet."""

from __future__ import annotations

import base64
import hashlib
import re

from fastapi import APIRouter, Request
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse

# Pinned in hub/web/static/vendor/VERSIONS.md with their hashes and licences.
SWAGGER_UI = "/static/vendor/swagger-ui-dist-5.35.0"
REDOC = "/static/vendor/redoc-2.5.4"
DOCS_URL = "/docs"
OAUTH2_REDIRECT_URL = "/docs/oauth2-redirect"
REDOC_URL = "/redoc"
# Swagger UI would otherwise show a badge fetched from validator.swagger.io.
SWAGGER_PARAMETERS = {"validatorUrl": None}

# Nothing but the hub: the browser itself refuses any other host, such as the logo ReDoc's
# side menu names on cdn.redoc.ly. FastAPI's pages start the viewers with an inline script,
# allowed by its hash; ReDoc runs its search in a blob: worker.
_CSP = (
    "default-src 'self'; script-src 'self' {scripts}; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; worker-src 'self' blob:; connect-src 'self'; font-src 'self'; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.S)

router = APIRouter(include_in_schema=False)


def _locked_down(page: HTMLResponse) -> HTMLResponse:
    scripts = [
        "'sha256-" + base64.b64encode(hashlib.sha256(body.encode()).digest()).decode() + "'"
        for body in _INLINE_SCRIPT.findall(bytes(page.body).decode())
    ]
    page.headers["Content-Security-Policy"] = _CSP.format(scripts=" ".join(scripts))
    page.headers["X-Content-Type-Options"] = "nosniff"
    page.headers["Referrer-Policy"] = "no-referrer"
    return page


def _openapi_url(request: Request) -> str:
    url = request.app.openapi_url
    assert isinstance(url, str), "the hub always publishes its OpenAPI document"
    return url


@router.get(DOCS_URL)
async def swagger_ui(request: Request) -> HTMLResponse:
    page = get_swagger_ui_html(
        openapi_url=_openapi_url(request),
        title=f"{request.app.title} - Swagger UI",
        swagger_js_url=f"{SWAGGER_UI}/swagger-ui-bundle.js",
        swagger_css_url=f"{SWAGGER_UI}/swagger-ui.css",
        swagger_favicon_url="data:,",
        oauth2_redirect_url=OAUTH2_REDIRECT_URL,
        swagger_ui_parameters=SWAGGER_PARAMETERS,
    )
    return _locked_down(page)


@router.get(OAUTH2_REDIRECT_URL)
async def swagger_ui_oauth2_redirect() -> HTMLResponse:
    return _locked_down(get_swagger_ui_oauth2_redirect_html())


@router.get(REDOC_URL)
async def redoc(request: Request) -> HTMLResponse:
    page = get_redoc_html(
        openapi_url=_openapi_url(request),
        title=f"{request.app.title} - ReDoc",
        redoc_js_url=f"{REDOC}/redoc.standalone.js",
        redoc_favicon_url="data:,",
        with_google_fonts=False,
    )
    return _locked_down(page)
