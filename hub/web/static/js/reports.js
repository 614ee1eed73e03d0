// The reports screen (报表): a region's daily briefing, weekly analysis or monthly summary
// from GET /api/v1/reports/{code}/{kind}, drawn as tables and ECharts charts, downloadable
// as XLSX or CSV and printable on A4 (css/reports.css, @media print).
import * as echarts from "/static/vendor/echarts-6.1.0/echarts.esm.min.js";
import { api } from "./api.js";
import { h, toast } from "./dom.js";
import { errorMessage, lang, levelLabel, rungLabel, stateLabel, stepLabel, t } from "./i18n.js";
import { setupChrome } from "./nav.js";
import {
  KINDS, REPORT_TIERS, filenameFrom, fmtRate, fmtRatio, heatCells, rankMove, rateChange,
  regionChoices, scoreChange, todayCst,
} from "./report-format.js";
import { fmtFull, fmtShort } from "./time.js";

// Sections only the weekly analysis and the monthly summary have.
const PERIODIC = ["trend", "departments", "heatmap", "regions", "repeats"];
// A4 less 12 mm margins each side, in CSS pixels (96 per inch): the charts' print width.
const PRINT_WIDTH_PX = Math.floor(((210 - 24) / 25.4) * 96);
const DPR = Math.max(2, window.devicePixelRatio || 1); // crisp when printed
const COLORS = ["#1f6feb", "#1a7f37", "#c98a00", "#8250df", "#cf222e"];

const state = {
  user: null,
  own: null, // the caller's own region code
  choices: [], // regions the caller may pick
  code: null,
  kind: "weekly",
  date: todayCst(),
  report: null,
  unassessed: null, // the daily briefing reads the township leader's list separately
  seq: 0,
};
const charts = {};

// Read by the browser tests: what the screen holds, without scraping the canvas.
const screen = (window.__reports = {
  ready: false,
  loads: 0,
  error: null,
  report: () => state.report,
  code: () => state.code,
  reload: () => load(),
});

const named = (n) => (n ? n[lang()] || n.zh || "" : "—");
const byId = (id) => document.getElementById(id);

// -- controls ---------------------------------------------------------------------------
async function regionsUnder(code, tier) {
  const out = [];
  let cursor = null;
  for (let page = 0; page < 20; page += 1) {
    const r = await api("/regions", { query: { under: code, tier, limit: 1000, cursor } });
    out.push(...r.items);
    if (!r.next_cursor) break;
    cursor = r.next_cursor;
  }
  return out;
}

async function loadChoices(home) {
  const own = home.region;
  state.own = own.code;
  const below = REPORT_TIERS.slice(REPORT_TIERS.indexOf(own.tier) + 1);
  const lists = await Promise.all(below.map((tier) => regionsUnder(own.code, tier)));
  state.choices = regionChoices(own.code, [own, ...lists.flat()]);
}

function renderChoices() {
  const select = byId("region");
  const indent = (r) => "\u3000".repeat(Math.max(0, REPORT_TIERS.indexOf(r.tier) - REPORT_TIERS.indexOf(state.choices[0]?.tier)));
  select.replaceChildren(...state.choices.map((r) =>
    h("option", { value: r.code }, `${indent(r)}${lang() === "en" ? r.name_en : r.name_zh}`)));
  select.value = state.code;
  if (select.value !== state.code) select.selectedIndex = -1; // asked for in the URL, not offered
}

function readUrl() {
  const q = new URLSearchParams(location.search);
  if (KINDS.includes(q.get("kind"))) state.kind = q.get("kind");
  if (/^\d{4}-\d{2}-\d{2}$/.test(q.get("date") || "")) state.date = q.get("date");
  state.code = /^\d{4,9}$/.test(q.get("region") || "") ? q.get("region") : state.own;
}

function writeUrl() {
  const q = new URLSearchParams({ kind: state.kind, date: state.date, region: state.code });
  history.replaceState(null, "", `${location.pathname}?${q}`);
}

