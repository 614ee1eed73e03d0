"""The three screens in a real browser (Debian's Chromium) against a real hub with the demo
city: a case made in the console reaches the county wall and the A post's phone within
seconds, the wall resumes after losing its network without missing anything, and every
screen switches language. Screenshots at each screen's target size go to
test-artifacts/screens/ (git-ignored), or to HUB_TEST_SCREENS_DIR: `make screenshots`
points it at docs/screens/ to regenerate the README's pictures on purpose."""

from __future__ import annotations

import asyncio
import json
import os
import re
import sqlite3
import struct
import uuid
import zlib
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import FilePayload, Page, Request, expect

pytest.register_assert_rewrite("tests.browser")  # before the import below: a plugin too

from tests.browser import (  # noqa: E402
    CATEGORY,
    COUNTY,
    GRID,
    LiveHub,
    Opener,
    wait_live,
)

pytest_plugins = ["tests.browser"]  # its fixtures: browser, live, open_screen

FEW_SECONDS_MS = 5_000
ROOT = Path(__file__).resolve().parent.parent
# A test run must leave a clone as it found it: tracked pictures change only on purpose.
SCREENS_DIR = ROOT / os.environ.get("HUB_TEST_SCREENS_DIR", "test-artifacts/screens")


async def _screenshot(page: Page, name: str) -> Path:
    path = SCREENS_DIR / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=path)
    return path


async def _kpi(page: Page, key: str) -> int:
    text = await page.inner_text(f"[data-kpi={key}] b, [data-live={key}] b")
    return int(text)


async def _wait_kpi(page: Page, key: str, expected: int) -> None:
    await page.wait_for_function(
        "([key, n]) => document.querySelector(`[data-kpi=${key}] b, [data-live=${key}] b`)"
        "?.textContent === String(n)",
        arg=[key, expected],
        timeout=FEW_SECONDS_MS,
    )


async def _create_in_console(console: Page, title: str) -> int:
    await console.keyboard.press("n")  # the keyboard way to the intake form
    await expect(console.locator("#f-title")).to_be_focused()
    await console.keyboard.type(title)
    await console.fill("#f-description", "浏览器测试：主干道路口交通信号灯故障")
    await console.fill("#f-category", "jiaotong")  # pinyin finds 交通 entries
    await expect(console.locator("#category-options li").first).to_be_visible()
    await console.fill("#f-category", CATEGORY.lower())  # and the code finds the entry
    await console.keyboard.press("Enter")
    assert await console.input_value("#f-category-code") == CATEGORY
    await console.fill("#f-grid", GRID)
    await console.keyboard.press("Control+Enter")
    selected = console.locator("#detail h3")
    await expect(selected).to_contain_text(title)
    text = await selected.inner_text()
    return int(text.split()[0].lstrip("#"))


