// Pure formatting for the /reports screen: rates, changes against the previous period,
// rank moves and the heat map's cells. No DOM, network or i18n, so node's test runner
// checks it (tests/js/reports.test.mjs).

// Indicators where less is better (hub/assessment/schemes.py COMPONENTS marks them False).
export const LOWER_IS_BETTER = new Set(["rework_rate", "return_rate", "case_rework_rate"]);
// The tiers a report is made for (hub/assessment/service.py ASSESSED_TIERS).
export const REPORT_TIERS = ["city", "county", "township"];
export const KINDS = ["daily", "weekly", "monthly"];

/** 0.7692 → "76.9%"; null (nothing was due) → "—". */
export function fmtRate(value, digits = 1) {
  if (value == null || Number.isNaN(Number(value))) return "—";
  return `${(Number(value) * 100).toFixed(digits)}%`;
}

/** "10/13", or "—" when nothing was counted. */
export function fmtRatio(numerator, denominator) {
  if (!denominator) return "—";
  return `${numerator ?? 0}/${denominator}`;
}

/** A signed number with a true minus sign: 3.2 → "+3.2", -1.5 → "−1.5", 0 → "0.0". */
export function signed(n, digits = 1) {
  if (n == null || Number.isNaN(Number(n))) return "—";
  const fixed = Math.abs(Number(n)).toFixed(digits);
  if (Number(fixed) === 0) return (0).toFixed(digits);
  return `${n > 0 ? "+" : "−"}${fixed}`;
}

/** A rate against its previous value, in percentage points: the arrow, the text and
 * whether the move is good or bad for this indicator. Nothing to compare → empty arrow. */
export function rateChange(value, previous, indicator = "") {
  if (value == null || previous == null) return { arrow: "", text: "—", tone: "none", delta: null };
  const delta = Math.round((value - previous) * 1000) / 10; // percentage points, 0.1
  if (delta === 0) return { arrow: "→", text: "0.0", tone: "flat", delta: 0 };
  const up = delta > 0;
  const good = LOWER_IS_BETTER.has(indicator) ? !up : up;
  return { arrow: up ? "▲" : "▼", text: signed(delta), tone: good ? "good" : "bad", delta };
}

/** A rank against last period's: moving from 5th to 2nd is up 3 (smaller is better). */
export function rankMove(rank, previousRank) {
  if (rank == null || previousRank == null) return { arrow: "", n: null, tone: "none" };
  const n = previousRank - rank;
  if (n === 0) return { arrow: "→", n: 0, tone: "flat" };
  return { arrow: n > 0 ? "▲" : "▼", n: Math.abs(n), tone: n > 0 ? "good" : "bad" };
}

/** A score's change (points, already rounded by the server): "+3.20" / "−1.50" / "—". */
export function scoreChange(change) {
  return change == null ? "—" : signed(change, 2);
}

/** The heat map's cells for ECharts ([x = region, y = category, n]) and the largest n. */
export function heatCells(heatmap) {
  const values = (heatmap && heatmap.values) || [];
  const cells = values.map(([category, region, n]) => [region, category, n]);
  const max = values.reduce((m, v) => Math.max(m, v[2]), 0);
  return { cells, max };
}

/** The regions a caller may pick: their own and those below it that reports are made
 * for (city, county, township), own first, then by code. */
export function regionChoices(ownCode, regions) {
  const seen = new Set();
  const out = [];
  for (const r of regions || []) {
    if (!r || !REPORT_TIERS.includes(r.tier) || seen.has(r.code)) continue;
    if (!String(r.code).startsWith(ownCode)) continue;
    seen.add(r.code);
    out.push(r);
  }
  return out.sort((a, b) => (a.code === ownCode ? -1 : b.code === ownCode ? 1 : a.code.localeCompare(b.code)));
}

/** The filename in a Content-Disposition header, or `fallback`. */
export function filenameFrom(disposition, fallback) {
  const m = /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(disposition || "");
  return m ? decodeURIComponent(m[1]) : fallback;
}

/** Today's date (YYYY-MM-DD) in China Standard Time. */
export function todayCst(now = new Date()) {
  return new Date(now.getTime() + 8 * 3600_000).toISOString().slice(0, 10);
}