function installControls() {
  byId("kind").value = state.kind;
  byId("date").value = state.date;
  byId("controls").addEventListener("change", (ev) => {
    if (ev.target.id === "kind") state.kind = ev.target.value;
    if (ev.target.id === "date") {
      if (!ev.target.value) return;
      state.date = ev.target.value;
    }
    if (ev.target.id === "region") state.code = ev.target.value;
    writeUrl();
    load();
  });
  byId("controls").addEventListener("submit", (ev) => ev.preventDefault());
  for (const button of document.querySelectorAll("[data-format]")) {
    button.addEventListener("click", () => download(button.dataset.format, button));
  }
  byId("print").addEventListener("click", () => window.print());
  // Printing lays the page out at A4 width: the charts are redrawn to it, and back after.
  window.addEventListener("beforeprint", () => resizeCharts(PRINT_WIDTH_PX));
  window.addEventListener("afterprint", () => resizeCharts());
  window.matchMedia("print").addEventListener("change", (ev) => resizeCharts(ev.matches ? PRINT_WIDTH_PX : undefined));
  window.addEventListener("resize", () => resizeCharts());
}

async function download(format, button) {
  button.disabled = true;
  try {
    const r = await api(`/reports/${state.code}/${state.kind}`, {
      query: { date: state.date, format, lang: lang() }, raw: true,
    });
    const blob = await r.blob();
    const name = filenameFrom(r.headers.get("Content-Disposition"), `${state.kind}-${state.code}-${state.date}.${format}`);
    const url = URL.createObjectURL(blob);
    const link = h("a", { href: url, download: name, hidden: true });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 30_000);
    toast(t("reports.downloaded", { name }), "ok");
  } catch (err) {
    toast(t("reports.error", { msg: errorMessage(err) }), "error", 6000);
  } finally {
    button.disabled = !state.report;
  }
}

// -- loading ----------------------------------------------------------------------------
async function load() {
  const seq = ++state.seq;
  screen.ready = false;
  byId("loading").hidden = false;
  const { code, kind, date } = state;
  try {
    const [report, unassessed] = await Promise.all([
      api(`/reports/${code}/${kind}`, { query: { date } }),
      kind === "daily" ? api(`/assessment/${code}/unassessed`) : null,
    ]);
    if (seq !== state.seq) return;
    state.report = report;
    state.unassessed = unassessed ? unassessed.items : report.unassessed;
    screen.error = null;
  } catch (err) {
    if (seq !== state.seq) return;
    state.report = null;
    state.unassessed = null;
    screen.error = { status: err.status ?? null, message: errorMessage(err) };
  }
  byId("loading").hidden = true;
  render();
  screen.loads += 1;
  screen.ready = true;
}

// -- rendering --------------------------------------------------------------------------
function render() {
  const failed = byId("error");
  const main = byId("report");
  for (const button of document.querySelectorAll("[data-format]")) button.disabled = !state.report;
  if (!state.report) {
    failed.textContent = screen.error ? t("reports.error", { msg: screen.error.message }) : "";
    failed.hidden = !screen.error;
    main.hidden = true;
    for (const id of Object.keys(charts)) disposeChart(id);
    document.title = t("reports.title");
    return;
  }
  failed.hidden = true;
  main.hidden = false;
  main.dataset.kind = state.report.kind;
  const periodic = state.kind !== "daily";
  for (const name of PERIODIC) byId(`sec-${name}`).hidden = !periodic;
  renderHead();
  renderVolume();
  renderSummary();
  renderCategories();
  renderOverdue();
  renderUnassessed();
  renderEscalations();
  if (periodic) {
    renderTrend();
    renderDepartments();
    renderHeatmap();
    renderRegions();
    renderRepeats();
  } else {
    for (const id of ["trend-chart", "departments-chart", "heatmap-chart"]) disposeChart(id);
  }
}