async def test_console_case_reaches_wall_and_staff_and_ack_moves_the_wall(
    live: LiveHub, open_screen: Opener
) -> None:
    wall = await open_screen("wall", f"/wall/{COUNTY}")
    console = await open_screen("dispatcher", "/console")
    staff = await open_screen(
        "staff", "/staff", width=360, height=640, has_touch=True, is_mobile=True
    )
    await asyncio.gather(
        wait_live(wall, "__wall"), wait_live(console, "__console"), wait_live(staff, "__staff")
    )
    await wall.wait_for_function("() => window.__wall.counters() !== undefined")
    new_today = await _kpi(wall, "new_today")
    awaiting = await _kpi(wall, "awaiting_ack")
    in_hand = await _kpi(wall, "in_hand")

    title = f"E2E 信号灯故障 {uuid.uuid4().hex[:6]}"
    case_id = await _create_in_console(console, title)
    await expect(console.locator("#detail-state")).to_have_attribute("data-state", "dispatched")

    # The county wall: the ticker shows the new whistle, the counters move.
    ticker_item = wall.locator(f"#ticker li[data-case-id='{case_id}']")
    await expect(ticker_item).to_contain_text(title, timeout=FEW_SECONDS_MS)
    await expect(ticker_item).to_contain_text("三级哨")
    await _wait_kpi(wall, "new_today", new_today + 1)
    await _wait_kpi(wall, "awaiting_ack", awaiting + 1)

    # The A post's phone: the task arrives, with the alert.
    card = staff.locator(f"#new-tasks [data-case-id='{case_id}']")
    await expect(card).to_contain_text(title, timeout=FEW_SECONDS_MS)
    assert await staff.evaluate("window.__staff.alerts") >= 1
    await card.locator("[data-act=ack]").click()
    moved = staff.locator(f"#open-tasks [data-case-id='{case_id}']")
    await expect(moved).to_have_attribute("data-state", "acknowledged", timeout=FEW_SECONDS_MS)
    await expect(moved.locator(".left")).to_contain_text("剩余")

    # ... and the wall sees the department respond.
    await _wait_kpi(wall, "awaiting_ack", awaiting)
    await _wait_kpi(wall, "in_hand", in_hand + 1)
    # The console's timeline has every step, and its hash chain checks out in the browser.
    await expect(console.locator("#chain-status")).to_have_attribute(
        "data-ok", "true", timeout=FEW_SECONDS_MS
    )
    await expect(console.locator(".timeline li[data-type=acknowledged]")).to_have_count(1)
    for page in (wall, console, staff):
        assert page.errors == []  # type: ignore[attr-defined]


