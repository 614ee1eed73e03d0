"""Playwright fixtures for the screen tests: Debian's Chromium (never a downloaded browser),
a hub with the demo city served on the test's event loop, and logged-in pages."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from hub.attachments.config import AttachmentSettings, get_attachment_settings
from hub.config import Settings
from hub.db import Database
from hub.demo.load import load_demo
from hub.deps import Hub
from hub.main import create_app
from tests.servers import free_port

CHROMIUM = os.environ.get("HUB_TEST_CHROMIUM", "/usr/bin/chromium")
SECRET = "browser-test-secret-that-is-long-enough-0123456789"
PASSWORD = "demo"
DEMO_CASES = 40
# The demo city's first township: the dispatcher, the leader and the staff account (the
# police A post) work there; its county is the wall's.
TOWNSHIP = "339901001"
COUNTY = "339901"
GRID = "339901001001001"
CATEGORY = "F04"  # county police, no leader confirmation: goes straight to the A post


def _settings(url: str) -> Settings:
    return Settings(
        database_url=url,
        secret_key=SECRET,
        mode="production",
        demo_password=PASSWORD,
        # Each test logs the same accounts in again and again.
        login_per_account_per_min=0,
        login_per_address_per_min=0,
    )


@pytest.fixture(scope="session")
async def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("demo") / "demo.db"
    assert (
        # The recent picture only: the months of history would have each live hub fold
        # ~10,000 events into the assessment projection as it starts.
        await load_demo(
            _settings(f"sqlite+aiosqlite:///{path}"),
            cases=DEMO_CASES,
            only_if_empty=False,
            history_cases=0,
        )
        == 0
    )
    return path


@dataclass
class LiveHub:
    hub: Hub
    base: str  # http://127.0.0.1:port
    db_path: Path
    attachments: Path

    async def token(self, username: str) -> str:
        async with httpx.AsyncClient(base_url=self.base) as client:
            r = await client.post(
                "/api/v1/auth/token", data={"username": username, "password": PASSWORD}
            )
            r.raise_for_status()
            token: str = r.json()["access_token"]
            return token

    async def call(self, username: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {await self.token(username)}"}
        async with httpx.AsyncClient(base_url=self.base, timeout=10) as client:
            return await client.request(method, f"/api/v1{path}", headers=headers, **kwargs)


@pytest.fixture
async def live(demo_template: Path, tmp_path: Path) -> AsyncIterator[LiveHub]:
    db_path = tmp_path / "hub.db"
    shutil.copy(demo_template, db_path)
    settings = _settings(f"sqlite+aiosqlite:///{db_path}")
    hub = Hub(settings=settings, db=Database(settings.database_url))
    attachments = tmp_path / "attachments"
    app = create_app(hub=hub)
    app.dependency_overrides[get_attachment_settings] = lambda: AttachmentSettings(dir=attachments)
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", lifespan="on", ws="websockets-sansio"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    try:
        yield LiveHub(hub, f"http://127.0.0.1:{port}", db_path, attachments)
    finally:
        server.should_exit = True
        await task
        await hub.aclose()


def _have_chromium() -> bool:
    return Path(CHROMIUM).is_file()


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    if not _have_chromium():
        raise RuntimeError(
            f"{CHROMIUM} not found: run `make test`, which installs Debian's chromium package"
        )
    async with async_playwright() as p:
        the_browser = await p.chromium.launch(
            executable_path=CHROMIUM,
            # root in a container has no user namespaces for Chromium's sandbox
            args=[
                "--no-sandbox",
                "--disable-dev-shm-usage",
                "--autoplay-policy=no-user-gesture-required",
            ],
        )
        yield the_browser
        await the_browser.close()


Opener = Callable[..., Awaitable[Page]]


@pytest.fixture
async def open_screen(browser: Browser, live: LiveHub) -> AsyncIterator[Opener]:
    """`await open_screen("dispatcher", "/console", width=1920, height=1080)`: a fresh
    browser context logged in through the login page, on the given screen."""
    contexts: list[BrowserContext] = []

    async def opener(
        username: str,
        path: str,
        *,
        width: int = 1920,
        height: int = 1080,
        lang: str | None = None,
        **context_kw: Any,
    ) -> Page:
        context = await browser.new_context(
            viewport={"width": width, "height": height}, base_url=live.base, **context_kw
        )
        contexts.append(context)
        page = await context.new_page()
        page.set_default_timeout(10_000)
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.errors = errors  # type: ignore[attr-defined]
        await page.goto("/login")
        if lang is not None:
            await page.evaluate("lang => localStorage.setItem('hub.lang', lang)", lang)
        await page.fill("#username", username)
        await page.fill("#password", PASSWORD)
        await page.click("button[type=submit]")
        await page.wait_for_url(lambda url: "/login" not in url)
        if not page.url.endswith(path):
            await page.goto(path)
        return page

    yield opener
    for context in contexts:
        await context.close()


async def wait_live(page: Page, flag: str) -> None:
    """Until the screen has loaded its data and its socket is caught up."""
    await page.wait_for_function(f"() => window.{flag} && window.{flag}.ready === true")
    await page.wait_for_selector("[data-conn][data-state=live]")