function renderHead() {
  const r = state.report;
  const kind = t(`reports.kind.${state.kind}`);
  const label = (p) => (lang() === "en" ? p.label_en : p.label_zh);
  const title = `${named(r.region.name)} ${label(r.period)} ${kind}`;
  byId("report-title").textContent = title;
  byId("report-period").textContent = t("reports.period", { p: `${r.period.first} – ${r.period.last}` });
  byId("report-compared").textContent = t("reports.compared", { p: label(r.previous_period) });
  byId("report-generated").textContent = t("reports.generated", { t: fmtFull(r.generated_at) });
  document.title = `${title} · ${t("reports.title")}`;
  const tierKey = { city: "reports.regions.city", county: "reports.regions.county" }[r.region.tier];
  byId("regions-h").dataset.i18n = tierKey || "reports.regions.township";
  byId("regions-h").textContent = t(byId("regions-h").dataset.i18n);
}

function empty() {
  return h("p", { class: "empty", dataset: { empty: "" } }, t("reports.no_data"));
}

/** A table of `rows` (arrays of cells: text, numbers or nodes) or "无数据". */
function table(headers, rows, rowAttrs = () => ({})) {
  if (!rows.length) return empty();
  const cell = (c) => {
    if (c instanceof Node) return h("td", {}, c);
    return h("td", { class: typeof c === "number" ? "num" : null }, c == null || c === "" ? "—" : c);
  };
  return h("table", {},
    h("thead", {}, h("tr", {}, headers.map((x) => h("th", { scope: "col" }, t(`reports.col.${x}`))))),
    h("tbody", {}, rows.map((r, i) => h("tr", rowAttrs(i), r.map(cell)))));
}

function change({ arrow, text, tone }) {
  return h("span", { class: `chg chg-${tone}` }, arrow ? `${arrow} ${text}` : text);
}

function renderVolume() {
  const { current, previous } = state.report.volume;
  byId("volume").replaceChildren(...Object.keys(current).map((key) =>
    h("div", { class: "tile", dataset: { volume: key } },
      h("b", {}, String(current[key])),
      h("span", {}, t(`reports.vol.${key}`)),
      h("small", { class: "muted" }, `${t("reports.col.previous")} ${previous[key] ?? "—"}`))));
}

function renderSummary() {
  const rows = state.report.summary.map((s) => [
    named(s.label),
    h("span", { class: "rate", dataset: { indicator: s.indicator } }, fmtRate(s.value)),
    fmtRatio(s.numerator, s.denominator),
    fmtRate(s.previous),
    change(rateChange(s.value, s.previous, s.indicator)),
  ]);
  byId("summary").replaceChildren(table(["indicator", "value", "ratio", "previous", "change"], rows));
}

function renderCategories() {
  const cats = state.report.categories;
  byId("categories").replaceChildren(table(["category", "this", "previous"],
    cats.map((c) => [c.code ? `${named(c.name)}（${c.code}）` : named(c.name), c.count, c.previous])));
  drawChart("categories-chart", cats.length ? {
    ...base(),
    legend: { top: 0, data: [t("reports.col.this"), t("reports.col.previous")] },
    grid: { left: 8, right: 16, top: 30, bottom: 8, containLabel: true },
    xAxis: { type: "category", data: cats.map((c) => named(c.name)), axisLabel: { interval: 0, rotate: cats.length > 5 ? 30 : 0 } },
    yAxis: { type: "value", minInterval: 1 },
    series: [
      { name: t("reports.col.this"), type: "bar", data: cats.map((c) => c.count) },
      { name: t("reports.col.previous"), type: "bar", data: cats.map((c) => c.previous) },
    ],
  } : null);
}

function renderTrend() {
  const days = state.report.trend || [];
  const keys = ["created", "closed", "due", "on_time"];
  const any = days.some((d) => keys.some((k) => d[k]));
  drawChart("trend-chart", any ? {
    ...base(),
    legend: { top: 0, data: keys.map((k) => t(`reports.series.${k}`)) },
    grid: { left: 8, right: 16, top: 30, bottom: 8, containLabel: true },
    xAxis: { type: "category", boundaryGap: false, data: days.map((d) => d.day.slice(5)) },
    yAxis: { type: "value", minInterval: 1 },
    series: keys.map((k) => ({ name: t(`reports.series.${k}`), type: "line", data: days.map((d) => d[k]), symbolSize: 5 })),
  } : null);
}

