// The command wall: counters, map, ranking, ticker and trend of one region, live.
import * as echarts from "/static/vendor/echarts-6.1.0/echarts.esm.min.js";
import { api } from "./api.js";
import { h, pct } from "./dom.js";
import { eventLabel, levelLabel, nameOf, rungLabel, stepLabel, t } from "./i18n.js";
import { contract } from "./meta.js";
import { setupChrome } from "./nav.js";
import { CaseStore, isOverdue } from "./store.js";
import { Stream, showStatus } from "./stream.js";
import { fmtClock, fmtHour, fmtTime } from "./time.js";

const TICKER_MAX = 60;
const STATS_EVERY_MS = 2000; // map colours and trend: re-read at most this often

const state = {
  root: null, // the region the wall belongs to (URL or account)
  view: null, // the region shown now (drill-down)
  topics: new Set(), // region codes subscribed on the socket
  map: null, // /screens/map payload of the view
  stats: null,
  counters: new Map(), // region code -> counters
  departments: new Map(),
  store: new CaseStore(),
  truncated: false, // the snapshot held only the newest open cases
  ticker: [],
};

const charts = {};
// Read by the browser tests: what the wall holds, without scraping the canvas.
const wallTest = (window.__wall = {
  frames: 0,
  ready: false,
  openIds: () => state.store.all().filter(inView).map((c) => c.id).sort((a, b) => a - b),
  counters: () => state.counters.get(state.view),
  view: () => state.view,
});

function rem() {
  return parseFloat(getComputedStyle(document.documentElement).fontSize) || 16;
}

function regionFromUrl() {
  const m = location.pathname.match(/^\/wall\/(\d{4,15})$/);
  return m ? m[1] : new URLSearchParams(location.search).get("region");
}

// -- counters -------------------------------------------------------------------------
function renderCounters() {
  const c = state.counters.get(state.view);
  for (const tile of document.querySelectorAll("[data-kpi]")) {
    const key = tile.dataset.kpi;
    let text = "—";
    if (c) text = key.endsWith("_rate") ? pct(c[key]) : String(c[key] ?? "—");
    const b = tile.querySelector("b");
    if (b.textContent !== text) {
      b.textContent = text;
      tile.classList.remove("changed");
      void tile.offsetWidth; // restart the animation
      tile.classList.add("changed");
    }
  }
  renderLevels(c);
  renderRanking(c);
}

function renderLevels(c) {
  const levels = (c && c.open_by_whistle_level) || {};
  const keys = ["1", "2", "3", "0"];
  const colors = { 0: "#7f8fa6", 1: "#2ecc71", 2: "#ffd34d", 3: "#ff6b6b" };
  const r = rem();
  charts.levels.setOption({
    grid: { left: 6 * r, right: 3 * r, top: 0.4 * r, bottom: 0.4 * r },
    xAxis: { type: "value", show: false },
    yAxis: {
      type: "category", inverse: true, data: keys.map((k) => levelLabel(Number(k))),
      axisLabel: { color: "#cfe3f7", fontSize: 1.05 * r }, axisLine: { show: false }, axisTick: { show: false },
    },
    series: [{
      type: "bar", barWidth: "55%",
      data: keys.map((k) => ({ value: levels[k] || 0, itemStyle: { color: colors[k] } })),
      label: { show: true, position: "right", color: "#fff", fontSize: 1.05 * r },
    }],
    animationDuration: 300,
  });
}

function renderRanking(c) {
  const list = document.getElementById("ranking");
  list.replaceChildren();
  const rows = (c && c.departments) || [];
  if (!rows.length) {
    list.append(h("li", { class: "empty" }, "—"));
    return;
  }
  rows.slice(0, 10).forEach((row, i) => {
    const dept = state.departments.get(row.department_id);
    const rate = row.on_time_rate;
    list.append(
      h("li", {},
        h("span", { class: "rank" }, i + 1),
        h("span", { class: "name" }, dept ? nameOf(dept) : `#${row.department_id}`),
        h("span", { class: "sub" }, t("wall.dept_open", { n: row.open }),
          row.overdue ? ` · ${t("wall.overdue")} ${row.overdue}` : ""),
        h("span", { class: "rate" }, pct(rate)),
        h("span", {}),
        h("span", { class: "bar" }, h("i", { style: `width:${Math.round((rate || 0) * 100)}%` })),
      ),
    );
  });
}