async def _open_ids_from_api(live: LiveHub) -> list[int]:
    states = [
        "reported",
        "classified",
        "awaiting_confirmation",
        "dispatched",
        "acknowledged",
        "on_site",
        "resolved",
        "verified",
        "returned",
    ]
    r = await live.call(
        "wall", "GET", "/cases", params={"region": COUNTY, "state": states, "limit": 200}
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["next_cursor"] is None
    return sorted(c["id"] for c in body["items"])


async def _make_cases(live: LiveHub, n: int, tag: str) -> list[dict[str, Any]]:
    made = []
    for i in range(n):
        r = await live.call(
            "dispatcher",
            "POST",
            "/cases",
            json={"title": f"{tag} 断网期间 {i}", "grid_code": GRID, "category_code": CATEGORY},
        )
        assert r.status_code == 201, r.text
        made.append(r.json())
    return made


async def test_wall_resumes_after_losing_the_network_and_misses_nothing(
    live: LiveHub, open_screen: Opener
) -> None:
    wall = await open_screen("wall", f"/wall/{COUNTY}")
    await wait_live(wall, "__wall")
    await wall.wait_for_function("() => window.__wall.counters() !== undefined")
    before_new = await _kpi(wall, "new_today")

    # 1. The browser loses its network.
    await wall.context.set_offline(True)
    banner = wall.locator("#conn-banner")
    await expect(banner).to_be_visible()
    await expect(wall.locator("[data-conn]")).not_to_have_attribute("data-state", "live")
    made = await _make_cases(live, 3, "offline")
    acked = await live.call(
        "staff", "POST", f"/cases/{made[0]['id']}/acknowledge", json={"version": made[0]["version"]}
    )
    assert acked.status_code == 200, acked.text
    await asyncio.sleep(1.5)
    assert await wall.locator("#ticker").inner_text() != ""
    for case in made:  # nothing arrives while down
        assert await wall.locator(f"#ticker li[data-case-id='{case['id']}']").count() == 0
    await wall.context.set_offline(False)

    await expect(wall.locator("[data-conn]")).to_have_attribute(
        "data-state", "live", timeout=FEW_SECONDS_MS * 2
    )
    await expect(banner).to_have_attribute("data-state", "resumed")
    for case in made:
        await expect(wall.locator(f"#ticker li[data-case-id='{case['id']}']")).to_have_count(1)
    await _wait_kpi(wall, "new_today", before_new + 3)
    assert (await wall.evaluate("window.__wall.modes"))[-1] == "resume"
    assert await wall.evaluate("window.__wall.openIds()") == await _open_ids_from_api(live)

    # 2. The hub drops every socket (a restart): the same, from the server's side.
    assert live.hub.realtime is not None
    await live.hub.realtime.gateway.shutdown()
    more = await _make_cases(live, 2, "restart")
    for case in more:
        await expect(wall.locator(f"#ticker li[data-case-id='{case['id']}']")).to_have_count(
            1, timeout=FEW_SECONDS_MS * 2
        )
    await _wait_kpi(wall, "new_today", before_new + 5)
    assert (await wall.evaluate("window.__wall.modes"))[-1] == "resume"
    assert await wall.evaluate("window.__wall.openIds()") == await _open_ids_from_api(live)
    assert wall.errors == []  # type: ignore[attr-defined]


async def test_every_screen_switches_language_and_remembers(
    live: LiveHub, open_screen: Opener
) -> None:
    checks = [
        ("wall", f"/wall/{COUNTY}", "__wall", "[data-kpi=open] span", "在办", "Open"),
        ("dispatcher", "/console", "__console", "#queue-h", "案件队列", "Cases"),
        ("staff", "/staff", "__staff", "#open-h span", "办理中", "In hand"),
    ]
    for user, path, flag, selector, zh, en in checks:
        page = await open_screen(user, path)
        await wait_live(page, flag)
        await expect(page.locator(selector)).to_have_text(zh)
        assert await page.evaluate("document.documentElement.lang") == "zh-CN"
        await page.click("[data-lang-toggle]")
        await expect(page.locator(selector)).to_have_text(en)
        assert await page.evaluate("document.documentElement.lang") == "en"
        await page.reload()
        await wait_live(page, flag)
        await expect(page.locator(selector)).to_have_text(en)
        await page.click("[data-lang-toggle]")
        await expect(page.locator(selector)).to_have_text(zh)
    login = await open_screen("wall", "/login")
    await login.goto("/login")
    await expect(login.locator("#login-form button")).to_have_text("登录")
    await login.click("[data-lang-toggle]")
    await expect(login.locator("#login-form button")).to_have_text("Log in")


async def _requests_of_a_reload(page: Page) -> list[str]:
    urls: list[str] = []

    def record(request: Request) -> None:
        urls.append(request.url)

    page.on("request", record)
    await page.reload()
    return urls


async def test_screens_load_only_from_the_hub(live: LiveHub, open_screen: Opener) -> None:
    for user, path, flag in (
        ("wall", f"/wall/{COUNTY}", "__wall"),
        ("dispatcher", "/console", "__console"),
        ("staff", "/staff", "__staff"),
    ):
        page = await open_screen(user, path)
        urls = await _requests_of_a_reload(page)
        await wait_live(page, flag)
        outside = [u for u in urls if not u.startswith((live.base, "data:", "blob:"))]
        assert outside == [], outside
        assert len(urls) >= 5
        if flag != "__staff":
            assert any("/static/vendor/echarts-6.1.0/" in u for u in urls)


async def _fits(page: Page) -> None:
    size = await page.evaluate(
        "({w: document.documentElement.scrollWidth, h: document.documentElement.scrollHeight,"
        " vw: innerWidth, vh: innerHeight})"
    )
    assert size["w"] <= size["vw"] and size["h"] <= size["vh"], size


async def test_screenshots_at_target_sizes(live: LiveHub, open_screen: Opener) -> None:
    shots = []
    for width, height, name in ((1920, 1080, "wall-1920x1080"), (3840, 2160, "wall-3840x2160")):
        wall = await open_screen("wall", "/wall", width=width, height=height)
        await wait_live(wall, "__wall")
        await wall.wait_for_timeout(800)  # charts finish their entry animation
        await _fits(wall)
        shots.append(await _screenshot(wall, name))
    # The holiday-schedule banner says exactly what the SLA calendar reports.
    calendar = (await live.call("wall", "GET", "/sla/calendar")).json()
    banner = wall.locator("#calendar-banner")
    if calendar["fallback_years"]:
        await expect(banner).to_be_visible()
        for year in calendar["fallback_years"]:
            await expect(banner).to_contain_text(str(year))
    else:
        await expect(banner).to_be_hidden()
    county = await open_screen("wall", "/wall", width=1920, height=1080)
    await wait_live(county, "__wall")
    # Drill down city -> county -> township and back up, by the map and the breadcrumb.
    assert await county.evaluate("window.__wall.view()") == "3399"
    box = await county.locator("#map").bounding_box()
    assert box is not None
    await county.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    await county.wait_for_function("() => window.__wall.view() !== '3399'")
    drilled = await county.evaluate("window.__wall.view()")
    assert len(drilled) == 6
    await county.click("#back")
    await county.wait_for_function("() => window.__wall.view() === '3399'")

    console = await open_screen("dispatcher", "/console")
    await wait_live(console, "__console")
    await console.locator("#case-list").focus()
    await console.keyboard.press("j")  # the first case in the queue, by keyboard
    await expect(console.locator("#detail h3")).to_be_visible()
    await expect(console.locator("#chain-status")).to_have_attribute("data-ok", "true")
    await _fits(console)

    # Two tasks on the A post's phone for the picture: one new, one in hand.
    tasks = []
    for title in ("路口信号灯故障，车辆拥堵", "商铺占道经营"):
        r = await live.call(
            "dispatcher",
            "POST",
            "/cases",
            json={"title": title, "grid_code": GRID, "category_code": CATEGORY},
        )
        assert r.status_code == 201, r.text
        tasks.append(r.json())
    held = tasks[1]
    r = await live.call(
        "staff", "POST", f"/cases/{held['id']}/acknowledge", json={"version": held["version"]}
    )
    assert r.status_code == 200, r.text
    staff = await open_screen(
        "staff", "/staff", width=360, height=640, is_mobile=True, has_touch=True
    )
    await wait_live(staff, "__staff")
    for task in tasks:
        await expect(staff.locator(f"[data-case-id='{task['id']}']")).to_have_count(1)
    width = await staff.evaluate("document.documentElement.scrollWidth")
    assert width <= 360
    shots.append(await _screenshot(staff, "staff-360x640"))
    for shot in shots:
        assert shot.stat().st_size > 10_000, shot


def _png(width: int = 4, height: int = 3) -> bytes:
    """A real (tiny) PNG, so the browser can preview it too."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\xcc\x33\x33" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


async def test_staff_checks_in_with_location_and_resolves_with_a_photo(
    live: LiveHub, open_screen: Opener
) -> None:
    made = (await _make_cases(live, 1, "photo"))[0]
    staff = await open_screen(
        "staff",
        "/staff",
        width=360,
        height=640,
        is_mobile=True,
        has_touch=True,
        permissions=["geolocation"],
        geolocation={"latitude": 23.31, "longitude": 113.05},
    )
    await wait_live(staff, "__staff")
    card = staff.locator(f"[data-case-id='{made['id']}']")
    await card.locator("[data-act=ack]").click()
    await expect(card.locator("[data-act=checkin]")).to_be_visible()
    await card.locator("[data-act=checkin]").click()
    await expect(card).to_have_attribute("data-state", "on_site")
    await card.locator("[data-act=resolve]").click()
    await card.locator("textarea[name=note]").fill("信号灯已修复，现场恢复通行")
    photo_file: FilePayload = {"name": "site.png", "mimeType": "image/png", "buffer": _png()}
    await card.locator("input[type=file]").set_input_files(files=[photo_file])
    await expect(card.locator("img.preview")).to_be_visible()
    await card.locator("button[type=submit]").click()
    await expect(card).to_have_attribute("data-state", "resolved")

    events = (await live.call("dispatcher", "GET", f"/cases/{made['id']}/events")).json()
    checked_in = next(e for e in events if e["type"] == "checked_in")
    assert (checked_in["payload"]["lat"], checked_in["payload"]["lon"]) == (23.31, 113.05)
    resolved = next(e for e in events if e["type"] == "resolved")
    assert resolved["payload"]["note"] == "信号灯已修复，现场恢复通行"
    photos = (await live.call("dispatcher", "GET", f"/cases/{made['id']}/attachments")).json()
    assert [(p["content_type"], p["size_bytes"]) for p in photos] == [("image/png", len(_png()))]
    # The photo's hash is on the hash chain, in the resolved event.
    assert [a["sha256"] for a in resolved["payload"]["attachments"]] == [photos[0]["sha256"]]

    # The dispatcher sees the photo with the case, to verify it.
    console = await open_screen("dispatcher", "/console")
    await wait_live(console, "__console")
    await console.keyboard.press("3")  # the "to verify" queue
    await console.locator(f"#case-{made['id']}").click()
    photo = console.locator(".photos img")
    await expect(photo).to_have_attribute("src", re.compile(r"^blob:"))
    assert await photo.evaluate("img => img.decode().then(() => img.naturalWidth)") == 4
    assert staff.errors == [] and console.errors == []  # type: ignore[attr-defined]


async def test_the_console_shows_a_tampered_timeline_as_broken(
    live: LiveHub, open_screen: Opener
) -> None:
    made = (await _make_cases(live, 1, "tamper"))[0]
    console = await open_screen("dispatcher", "/console")
    await wait_live(console, "__console")
    await console.keyboard.press("2")  # dispatched cases are with the departments
    await console.locator(f"#case-{made['id']}").click()
    status = console.locator("#chain-status")
    await expect(status).to_have_attribute("data-ok", "true")
    await expect(status).to_contain_text("2")  # created and dispatched

    # Someone with database access rewrites what the dispatch said.
    with sqlite3.connect(live.db_path) as db:
        db.execute(
            "UPDATE case_events SET payload = ? WHERE case_id = ? AND seq = 2",
            (json.dumps({"note": "改过的"}), made["id"]),
        )
    await console.keyboard.press("Escape")
    await console.locator(f"#case-{made['id']}").click()
    await expect(status).to_have_attribute("data-ok", "false")
    await expect(status).to_contain_text("第 2 条")


async def test_console_previews_routing_then_dispatches_from_the_keyboard(
    live: LiveHub, open_screen: Opener
) -> None:
    r = await live.call(
        "dispatcher", "POST", "/cases", json={"title": "无类别的来电 E2E", "grid_code": GRID}
    )
    assert r.status_code == 201
    case_id = r.json()["id"]
    console = await open_screen("dispatcher", "/console")
    await wait_live(console, "__console")
    await console.keyboard.press("1")
    await console.locator(f"#case-{case_id}").click()
    suggestion = console.locator("#suggestion")
    await expect(suggestion).to_contain_text("没有可用的事项类别")
    await console.fill("#preview-category", CATEGORY)
    await console.keyboard.press("Tab")
    await expect(suggestion.locator("ol li")).to_have_count(3)
    await expect(suggestion).to_contain_text("A岗在岗，通知A岗")
    assert (await _screenshot(console, "console-1920x1080")).stat().st_size > 10_000
    await console.locator("#actions [data-action=dispatch]").click()
    assert await console.input_value("#action-form input[name=category_code]") == CATEGORY
    await console.keyboard.press("Control+Enter")
    await expect(console.locator("#detail-state")).to_have_attribute("data-state", "dispatched")
    await expect(console.locator(".timeline li[data-type=dispatched]")).to_have_count(1)