function rankText(rank) {
  return rank == null ? t("reports.unranked") : rank;
}

function rankingRows(list) {
  return list.map((d) => {
    const move = rankMove(d.rank, d.previous_rank);
    return [
      rankText(d.rank),
      named(d.name),
      d.score == null ? null : d.score.toFixed(2),
      d.previous_rank,
      change({ arrow: move.arrow, text: move.n == null ? "—" : String(move.n), tone: move.tone }),
      change({ arrow: "", text: scoreChange(d.change), tone: d.change == null ? "none" : d.change < 0 ? "bad" : d.change > 0 ? "good" : "flat" }),
    ];
  });
}

function indicatorLabel(code) {
  const s = state.report.summary.find((x) => x.indicator === code);
  return s ? named(s.label) : code;
}

function breakdownText(d) {
  return (d.breakdown || []).map((b) =>
    `${indicatorLabel(b.indicator)} ×${b.weight}: ${b.value == null ? "—" : b.value} → ${b.points}`).join("\n");
}

function renderDepartments() {
  const list = state.report.departments || [];
  byId("departments").replaceChildren(table(
    ["rank", "department", "score", "previous_rank", "rank_move", "score_change"],
    rankingRows(list),
    (i) => ({ class: list[i].change != null && list[i].change < 0 ? "fell" : null, title: breakdownText(list[i]) }),
  ));
  const fallen = state.report.fallen || [];
  byId("fallen").hidden = !fallen.length;
  byId("fallen").textContent = fallen.length ? t("reports.fallen", { names: fallen.map((d) => named(d.name)).join("、") }) : "";
  const scored = list.filter((d) => d.score != null);
  const el = byId("departments-chart");
  el.style.height = `${Math.max(220, scored.length * 26 + 50)}px`;
  drawChart("departments-chart", scored.length ? {
    ...base(),
    grid: { left: 8, right: 48, top: 8, bottom: 8, containLabel: true },
    xAxis: { type: "value", min: 0, max: 100 },
    yAxis: {
      type: "category", inverse: true, data: scored.map((d) => named(d.name)),
      axisLabel: { width: 200, overflow: "truncate" },
    },
    series: [{
      name: t("reports.series.score"), type: "bar", barMaxWidth: 18,
      data: scored.map((d) => ({ value: d.score, itemStyle: { color: d.change != null && d.change < 0 ? "#cf222e" : "#1f6feb" } })),
      label: { show: true, position: "right", formatter: (p) => Number(p.value).toFixed(1) },
    }],
  } : null);
}

function renderHeatmap() {
  const hm = state.report.heatmap || { categories: [], regions: [], values: [] };
  const { cells, max } = heatCells(hm);
  const el = byId("heatmap-chart");
  el.style.height = `${Math.max(240, hm.categories.length * 28 + 110)}px`;
  drawChart("heatmap-chart", cells.length ? {
    ...base(),
    tooltip: { position: "top" },
    grid: { left: 8, right: 16, top: 8, bottom: 60, containLabel: true },
    xAxis: { type: "category", data: hm.regions.map((r) => named(r.name)), splitArea: { show: true }, axisLabel: { interval: 0, rotate: hm.regions.length > 6 ? 30 : 0 } },
    yAxis: { type: "category", data: hm.categories.map((c) => named(c.name)), splitArea: { show: true } },
    visualMap: {
      min: 0, max: Math.max(1, max), calculable: false, orient: "horizontal", left: "center", bottom: 0,
      inRange: { color: ["#e8f1fd", "#1f6feb", "#cf222e"] }, itemHeight: 120,
    },
    series: [{ name: t("reports.series.cases"), type: "heatmap", data: cells, label: { show: true } }],
  } : null);
}

function renderRegions() {
  byId("regions").replaceChildren(table(
    ["rank", "region", "score", "previous_rank", "rank_move", "score_change"],
    rankingRows(state.report.regions || []),
  ));
}