// -- map --------------------------------------------------------------------------------
async function loadView(code) {
  state.view = code;
  history.replaceState(null, "", `/wall/${code}`);
  state.map = await api(`/screens/map/${code}`);
  echarts.registerMap(`r${code}`, state.map.geojson);
  if (!state.topics.has(code)) {
    state.topics.add(code);
    stream.resubscribe();
  }
  renderHeader();
  renderCounters();
  renderOverdue();
  renderLiveTiles();
  await loadStats();
}

function renderHeader() {
  if (!state.map) return;
  document.getElementById("region-name").textContent = nameOf(state.map.region);
  document.title = `${nameOf(state.map.region)} · ${t("wall.title")}`;
  const crumbs = document.getElementById("breadcrumb");
  crumbs.replaceChildren();
  const path = state.map.breadcrumb.filter((r) => r.code.startsWith(state.root) || state.root.startsWith(r.code));
  const reachable = path.filter((r) => r.code.length >= state.root.length);
  for (const region of reachable) {
    if (region.code === state.view) crumbs.append(h("span", { class: "here" }, nameOf(region)));
    else crumbs.append(h("button", { type: "button", onclick: () => loadView(region.code) }, nameOf(region)), " › ");
  }
  const back = document.getElementById("back");
  const parent = reachable.length > 1 ? reachable[reachable.length - 2] : null;
  back.hidden = !parent;
  back.onclick = parent ? () => loadView(parent.code) : null;
}

let statsTimer = null;
let statsDue = false;

function scheduleStats() {
  if (statsTimer) {
    statsDue = true;
    return;
  }
  loadStats();
  statsTimer = setTimeout(() => {
    statsTimer = null;
    if (statsDue) {
      statsDue = false;
      scheduleStats();
    }
  }, STATS_EVERY_MS);
}

async function loadStats() {
  const view = state.view;
  try {
    const stats = await api(`/screens/stats/${view}`);
    if (view !== state.view) return;
    state.stats = stats;
    renderMap();
    renderTrend();
    wallTest.ready = true;
  } catch {
    // the next counters frame tries again
  }
}

function renderMap() {
  if (!state.map || !state.stats) return;
  const r = rem();
  const byCode = new Map(state.stats.children.map((c) => [c.code, c]));
  const features = state.map.geojson.features;
  const names = new Map(features.map((f) => [f.properties.code, f.properties]));
  const isGrid = state.map.child_tier === "grid";
  const max = Math.max(5, ...state.stats.children.map((c) => c.open));
  charts.map.setOption({
    tooltip: {
      trigger: "item",
      formatter: (p) => {
        const props = names.get(p.name);
        const s = byCode.get(p.name) || { open: 0, overdue: 0 };
        return `${props ? nameOf(props) : p.name}<br>${t("wall.map.open")} ${s.open} · ${t("wall.map.overdue")} ${s.overdue}`;
      },
    },
    visualMap: {
      min: 0, max, calculable: false, orient: "horizontal", left: "center", bottom: 0.4 * r,
      itemWidth: 0.9 * r, itemHeight: 14 * r, text: [String(max), "0"],
      textStyle: { color: "#cfe3f7", fontSize: 0.9 * r },
      inRange: { color: ["#123a5c", "#1f6fb2", "#3fa9f5", "#ffd34d", "#ff8c42"] },
    },
    series: [{
      type: "map", map: `r${state.view}`, roam: false, selectedMode: false,
      layoutCenter: ["50%", "48%"], layoutSize: "92%",
      label: {
        show: true, color: "#fff", fontSize: (isGrid ? 0.72 : 1.05) * r, lineHeight: (isGrid ? 0.9 : 1.35) * r,
        formatter: (p) => {
          const props = names.get(p.name);
          const s = byCode.get(p.name) || { open: 0, overdue: 0 };
          if (isGrid) return s.open ? `${s.open}${s.overdue ? `/${s.overdue}` : ""}` : "";
          return `${props ? nameOf(props) : p.name}\n${t("wall.map.open")} ${s.open}${s.overdue ? ` · ${t("wall.map.overdue")} ${s.overdue}` : ""}`;
        },
      },
      itemStyle: { borderColor: "#7cc4ff", borderWidth: (isGrid ? 0.05 : 0.12) * r, areaColor: "#123a5c" },
      emphasis: { label: { color: "#fff" }, itemStyle: { areaColor: "#2d7dd2" } },
      data: features.map((f) => {
        const s = byCode.get(f.properties.code) || { open: 0, overdue: 0 };
        return {
          name: f.properties.code,
          value: s.open,
          itemStyle: s.overdue ? { borderColor: "#ff4d4f", borderWidth: (isGrid ? 0.12 : 0.25) * r } : undefined,
        };
      }),
    }],
  }, { replaceMerge: ["series"] });
}

