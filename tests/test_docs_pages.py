"""/docs and /redoc come from the hub alone: their HTML names only the hub's own URLs, and
in Chromium the rendered viewers show the API with nothing fetched from anywhere else (the
one other host ReDoc names, for its logo, is refused by the page's CSP before it leaves)."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.async_api import Browser, ConsoleMessage

from hub.web.docs import REDOC, SWAGGER_UI

pytest.register_assert_rewrite("tests.browser")  # before the import below: a plugin too

from tests.browser import LiveHub  # noqa: E402

pytest_plugins = ["tests.browser"]  # its fixtures: browser, live

URL_ATTR = re.compile(r"""(?:src|href|url)\s*[=:]\s*['"]([^'"]+)['"]""")


async def test_docs_pages_name_only_the_hubs_own_urls(live: LiveHub) -> None:
    async with httpx.AsyncClient(base_url=live.base) as client:
        await _check_pages(client)


async def _check_pages(client: httpx.AsyncClient) -> None:
    for path, assets in (("/docs", SWAGGER_UI), ("/redoc", REDOC)):
        r = await client.get(path)
        assert r.status_code == 200
        urls = URL_ATTR.findall(r.text)
        assert any(u.startswith(assets) for u in urls), (path, urls)
        assert [u for u in urls if not u.startswith(("/", "data:"))] == [], (path, urls)
        assert "//" not in " ".join(u for u in urls if not u.startswith("data:"))
        csp = r.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "http" not in csp
        for asset in ("swagger-ui-bundle.js", "swagger-ui.css") if path == "/docs" else ():
            assert (await client.get(f"{assets}/{asset}")).status_code == 200
    assert (await client.get(f"{REDOC}/redoc.standalone.js")).status_code == 200
    assert (await client.get("/docs/oauth2-redirect")).status_code == 200


async def _open(
    browser: Browser, live: LiveHub, path: str, rendered: str
) -> tuple[list[str], dict[str, str]]:
    """The URLs the page asked for while it rendered `rendered`, and why those that failed
    did; fails on any console error but the CSP's refusals of other hosts."""
    context = await browser.new_context(base_url=live.base)
    page = await context.new_page()
    requests: list[str] = []
    failed: dict[str, str] = {}
    complaints: list[str] = []

    def console(message: ConsoleMessage) -> None:
        refused = "Content Security Policy" in message.text and "https://" in message.text
        if message.type == "error" and not refused:
            complaints.append(message.text)

    page.on("request", lambda request: requests.append(request.url))
    page.on("requestfailed", lambda request: failed.update({request.url: request.failure or ""}))
    page.on("console", console)
    page.on("pageerror", lambda exc: complaints.append(str(exc)))
    try:
        await page.goto(path)
        await page.wait_for_selector(rendered, timeout=20_000)
    finally:
        await context.close()
    assert complaints == [], (path, complaints)
    return requests, failed


async def test_docs_render_in_a_browser_from_the_hub_alone(live: LiveHub, browser: Browser) -> None:
    for path, rendered in (
        ("/docs", '.opblock-summary-path[data-path="/api/v1/cases"]'),
        ("/redoc", '[data-section-id="tag/cases/operation/list_cases_api_v1_cases_get"] h2'),
    ):
        requests, failed = await _open(browser, live, path, rendered)
        outside = [u for u in requests if not u.startswith((live.base, "data:", "blob:"))]
        assert [u for u in outside if failed.get(u) != "csp"] == [], (path, outside, failed)
        assert [u for u in requests if u.startswith(live.base) and u in failed] == []
        assert f"{live.base}/openapi.json" in requests, path