function renderOverdue() {
  byId("overdue").replaceChildren(table(
    ["case", "title", "state", "township", "department", "due", "resolved", "late"],
    state.report.overdue.map((o) => [
      o.case_id, o.title, stateLabel(o.state), named(o.township),
      o.department ? named(o.department) : null, fmtShort(o.due_at),
      o.resolved_at ? fmtShort(o.resolved_at) : null, o.late_h,
    ]),
  ));
}

function categoryName(code) {
  const known = [...(state.report.categories || []), ...((state.report.heatmap || {}).categories || [])]
    .find((c) => c.code === code);
  return known ? `${named(known.name)}（${code}）` : code;
}

function renderRepeats() {
  byId("repeats").replaceChildren(table(
    ["grid", "category", "times", "cases"],
    (state.report.repeats || []).map((r) => [
      `${named(r.name)}（${r.code || r.grid_id}）`, categoryName(r.category_code), r.count,
      r.case_ids.map((id) => `#${id}`).join(" "),
    ]),
  ));
  byId("grids").replaceChildren(table(
    ["grid", "count"],
    (state.report.grids || []).map((g) => [`${named(g.name)}（${g.code || g.grid_id}）`, g.count]),
  ));
}

function renderUnassessed() {
  const items = state.unassessed || [];
  const section = byId("sec-unassessed");
  section.classList.toggle("flagged", items.length > 0);
  section.querySelector(".flag").hidden = !items.length;
  byId("unassessed").replaceChildren(table(
    ["case", "title", "township", "level", "closed", "flagged"],
    items.map((u) => [
      u.case_id, u.title, named(u.township), levelLabel(u.whistle_level), fmtShort(u.closed_at),
      u.flagged_at ? fmtShort(u.flagged_at) : null, // when the SLA engine reminded the leader
    ]),
  ));
}

function rungItem(key) {
  const [step, n] = String(key).split("#");
  return `${stepLabel(step)} #${n}`;
}

function renderEscalations() {
  const esc = state.report.escalations;
  const rows = [
    ...Object.entries(esc.cases_by_action).map(([k, v]) => ["cases_by_action", rungLabel(k), v]),
    ...Object.entries(esc.by_rung).map(([k, v]) => ["by_rung", rungItem(k), v]),
    ...Object.entries(esc.whistles_raised_to).map(([k, v]) => ["whistles_raised_to", levelLabel(Number(k)), v]),
  ].map(([kind, item, n]) => [t(`reports.esc.${kind}`), item, n]);
  byId("escalations").replaceChildren(table(["kind", "item", "count"], rows));
}

// -- charts -----------------------------------------------------------------------------
function base() {
  return {
    animation: false, // drawn at once: printing and the tests see the final picture
    color: COLORS,
    textStyle: { fontFamily: getComputedStyle(document.body).fontFamily },
    tooltip: { trigger: "axis" },
  };
}

function drawChart(id, option) {
  const el = byId(id);
  let note = el.parentElement.querySelector(`[data-empty-for="${id}"]`);
  if (!option) {
    disposeChart(id);
    el.hidden = true;
    if (!note) {
      note = h("p", { class: "empty", dataset: { emptyFor: id, empty: "" } });
      el.before(note);
    }
    note.textContent = t("reports.no_data");
    note.hidden = false;
    return;
  }
  if (note) note.hidden = true;
  el.hidden = false;
  charts[id] ??= echarts.init(el, null, { renderer: "canvas", devicePixelRatio: DPR });
  charts[id].setOption(option, true);
  charts[id].resize();
}

function disposeChart(id) {
  if (charts[id]) {
    charts[id].dispose();
    delete charts[id];
  }
}

function resizeCharts(width) {
  for (const chart of Object.values(charts)) {
    chart.resize(width ? { width, height: chart.getDom().clientHeight } : undefined);
  }
}

// -- start ------------------------------------------------------------------------------
function rerender() {
  renderChoices();
  render();
}

async function main() {
  state.user = await setupChrome(rerender);
  try {
    await loadChoices(await api("/screens/home"));
  } catch (err) {
    screen.error = { status: err.status ?? null, message: errorMessage(err) };
    render();
    screen.ready = true;
    return;
  }
  readUrl();
  renderChoices();
  installControls();
  writeUrl();
  await load();
}

main();