function onMapClick(params) {
  if (!state.map || !["county", "township"].includes(state.map.child_tier)) return;
  if (params.name) loadView(params.name);
}

function renderTrend() {
  if (!state.stats) return;
  const r = rem();
  const hours = state.stats.hourly;
  charts.trend.setOption({
    grid: { left: 2.6 * r, right: 1 * r, top: 2.2 * r, bottom: 1.8 * r },
    legend: { top: 0, textStyle: { color: "#cfe3f7", fontSize: 0.95 * r }, itemWidth: 1.2 * r, itemHeight: 0.7 * r },
    tooltip: { trigger: "axis" },
    xAxis: {
      type: "category", data: hours.map((x) => fmtHour(x.hour)),
      axisLabel: { color: "#8fb3d6", fontSize: 0.8 * r, interval: 3 },
    },
    yAxis: {
      type: "value", minInterval: 1, splitLine: { lineStyle: { color: "#173a5e" } },
      axisLabel: { color: "#8fb3d6", fontSize: 0.8 * r },
    },
    series: [
      { name: t("wall.trend.created"), type: "bar", barGap: "10%", data: hours.map((x) => x.created), itemStyle: { color: "#3fa9f5" } },
      { name: t("wall.trend.closed"), type: "bar", data: hours.map((x) => x.closed), itemStyle: { color: "#2ecc71" } },
    ],
  });
}

// -- the live parts ---------------------------------------------------------------------
function inView(c) {
  if (!state.map) return true;
  const region = state.map.region;
  return c[`${region.tier}_id`] === region.id;
}

// Dispatched but not yet acknowledged, and in hand: counted from the live cases, so the
// wall shows departments responding the moment they do — or, when the loaded cases may
// not be all of them, from the database's counters (`open_by_state`).
function renderLiveTiles() {
  const cases = state.store.all().filter(inView);
  const byState = (state.counters.get(state.view) || {}).open_by_state;
  const counted = (names) => names.reduce((n, s) => n + (byState[s] || 0), 0);
  const partial = byState && state.truncated;
  const values = partial
    ? { awaiting_ack: counted(["dispatched"]), in_hand: counted(["acknowledged", "on_site"]) }
    : {
        awaiting_ack: cases.filter((c) => c.state === "dispatched").length,
        in_hand: cases.filter((c) => c.state === "acknowledged" || c.state === "on_site").length,
      };
  for (const tile of document.querySelectorAll("[data-live]")) {
    const b = tile.querySelector("b");
    const text = String(values[tile.dataset.live]);
    if (b.textContent !== text) {
      b.textContent = text;
      tile.classList.remove("changed");
      void tile.offsetWidth;
      tile.classList.add("changed");
    }
  }
}

function renderOverdue() {
  const list = document.getElementById("overdue-list");
  const now = Date.now();
  const overdue = state.store.all().filter((c) => inView(c) && isOverdue(c, now));
  overdue.sort((a, b) => String(a.resolve_due_at).localeCompare(String(b.resolve_due_at)));
  // A truncated snapshot holds the newest open cases only: the count is the database's.
  const counted = state.truncated ? (state.counters.get(state.view) || {}).overdue : null;
  const shown = counted ?? overdue.length;
  document.getElementById("overdue-count").textContent = shown ? String(shown) : "";
  list.replaceChildren(
    ...overdue.slice(0, 12).map((c) =>
      h("li", { class: "flash", dataset: { caseId: c.id } }, `#${c.id} ${c.title}`)),
  );
  if (!overdue.length) list.append(h("li", { class: "empty" }, "—"));
}

// Which events the ticker shows, and as what, is the server's (the event catalogue's
// `ticker`, in the wire contract), not a list of type names here.
const tickerKind = (type) => contract.ticker(type);

function tickerText(item) {
  const c = item.case;
  const p = item.payload || {};
  let extra = "";
  // A deadline rung names its step, an escalation rung its action.
  if (p.step) extra = ` · ${stepLabel(p.step)}`;
  if (p.step && p.action) extra += ` → ${rungLabel(p.action)}`;
  const dept = c.department_id ? state.departments.get(c.department_id) : null;
  const supervised = c.supervision ? ` · ${t(`case.supervision.${c.supervision}`)}` : "";
  return `#${c.id} ${c.title}${dept ? ` · ${nameOf(dept)}` : ""}${extra}${supervised}`;
}

