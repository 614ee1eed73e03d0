"""The /reports screen (报表) in Chromium against a live hub with the demo city and a few
cases made for the test: a township leader and the city's commander each see the summary,
the charts and the tables of their own region (and below), switch to English, download the
workbook and print the report to an A4 PDF; a township asking for another township's
report in the page gets the error, not the data."""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

import pytest
from playwright.async_api import Page, expect

pytest.register_assert_rewrite("tests.browser")  # before the import below: a plugin too

from tests.browser import CATEGORY, COUNTY, GRID, TOWNSHIP, LiveHub, Opener  # noqa: E402

pytest_plugins = ["tests.browser"]  # its fixtures: browser, live, open_screen

OTHER_TOWNSHIP = "339901002"  # the county's second township: outside the leader's scope
CITY = "3399"
PROJECTED_S = 20.0
EMPTY_DAY = "2020-01-15"  # before the demo city's cases: every section is empty


async def _report(live: LiveHub, user: str, code: str, kind: str) -> dict[str, Any]:
    r = await live.call(user, "GET", f"/reports/{code}/{kind}")
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def _make_cases(live: LiveHub, n: int = 3) -> None:
    """`n` cases in the leader's township today, one acknowledged, and wait until the
    projection the reports read (run by the live hub's own consumers) holds them."""
    before = (await _report(live, "leader", TOWNSHIP, "daily"))["volume"]["current"]["created"]
    made = []
    for i in range(n):
        r = await live.call(
            "dispatcher",
            "POST",
            "/cases",
            json={"title": f"报表测试 井盖破损 {i}", "grid_code": GRID, "category_code": CATEGORY},
        )
        assert r.status_code == 201, r.text
        made.append(r.json())
    r = await live.call(
        "staff", "POST", f"/cases/{made[0]['id']}/acknowledge", json={"version": made[0]["version"]}
    )
    assert r.status_code == 200, r.text
    deadline = time.monotonic() + PROJECTED_S
    while True:
        now = (await _report(live, "leader", TOWNSHIP, "daily"))["volume"]["current"]["created"]
        if now >= before + n:
            return
        assert time.monotonic() < deadline, f"the projection still counts {now} of {before + n}"
        await asyncio.sleep(0.2)


async def _shown(page: Page) -> dict[str, Any]:
    report: dict[str, Any] = await page.evaluate("window.__reports.report()")
    return report


async def _loads(page: Page) -> int:
    n: int = await page.evaluate("window.__reports ? window.__reports.loads : 0")
    return n


async def _loaded(page: Page, after: int = 0) -> None:
    """Until the screen has finished a load after its `after`th."""
    await page.wait_for_function(
        "n => window.__reports && window.__reports.ready && window.__reports.loads > n",
        arg=after,
    )


async def _options(page: Page) -> list[str]:
    values: list[str] = await page.eval_on_selector_all(
        "#region option", "options => options.map(o => o.value)"
    )
    return values


async def _canvases(page: Page, chart: str) -> int:
    return await page.locator(f"#{chart} canvas").count()


async def _print_pdf(page: Page) -> bytes:
    """What the print button gives, as a PDF: the page's beforeprint/afterprint handlers run
    around it, as they do around window.print()."""
    await page.evaluate("window.dispatchEvent(new Event('beforeprint'))")
    pdf = await page.pdf(format="A4", print_background=True, prefer_css_page_size=True)
    await page.evaluate("window.dispatchEvent(new Event('afterprint'))")
    return pdf


