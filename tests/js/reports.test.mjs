// The /reports screen's pure formatting (web/js/report-format.js): rates, changes against
// the previous period, rank moves, the heat map's cells and the region choices. Run by
// tests/test_js_units.py, which passes a report the hub built (HUB_REPORT_JSON).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import {
  LOWER_IS_BETTER, filenameFrom, fmtRate, fmtRatio, heatCells, rankMove, rateChange,
  regionChoices, scoreChange, signed, todayCst,
} from "../../web/js/report-format.js";

const report = JSON.parse(readFileSync(process.env.HUB_REPORT_JSON, "utf8"));

test("rates are percentages with one decimal; nothing due is a dash", () => {
  assert.equal(fmtRate(0.7692), "76.9%");
  assert.equal(fmtRate(1), "100.0%");
  assert.equal(fmtRate(0), "0.0%");
  assert.equal(fmtRate(null), "—");
  assert.equal(fmtRatio(10, 13), "10/13");
  assert.equal(fmtRatio(0, 0), "—");
});

test("a change is in percentage points, with its arrow and whether it is good", () => {
  assert.deepEqual(rateChange(0.8, 0.7, "closure_rate"), { arrow: "▲", text: "+10.0", tone: "good", delta: 10 });
  assert.deepEqual(rateChange(0.6, 0.7, "closure_rate"), { arrow: "▼", text: "−10.0", tone: "bad", delta: -10 });
  // Less rework is better: down is good.
  assert.ok(LOWER_IS_BETTER.has("rework_rate"));
  assert.equal(rateChange(0.1, 0.3, "rework_rate").tone, "good");
  assert.equal(rateChange(0.3, 0.1, "return_rate").tone, "bad");
  assert.equal(rateChange(0.5, 0.5, "closure_rate").arrow, "→");
  assert.equal(rateChange(0.5, null, "closure_rate").text, "—");
  assert.equal(rateChange(null, 0.5, "closure_rate").arrow, "");
  assert.equal(signed(-0.04), "0.0"); // rounds to nothing: no sign
  assert.equal(scoreChange(-1.5), "−1.50");
  assert.equal(scoreChange(3.2), "+3.20");
  assert.equal(scoreChange(null), "—");
});

test("a rank moving from 5th to 2nd is up three", () => {
  assert.deepEqual(rankMove(2, 5), { arrow: "▲", n: 3, tone: "good" });
  assert.deepEqual(rankMove(4, 1), { arrow: "▼", n: 3, tone: "bad" });
  assert.deepEqual(rankMove(3, 3), { arrow: "→", n: 0, tone: "flat" });
  assert.equal(rankMove(1, null).n, null);
});

test("the hub's report: every summary row formats, the heat map's cells fit its axes", () => {
  for (const s of report.summary) {
    const text = fmtRate(s.value);
    assert.ok(s.value == null ? text === "—" : /^\d{1,3}\.\d%$/.test(text), `${s.indicator}: ${text}`);
    assert.notEqual(rateChange(s.value, s.previous, s.indicator).text, undefined);
  }
  const { cells, max } = heatCells(report.heatmap);
  assert.equal(cells.length, report.heatmap.values.length);
  for (const [x, y, n] of cells) {
    assert.ok(x < report.heatmap.regions.length && y < report.heatmap.categories.length);
    assert.ok(n >= 1 && n <= max);
  }
  assert.deepEqual(heatCells(null), { cells: [], max: 0 });
});

test("the region choices: own first, reported tiers only, nothing outside", () => {
  const regions = [
    { code: "339901001001", tier: "community" },
    { code: "339901002", tier: "township" },
    { code: "339901001", tier: "township" },
    { code: "339901", tier: "county" },
    { code: "339902001", tier: "township" },
    { code: "339901001", tier: "township" },
  ];
  assert.deepEqual(regionChoices("339901", regions).map((r) => r.code), ["339901", "339901001", "339901002"]);
  assert.deepEqual(regionChoices("339901001", regions).map((r) => r.code), ["339901001"]);
});

test("downloads keep the hub's filename; today is China's date", () => {
  assert.equal(filenameFrom('attachment; filename="weekly-339901-2026-11-30.xlsx"', "x"), "weekly-339901-2026-11-30.xlsx");
  assert.equal(filenameFrom(null, "fallback.csv"), "fallback.csv");
  assert.equal(todayCst(new Date("2026-11-30T16:30:00Z")), "2026-12-01"); // 00:30 in Beijing
  assert.equal(todayCst(new Date("2026-12-01T15:59:00Z")), "2026-12-01");
});