function renderTicker(fresh = 0) {
  const list = document.getElementById("ticker");
  const now = Date.now();
  const items = state.ticker.filter((x) => inView(x.case));
  if (!items.length) {
    list.replaceChildren(h("li", { class: "empty" }, t("wall.no_events")));
    return;
  }
  list.replaceChildren(
    ...items.slice(0, 30).map((item, i) => {
      const current = state.store.get(item.case.id) || item.case;
      const kind = tickerKind(item.type);
      const hot = kind === "breach" || isOverdue(current, now);
      const warn = !hot && (kind === "warning" || current.sla_status === "warning");
      return h("li", {
        class: `kind-${kind}${hot ? " flash" : ""}${warn ? " warn" : ""}${i < fresh ? " fresh" : ""}`,
        dataset: { caseId: item.case.id, type: item.type },
      },
      h("span", { class: "when" }, fmtTime(item.at)),
      h("span", { class: "tag" }, kind === "whistle"
        ? levelLabel(item.case.whistle_level) : eventLabel(item.type)),
      h("span", { class: "what" }, tickerText(item)));
    }),
  );
}

function pushTicker(item) {
  state.ticker.unshift(item);
  if (state.ticker.length > TICKER_MAX) state.ticker.length = TICKER_MAX;
}

function seedTicker() {
  // After a fresh snapshot: the latest whistles still open, so the ticker is never blank.
  const recent = state.store.all().filter((c) => c.dispatched_at && c.whistle_level);
  recent.sort((a, b) => String(b.dispatched_at).localeCompare(String(a.dispatched_at)));
  state.ticker = recent.slice(0, 20).map((c) => ({ type: "dispatched", at: c.dispatched_at, case: c, payload: {} }));
}

let frameRender = null;
let freshCount = 0;

function renderSoon() {
  if (frameRender) return;
  frameRender = requestAnimationFrame(() => {
    frameRender = null;
    renderTicker(freshCount);
    freshCount = 0;
    renderOverdue();
    renderLiveTiles();
  });
}

function onFrame(frame) {
  wallTest.frames += 1;
  switch (frame.type) {
    case "subscribed":
      wallTest.position = frame.position;
      wallTest.modes = [...(wallTest.modes || []), frame.mode];
      break;
    case "snapshot":
      if (frame.topic.key === state.root) {
        state.truncated = Boolean(frame.truncated); // more open cases than the snapshot holds
        state.store.reset(frame.cases);
        seedTicker();
        renderSoon();
      }
      break;
    case "event": {
      state.store.apply(frame.case);
      if (tickerKind(frame.event.type)) {
        pushTicker({ type: frame.event.type, at: frame.event.at, case: frame.case, payload: frame.event.payload });
        freshCount += 1;
      }
      renderSoon();
      break;
    }
    case "counters":
      state.counters.set(frame.region, frame.counters);
      if (frame.region === state.view) {
        renderCounters();
        scheduleStats();
      }
      break;
    default:
      break;
  }
}

const stream = new Stream({
  topics: () => [...state.topics].map((key) => ({ kind: "region", key })),
  onFrame,
  onStatus: (status, detail) => {
    wallTest.status = status;
    showStatus(status, detail, t);
  },
});

async function calendarWarning() {
  const banner = document.getElementById("calendar-banner");
  try {
    const cal = await api("/sla/calendar");
    const years = (cal && cal.fallback_years) || [];
    banner.hidden = years.length === 0;
    banner.textContent = t("wall.calendar_missing", { years: years.join(", ") });
  } catch {
    banner.hidden = true; // no SLA calendar endpoint on this hub: nothing to warn about
  }
}

function rerender() {
  renderHeader();
  renderCounters();
  renderMap();
  renderTrend();
  renderTicker();
  renderOverdue();
  renderLiveTiles();
  calendarWarning();
}

async function main() {
  await setupChrome(rerender);
  charts.levels = echarts.init(document.getElementById("levels-chart"));
  charts.map = echarts.init(document.getElementById("map"));
  charts.trend = echarts.init(document.getElementById("trend-chart"));
  charts.map.on("click", onMapClick);
  window.addEventListener("resize", () => {
    for (const chart of Object.values(charts)) chart.resize();
    rerender();
  });
  const home = await api("/screens/home");
  state.root = regionFromUrl() || (home.region && home.region.code);
  const depts = await api("/departments");
  for (const d of depts) state.departments.set(d.id, d);
  state.topics.add(state.root);
  stream.start();
  await loadView(state.root);
  calendarWarning();
  const tick = () => (document.getElementById("clock").textContent = fmtClock());
  tick();
  setInterval(tick, 1000);
  setInterval(renderOverdue, 15_000); // deadlines pass without any event
  setInterval(calendarWarning, 10 * 60_000);
}

main();