def _pdf_pages(pdf: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page(?![s\w])", pdf))


async def test_township_leader_sees_prints_and_downloads_only_their_own_reports(
    live: LiveHub, open_screen: Opener
) -> None:
    await _make_cases(live)
    page = await open_screen("leader", "/reports")
    await _loaded(page)
    # What the page drew from (the hub's timers keep moving the figures under the test).
    expected = await _shown(page)
    assert expected["region"]["code"] == TOWNSHIP and expected["kind"] == "week"

    # The caller's own township is the default, and the only region on offer (nothing
    # below a township is reported on).
    assert await page.input_value("#region") == TOWNSHIP
    assert await _options(page) == [TOWNSHIP]
    assert await page.input_value("#kind") == "weekly"
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", await page.input_value("#date"))
    assert TOWNSHIP in page.url

    # The summary: every indicator, the value as a percentage, numerator/denominator.
    await expect(page.locator("#report-title")).to_contain_text("滨江街道")
    await expect(page.locator("#report-title")).to_contain_text("周分析")
    await expect(page.locator("#report-generated")).to_contain_text("北京时间")
    rows = page.locator("#summary table tbody tr")
    await expect(rows).to_have_count(len(expected["summary"]))
    judged = next(s for s in expected["summary"] if s["denominator"])
    cell = page.locator(f"#summary [data-indicator={judged['indicator']}]")
    await expect(cell).to_have_text(f"{judged['value'] * 100:.1f}%")
    row = page.locator(f"#summary tbody tr:has([data-indicator={judged['indicator']}])")
    await expect(row).to_contain_text(f"{judged['numerator']}/{judged['denominator']}")
    created = expected["volume"]["current"]["created"]
    await expect(page.locator("[data-volume=created] b")).to_have_text(str(created))
    # The charts are drawn on canvases; the weekly sections are shown.
    assert await _canvases(page, "trend-chart") >= 1
    assert await _canvases(page, "categories-chart") >= 1
    await expect(page.locator("#sec-trend")).to_be_visible()
    await expect(page.locator("#sec-unassessed h3")).to_have_text("待评价吹哨")

    # English, and back to the report as it was.
    await expect(page.locator("[data-i18n='reports.summary']")).to_have_text("指标汇总")
    await page.click("[data-lang-toggle]")
    assert await page.evaluate("document.documentElement.lang") == "en"
    await expect(page.locator("[data-i18n='reports.summary']")).to_have_text("Indicators")
    await expect(page.locator("#summary thead th").first).to_have_text("Indicator")
    await expect(page.locator("#kind option[value=weekly]")).to_have_text("Weekly analysis")
    await expect(page.locator("#report-title")).to_contain_text("Binjiang Subdistrict")
    await expect(page.locator("#report-title")).to_contain_text("Weekly analysis")
    await expect(cell).to_have_text(f"{judged['value'] * 100:.1f}%")
    assert await _canvases(page, "trend-chart") >= 1

    # The workbook, fetched with the bearer token and saved from a blob.
    async with page.expect_download() as info:
        await page.click("#download-xlsx")
    download = await info.value
    assert download.suggested_filename.endswith(".xlsx"), download.suggested_filename
    assert TOWNSHIP in download.suggested_filename
    saved = await download.path()
    assert saved.read_bytes()[:2] == b"PK"  # a zip: the XLSX container

    # Printed on A4: a real PDF over several pages (the long sections start new ones).
    pdf = await _print_pdf(page)
    assert pdf[:5] == b"%PDF-"
    assert len(pdf) > 30_000, len(pdf)
    assert _pdf_pages(pdf) >= 2
    await page.click("[data-lang-toggle]")
    await expect(page.locator("[data-i18n='reports.summary']")).to_have_text("指标汇总")

    # The daily briefing: the weekly-only sections go, the leader's list stays.
    done = await _loads(page)
    await page.select_option("#kind", "daily")
    await _loaded(page, done)
    await expect(page.locator("#sec-trend")).to_be_hidden()
    await expect(page.locator("#sec-unassessed")).to_be_visible()
    assert "kind=daily" in page.url

    # Another township's report, asked for in the page's URL: the hub's 404, shown as
    # the error, and nothing of the report on screen.
    await page.goto(f"/reports?region={OTHER_TOWNSHIP}&kind=weekly")
    await _loaded(page)
    error = page.locator("#error")
    await expect(error).to_be_visible()
    await expect(error).to_contain_text("无法加载报表")
    await expect(page.locator("#report")).to_be_hidden()
    assert await page.evaluate("window.__reports.error.status") == 404
    assert await page.evaluate("window.__reports.report()") is None
    assert await page.locator("#summary table").count() == 0
    assert await _options(page) == [TOWNSHIP]  # still only its own on offer
    await expect(page.locator("#download-xlsx")).to_be_disabled()
    # ... and the hub says the same to the API.
    r = await live.call("leader", "GET", f"/reports/{OTHER_TOWNSHIP}/weekly")
    assert r.status_code == 404
    assert page.errors == []  # type: ignore[attr-defined]


async def test_city_commander_ranks_departments_and_townships_of_a_county(
    live: LiveHub, open_screen: Opener
) -> None:
    await _make_cases(live)
    page = await open_screen("commander", "/reports")
    await _loaded(page)
    # The city by default, with its counties and townships below it.
    assert await page.input_value("#region") == CITY
    options = await _options(page)
    assert options[0] == CITY
    assert {COUNTY, TOWNSHIP, OTHER_TOWNSHIP} <= set(options)
    assert all(len(code) in (4, 6, 9) and code.startswith(CITY) for code in options)
    await expect(page.locator("#regions-h")).to_have_text("区县排名")

    done = await _loads(page)
    await page.select_option("#kind", "monthly")
    await _loaded(page, done)
    done = await _loads(page)
    await page.select_option("#region", COUNTY)
    await _loaded(page, done)
    assert f"region={COUNTY}" in page.url and "kind=monthly" in page.url
    expected = await _shown(page)
    assert expected["region"]["code"] == COUNTY and expected["kind"] == "month"
    await expect(page.locator("#report-title")).to_contain_text("江北区")
    await expect(page.locator("#report-title")).to_contain_text("月汇总")
    await expect(page.locator("#regions-h")).to_have_text("街乡排名")
    await expect(page.locator("#summary table tbody tr")).to_have_count(len(expected["summary"]))
    # Department scores as bars, categories × townships as a heat map, daily lines.
    assert expected["departments"], "the demo county's departments are ranked"
    assert await _canvases(page, "departments-chart") >= 1
    assert await _canvases(page, "heatmap-chart") >= 1
    assert await _canvases(page, "trend-chart") >= 1
    await expect(page.locator("#departments table tbody tr")).to_have_count(
        len(expected["departments"])
    )
    await expect(page.locator("#regions table tbody tr")).to_have_count(len(expected["regions"]))
    townships = page.locator("#regions table tbody")
    await expect(townships).to_contain_text("滨江街道")
    await expect(townships).to_contain_text("望湖街道")

    await page.click("[data-lang-toggle]")
    await expect(page.locator("#regions-h")).to_have_text("Township ranking")
    await expect(page.locator("#departments thead th").nth(1)).to_have_text("Department")
    await expect(page.locator("#report-title")).to_contain_text("Jiangbei District")
    pdf = await _print_pdf(page)
    assert pdf[:5] == b"%PDF-" and len(pdf) > 30_000
    assert _pdf_pages(pdf) >= 3

    # A period with nothing in it: every section says so, in the page's language.
    done = await _loads(page)
    await page.fill("#date", EMPTY_DAY)
    await page.dispatch_event("#date", "change")
    await _loaded(page, done)
    await expect(page.locator("#overdue [data-empty]")).to_have_text("No data")
    await expect(page.locator("#departments [data-empty]")).to_have_text("No data")
    await expect(page.locator("[data-empty-for=heatmap-chart]")).to_have_text("No data")
    await expect(page.locator("#heatmap-chart")).to_be_hidden()
    await page.click("[data-lang-toggle]")
    await expect(page.locator("#overdue [data-empty]")).to_have_text("无数据")
    await expect(page.locator("[data-empty-for=trend-chart]")).to_have_text("无数据")
    assert page.errors == []  # type: ignore[attr-defined]
