// The dispatcher's console: intake, the live queue, the routing suggestion, the actions
// and the case timeline with its hash check. Usable from the keyboard.
import * as echarts from "/static/vendor/echarts-6.1.0/echarts.esm.min.js";
import { ApiError, api } from "./api.js";
import { checkChain } from "./chain.js";
import { h, toast } from "./dom.js";
import {
  PRIORITY_CODES, SOURCE_CODES, actionLabel, errorMessage, eventLabel, fieldLabel, lang,
  levelLabel, nameOf, priorityLabel, reasonLabel, sourceLabel, stateLabel, stepLabel, t,
} from "./i18n.js";
import { contract } from "./meta.js";
import { setupChrome } from "./nav.js";
import { CaseStore, QUEUE_STATES, WITH_DEPARTMENT, isOverdue, slaStatus } from "./store.js";
import { Stream, showStatus } from "./stream.js";
import { fmtShort, fmtTime } from "./time.js";

const TABS = {
  queue: (c) => QUEUE_STATES.has(c.state),
  working: (c) => WITH_DEPARTMENT.has(c.state),
  verify: (c) => c.state === "resolved" || c.state === "verified",
  overdue: (c) => isOverdue(c),
  all: () => true,
};
const TAB_ORDER = Object.keys(TABS);
// The body fields of each action (besides `version`); "?" marks optional ones.
const state = {
  user: null,
  home: null,
  tab: "queue",
  store: new CaseStore(),
  selected: null, // case id
  detail: null, // GET /cases/{id}
  form: null, // the action whose form is open
  catalogue: [],
  departments: new Map(),
  counters: null,
  arrived: new Set(),
};
const consoleTest = (window.__console = { ready: false });

// -- queue ------------------------------------------------------------------------------
function visibleCases() {
  const query = document.getElementById("search").value.trim().toLowerCase();
  const level = document.getElementById("level-filter").value;
  const match = TABS[state.tab];
  const rows = state.store.all().filter((c) => {
    if (!match(c)) return false;
    if (level !== "" && String(c.whistle_level || 0) !== level) return false;
    if (!query) return true;
    return String(c.id) === query.replace(/^#/, "") || c.title.toLowerCase().includes(query);
  });
  rows.sort((a, b) => b.id - a.id);
  return rows;
}

function renderTabs() {
  for (const button of document.querySelectorAll("[data-tab]")) {
    const name = button.dataset.tab;
    button.setAttribute("aria-selected", String(name === state.tab));
    button.querySelector("b").textContent = String(state.store.all().filter(TABS[name]).length);
  }
}

function renderList() {
  renderTabs();
  const list = document.getElementById("case-list");
  const rows = visibleCases();
  const now = Date.now();
  list.replaceChildren(
    ...rows.slice(0, 300).map((c) =>
      h("li", {
        role: "option", id: `case-${c.id}`, dataset: { caseId: c.id },
        "aria-selected": String(c.id === state.selected),
        class: `${isOverdue(c, now) ? "overdue" : ""} ${state.arrived.has(c.id) ? "arrived" : ""}`,
        onclick: () => select(c.id),
      },
      h("span", { class: "t" }, `#${c.id} ${c.title}`),
      h("span", { class: `badge lv-${c.whistle_level || 0}` }, levelLabel(c.whistle_level)),
      h("span", { class: "m" }, `${stateLabel(c.state)} · ${fmtShort(c.created_at)}`,
        c.department_id ? ` · ${deptName(c.department_id)}` : "",
        slaStatus(c, now) !== "ok" ? ` · ${t(`sla.${slaStatus(c, now)}`)}` : "")),
    ),
  );
  if (!rows.length) list.append(h("li", { class: "muted" }, t("console.empty")));
  state.arrived.clear();
}

function deptName(id) {
  const d = state.departments.get(id);
  return d ? nameOf(d) : `#${id}`;
}

function move(step) {
  const rows = visibleCases();
  if (!rows.length) return;
  const at = rows.findIndex((c) => c.id === state.selected);
  const next = rows[Math.max(0, Math.min(rows.length - 1, at < 0 ? 0 : at + step))];
  select(next.id);
  document.getElementById(`case-${next.id}`)?.scrollIntoView({ block: "nearest" });
}

// -- detail -----------------------------------------------------------------------------
let loadSeq = 0;

async function select(id) {
  state.selected = id;
  state.form = null;
  renderList();
  await loadDetail();
}

async function loadDetail() {
  const id = state.selected;
  if (id == null) return;
  const seq = ++loadSeq;
  try {
    const [detail, eventsResponse, photos] = await Promise.all([
      api(`/cases/${id}`),
      api(`/cases/${id}/events`, { raw: true }),
      api(`/cases/${id}/attachments`).catch(() => []),
    ]);
    const eventsText = await eventsResponse.text();
    let suggestion = null;
    if (QUEUE_STATES.has(detail.state) && detail.allowed_actions.includes("dispatch")) {
      suggestion = await api(`/screens/cases/${id}/routing`).catch((err) => ({ error: errorMessage(err) }));
    }
    if (seq !== loadSeq) return;
    state.detail = { case: detail, eventsText, events: JSON.parse(eventsText), photos, suggestion };
    state.store.apply(detail);
    renderDetail();
  } catch (err) {
    if (seq === loadSeq) toast(t("err.generic", { msg: errorMessage(err) }), "error");
  }
}

function fact(label, value) {
  return [h("dt", {}, label), h("dd", {}, value ?? "—")];
}

function renderDetail() {
  const root = document.getElementById("detail");
  if (!state.detail) return;
  const { case: c, events, eventsText, photos, suggestion } = state.detail;
  const sla = slaStatus(c);
  const header = h("h3", {}, `#${c.id} ${c.title} `,
    h("span", { class: `badge lv-${c.whistle_level || 0}` }, levelLabel(c.whistle_level)), " ",
    h("span", { class: "badge", id: "detail-state", dataset: { state: c.state } }, stateLabel(c.state)),
    sla !== "ok" ? h("span", { class: `badge sla-${sla}` }, t(`sla.${sla}`)) : null,
    c.supervision ? h("span", { class: "badge sla-breached" }, t(`case.supervision.${c.supervision}`)) : null);
  const entry = state.catalogue.find((e) => e.code === c.category_code);
  const facts = h("dl", { class: "facts" },
    fact(t("case.category"), entry ? `${entry.code} ${nameOf(entry)}` : c.category_code),
    fact(t("console.f.source"), sourceLabel(c.source)),
    fact(t("case.department"), c.department_id ? deptName(c.department_id) : null),
    fact(t("console.f.priority"), priorityLabel(c.priority)),
    fact(t("case.created"), fmtShort(c.created_at)),
    fact(t("case.ack_due_at"), c.ack_due_at && fmtShort(c.ack_due_at)),
    fact(t("case.checkin_due_at"), c.checkin_due_at && fmtShort(c.checkin_due_at)),
    fact(t("case.resolve_due_at"), c.resolve_due_at && fmtShort(c.resolve_due_at) + (c.deadlines_estimated ? ` (${t("case.estimated")})` : "")),
    c.original_resolve_due_at && c.original_resolve_due_at !== c.resolve_due_at
      ? fact(t("case.original_resolve_due_at"), fmtShort(c.original_resolve_due_at)) : null,
    c.verify_due_at !== undefined ? fact(t("case.verify_due_at"), c.verify_due_at && fmtShort(c.verify_due_at)) : null);
  const description = c.description ? h("p", {}, c.description) : null;
  root.replaceChildren(header, facts, description || "", renderSuggestion(suggestion),
    renderActions(c), renderPhotos(photos), renderTimeline(events, eventsText));
}

function renderSuggestion(s) {
  if (!s) return "";
  const box = h("div", { class: "box suggestion", id: "suggestion" }, h("h4", {}, t("console.suggestion")));
  if (s.error) box.append(h("p", { class: "error" }, s.error));
  else if (!s.decided) box.append(h("p", {}, t("console.suggestion.none", { reason: reasonLabel(s.reason) })));
  else {
    box.append(
      h("p", {}, s.entry ? `${s.entry.code} ${nameOf(s.entry)} → ` : "",
        h("span", { class: `badge lv-${s.whistle_level}` }, levelLabel(s.whistle_level)), " ",
        s.department ? nameOf(s.department) : "", s.staff ? ` · ${s.staff.name}` : ""),
      h("ol", {}, ...s.reasons.map((r) => h("li", {}, reasonLabel(r)))),
    );
  }
  // Try another category before dispatching: the dispatch form then uses it.
  const pick = h("input", {
    list: "dl-preview", id: "preview-category", value: s.entry ? s.entry.code : "",
    "aria-label": t("console.suggestion.try"), placeholder: t("console.suggestion.try"),
  });
  pick.addEventListener("change", () => previewCategory(pick.value.trim()));
  box.append(h("label", { class: "row" }, pick), h("datalist", { id: "dl-preview" },
    ...state.catalogue.map((e) => h("option", { value: e.code }, `${e.name_zh} ${e.pinyin}`))));
  return box;
}

async function previewCategory(code) {
  if (!state.detail || !state.catalogue.some((e) => e.code === code)) return;
  const id = state.detail.case.id;
  try {
    state.detail.suggestion = await api(`/screens/cases/${id}/routing`, { query: { category_code: code } });
  } catch (err) {
    state.detail.suggestion = { error: errorMessage(err) };
  }
  state.detail.preview = code;
  renderDetail();
}

function renderActions(c) {
  const box = h("div", { class: "box" }, h("h4", {}, t("console.actions")));
  const bar = h("div", { class: "actions", id: "actions" });
  for (const action of c.allowed_actions) {
    bar.append(h("button", {
      type: "button", dataset: { action },
      class: ["cancel", "reject", "return"].includes(action) ? "danger" : action === "dispatch" ? "primary" : "",
      onclick: () => openForm(action),
    }, actionLabel(action)));
  }
  box.append(bar);
  if (state.form) box.append(actionForm(c, state.form));
  return box;
}

function openForm(action) {
  state.form = action;
  renderDetail();
  const first = document.querySelector(".action-form input, .action-form select, .action-form textarea, .action-form button");
  first?.focus();
}

// A form field as the action's schema in the contract declares it: its label, whether it
// is required, its type and limits, so the form cannot ask for what the server refuses.
function field(c, spec) {
  const { name, required } = spec;
  const label = fieldLabel(name);
  if (name === "category_code") {
    const list = h("datalist", { id: "dl-category" },
      ...state.catalogue.map((e) => h("option", { value: e.code }, `${e.name_zh} ${e.pinyin}`)));
    const value = (state.detail && state.detail.preview) || c.category_code || "";
    return h("label", {}, label, h("input", { name, required, list: "dl-category", value }), list);
  }
  if (name === "department_id") {
    const depts = [...state.departments.values()].filter((d) => d.region_id === c.county_id || d.region_id === c.township_id);
    return h("label", {}, label, h("select", { name, required },
      required ? null : h("option", { value: "" }, "—"),
      ...depts.map((d) => h("option", { value: d.id, selected: d.id === c.department_id }, nameOf(d)))));
  }
  if (spec.options) {
    // A choice from the contract's list (a satisfaction, the evaluation's reasons).
    const multiple = spec.type === "array";
    return h("label", {}, label, h("select", { name, required: required && !multiple, multiple, size: multiple ? Math.min(spec.options.length, 4) : undefined },
      required || multiple ? null : h("option", { value: "" }, "—"),
      ...spec.options.map((o) => h("option", { value: o.code }, o.label[lang()] || o.label.zh))));
  }
  if (spec.type === "boolean") {
    return h("label", { class: "check" }, h("input", { name, type: "checkbox", value: "true" }), label);
  }
  if (spec.type === "integer" || spec.type === "number") {
    const limits = { min: spec.minimum ?? 1, max: spec.maximum, step: spec.type === "integer" ? 1 : "any" };
    return h("label", {}, label, h("input", { name, required, type: "number", ...limits }));
  }
  return h("label", {}, label, h("textarea", { name, required, rows: 2, maxlength: spec.maxLength ?? 2000 }));
}

// Arrays of ids (photos) are attached on the staff page, not typed into a form; an
// array of choices (reasons) is a multiple select.
const formFields = (action) => contract.fields(action).filter((f) => f.type !== "array" || f.options);

function actionForm(c, action) {
  const form = h("form", { class: "action-form", id: "action-form", dataset: { action } },
    ...formFields(action).map((spec) => field(c, spec)),
    h("div", { class: "row" },
      h("button", { type: "submit", class: "primary" }, `${actionLabel(action)} · ${t("console.confirm")}`),
      h("button", { type: "button", onclick: () => { state.form = null; renderDetail(); } }, t("console.cancel"))));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    submitAction(c, action, new FormData(form));
  });
  return form;
}

async function submitAction(c, action, data) {
  const body = { version: c.version };
  const specs = contract.fields(action);
  const types = Object.fromEntries(specs.map((f) => [f.name, f.type]));
  for (const [key, value] of data.entries()) {
    if (value === "" || types[key] === "array") continue;
    body[key] = types[key] === "integer" || types[key] === "number" ? Number(value) : value;
  }
  for (const f of specs) {
    if (f.type === "array" && f.options) body[f.name] = data.getAll(f.name);
    if (f.type === "boolean") body[f.name] = data.get(f.name) === "true";
  }
  try {
    const updated = await api(`/cases/${c.id}/${action}`, { method: "POST", json: body });
    state.store.apply(updated);
    state.form = null;
    toast(t("console.done", { action: actionLabel(action) }), "ok");
    renderList();
    await loadDetail();
  } catch (err) {
    if (err instanceof ApiError && err.status === 409 && err.body.kind === "stale_version") {
      toast(errorMessage(err), "error");
      await loadDetail();
    } else {
      toast(t("err.generic", { msg: errorMessage(err) }), "error", 6000);
    }
  }
}

function renderPhotos(photos) {
  if (!photos || !photos.length) return "";
  const box = h("div", { class: "box" }, h("h4", {}, t("console.photos")));
  const strip = h("div", { class: "photos" });
  for (const p of photos) {
    const img = h("img", { alt: p.filename, title: `${p.filename} · ${fmtShort(p.created_at)}` });
    strip.append(img);
    // Bearer-authenticated: fetched as a blob rather than by the <img> itself.
    api(p.url.replace("/api/v1", ""), { raw: true })
      .then((r) => r.blob())
      .then((blob) => (img.src = URL.createObjectURL(blob)))
      .catch(() => {});
  }
  box.append(strip);
  return box;
}

function payloadSummary(ev) {
  const p = ev.payload || {};
  const bits = [];
  if (p.note) bits.push(p.note);
  if (p.reason) bits.push(p.reason);
  if (p.decision && p.decision.whistle_level) bits.push(levelLabel(p.decision.whistle_level));
  if (p.decision && p.decision.department_id) bits.push(deptName(p.decision.department_id));
  if (p.step) bits.push(stepLabel(p.step));
  if (p.reached && p.reached.rank) bits.push(t("console.reached", { rank: contract.label("ranks", p.reached.rank, lang()) }));
  if (p.outcome === "unreachable") bits.push(`⚠ ${t("console.unreachable")}`);
  return bits.join(" · ");
}

function renderTimeline(events, eventsText) {
  const box = h("div", { class: "box" }, h("h4", {}, t("console.timeline")));
  const status = h("p", { id: "chain-status", class: "muted" }, t("console.chain.checking"));
  box.append(status);
  try {
    const result = checkChain(eventsText);
    if (result.ok) {
      status.className = "chain-ok";
      status.textContent = `✓ ${t("console.chain.ok", { n: result.n })}`;
    } else {
      status.className = "chain-bad";
      status.textContent = `✗ ${t("console.chain.broken", { seq: result.seq, reason: t(`console.chain.${result.reason}`) })}`;
    }
    status.dataset.ok = String(result.ok);
  } catch (err) {
    status.className = "chain-bad";
    status.textContent = `✗ ${errorMessage(err)}`;
    status.dataset.ok = "false";
  }
  // An escalation whose whole chain was off duty reached nobody: say so above the list.
  const unreached = events.filter((ev) => ev.type === "sla_escalation" && ev.payload.outcome === "unreachable");
  if (unreached.length) {
    box.append(h("p", { id: "unreachable-warning", class: "sla-warning" },
      `⚠ ${t("console.unreachable.warning", { n: unreached.length })}`));
  }
  box.append(h("ol", { class: "timeline" }, ...events.map((ev) =>
    h("li", { dataset: { type: ev.type } },
      h("div", {}, h("b", {}, eventLabel(ev.type)), ` · ${fmtTime(ev.at)} · ${ev.actor}`),
      payloadSummary(ev) ? h("div", {}, payloadSummary(ev)) : null,
      h("div", { class: "hash", title: ev.hash }, `#${ev.seq} ${ev.hash.slice(0, 16)}… ← ${ev.prev_hash.slice(0, 8)}…`)))));
  return box;
}

// -- intake -----------------------------------------------------------------------------
let categoryMatches = [];
let categoryActive = -1;

function categorySearch(query) {
  const needle = query.toLowerCase().replace(/\s+/g, "");
  if (!needle) return [];
  return state.catalogue.filter((e) =>
    e.code.toLowerCase().includes(needle) || e.name_zh.includes(query.trim())
    || e.pinyin.replace(/\s+/g, "").toLowerCase().includes(needle) || e.name_en.toLowerCase().includes(query.trim().toLowerCase()),
  ).slice(0, 12);
}

function renderCategoryOptions() {
  const list = document.getElementById("category-options");
  const input = document.getElementById("f-category");
  list.hidden = categoryMatches.length === 0;
  input.setAttribute("aria-expanded", String(!list.hidden));
  list.replaceChildren(...categoryMatches.map((e, i) =>
    h("li", {
      role: "option", id: `cat-${e.code}`, "aria-selected": String(i === categoryActive), dataset: { code: e.code },
      onmousedown: (ev) => { ev.preventDefault(); chooseCategory(e); },
    }, `${e.code} ${nameOf(e)} · ${levelLabel({ grid: 1, township: 2, county: 3 }[e.tier])}`)));
}

function chooseCategory(entry) {
  document.getElementById("f-category").value = `${entry.code} ${nameOf(entry)}`;
  document.getElementById("f-category-code").value = entry.code;
  categoryMatches = [];
  renderCategoryOptions();
}

function setupCategory() {
  const input = document.getElementById("f-category");
  input.addEventListener("input", () => {
    document.getElementById("f-category-code").value = "";
    categoryMatches = categorySearch(input.value);
    categoryActive = categoryMatches.length ? 0 : -1;
    renderCategoryOptions();
  });
  input.addEventListener("keydown", (ev) => {
    if (!categoryMatches.length) return;
    if (ev.key === "ArrowDown" || ev.key === "ArrowUp") {
      ev.preventDefault();
      categoryActive = (categoryActive + (ev.key === "ArrowDown" ? 1 : -1) + categoryMatches.length) % categoryMatches.length;
      renderCategoryOptions();
    } else if (ev.key === "Enter") {
      ev.preventDefault();
      chooseCategory(categoryMatches[Math.max(0, categoryActive)]);
    } else if (ev.key === "Escape") {
      categoryMatches = [];
      renderCategoryOptions();
    }
  });
}

const gridMap = { chart: null, region: null, payload: null };

async function loadGridMap(code) {
  gridMap.payload = await api(`/screens/map/${code}`);
  gridMap.region = code;
  echarts.registerMap(`g${code}`, gridMap.payload.geojson);
  const names = new Map(gridMap.payload.geojson.features.map((f) => [f.properties.code, f.properties]));
  gridMap.chart.setOption({
    tooltip: { formatter: (p) => `${p.name} ${nameOf(names.get(p.name))}` },
    series: [{
      type: "map", map: `g${code}`, selectedMode: "single", roam: true,
      label: { show: false }, itemStyle: { areaColor: "#e8f0fa", borderColor: "#7a9cc6" },
      select: { itemStyle: { areaColor: "#1f6feb" } }, emphasis: { itemStyle: { areaColor: "#9cc2f5" } },
      data: gridMap.payload.geojson.features.map((f) => ({ name: f.properties.code })),
    }],
  }, { replaceMerge: ["series"] });
  document.getElementById("grid-name").textContent = nameOf(gridMap.payload.region);
  document.getElementById("grid-up").hidden = code === state.home.code;
}

function setupGridMap() {
  gridMap.chart = echarts.init(document.getElementById("grid-map"));
  gridMap.chart.on("click", (p) => {
    if (gridMap.payload.child_tier === "grid") {
      document.getElementById("f-grid").value = p.name;
      showGrid(p.name);
    } else {
      loadGridMap(p.name);
    }
  });
  document.getElementById("grid-up").addEventListener("click", () => {
    const crumbs = gridMap.payload.breadcrumb;
    if (crumbs.length > 1) loadGridMap(crumbs[crumbs.length - 2].code);
  });
  document.getElementById("f-grid").addEventListener("input", (ev) => {
    if (/^\d{15}$/.test(ev.target.value)) showGrid(ev.target.value);
  });
  return loadGridMap(state.home.code);
}

async function showGrid(code) {
  const township = code.slice(0, 9);
  if (gridMap.region !== township && township.startsWith(state.home.code)) await loadGridMap(township);
  const feature = gridMap.payload.geojson.features.find((f) => f.properties.code === code);
  gridMap.chart.dispatchAction({ type: "select", name: code });
  document.getElementById("grid-name").textContent = feature
    ? `${code} ${nameOf(feature.properties)}` : nameOf(gridMap.payload.region);
}

function newKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
}

function setupIntake() {
  const form = document.getElementById("intake");
  const source = document.getElementById("f-source");
  const priority = document.getElementById("f-priority");
  const fillSelects = () => {
    const s = source.value || "grid_patrol";
    const p = priority.value || "normal";
    source.replaceChildren(...SOURCE_CODES.map((c) => h("option", { value: c, selected: c === s }, sourceLabel(c))));
    priority.replaceChildren(...PRIORITY_CODES.map((c) => h("option", { value: c, selected: c === p }, priorityLabel(c))));
  };
  fillSelects();
  window.addEventListener("langchange", fillSelects);
  let key = newKey(); // one per case: a retried submit cannot make two
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const data = new FormData(form);
    const body = {
      title: String(data.get("title")).trim(),
      description: String(data.get("description") || ""),
      grid_code: String(data.get("grid_code")).trim(),
      source: data.get("source"),
      priority: data.get("priority"),
      reporter: String(data.get("reporter") || ""),
    };
    const code = String(data.get("category_code") || "");
    if (code) body.category_code = code;
    try {
      const created = await api("/cases", { method: "POST", json: body, headers: { "Idempotency-Key": key } });
      key = newKey();
      form.reset();
      fillSelects();
      document.getElementById("f-category-code").value = "";
      toast(t("console.created", { id: created.id }), "ok");
      state.store.apply(created);
      state.tab = TAB_ORDER.find((name) => TABS[name](created)) || "all";
      await select(created.id);
    } catch (err) {
      toast(t("err.generic", { msg: errorMessage(err) }), "error", 6000);
    }
  });
  form.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) form.requestSubmit();
  });
}

// -- keyboard ---------------------------------------------------------------------------
function typing(target) {
  return target.closest("input, textarea, select, [contenteditable]");
}

function setupKeys() {
  document.addEventListener("keydown", (ev) => {
    if (ev.key === "Escape") {
      if (state.form) {
        state.form = null;
        renderDetail();
        document.getElementById("case-list").focus();
      } else if (typing(ev.target)) ev.target.blur();
      return;
    }
    if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey) && ev.target.closest("#action-form")) {
      ev.preventDefault();
      document.getElementById("action-form").requestSubmit();
      return;
    }
    if (typing(ev.target) || ev.ctrlKey || ev.metaKey || ev.altKey) return;
    if (ev.key === "/") {
      ev.preventDefault();
      document.getElementById("search").focus();
    } else if (ev.key === "n") {
      ev.preventDefault();
      document.getElementById("f-title").focus();
    } else if (ev.key === "j" || ev.key === "ArrowDown") {
      ev.preventDefault();
      move(1);
    } else if (ev.key === "k" || ev.key === "ArrowUp") {
      ev.preventDefault();
      move(-1);
    } else if (ev.key === "Enter" && ev.target.closest("#case-list")) {
      ev.preventDefault();
      document.querySelector("#actions button")?.focus();
    } else if (/^[1-5]$/.test(ev.key)) {
      state.tab = TAB_ORDER[Number(ev.key) - 1];
      renderList();
    } else if (ev.key === "a") {
      document.querySelector("#actions button")?.focus();
    }
  });
  for (const button of document.querySelectorAll("[data-tab]")) {
    button.addEventListener("click", () => {
      state.tab = button.dataset.tab;
      renderList();
    });
  }
  document.getElementById("search").addEventListener("input", renderList);
  document.getElementById("level-filter").addEventListener("change", renderList);
}

// -- live -------------------------------------------------------------------------------
let detailTimer = null;

function onFrame(frame) {
  if (frame.type === "snapshot") {
    state.store.reset(frame.cases);
    renderList();
    consoleTest.ready = true;
  } else if (frame.type === "event") {
    const known = state.store.get(frame.case.id);
    if (state.store.apply(frame.case) && !known) state.arrived.add(frame.case.id);
    renderList();
    if (frame.case.id === state.selected) {
      clearTimeout(detailTimer);
      detailTimer = setTimeout(loadDetail, 150);
    }
  } else if (frame.type === "counters") {
    const c = frame.counters;
    document.getElementById("mini-counters").textContent =
      `${t("wall.open")} ${c.open} · ${t("wall.overdue")} ${c.overdue} · ${t("wall.new_today")} ${c.new_today}`;
  }
}

async function main() {
  state.user = await setupChrome(() => {
    renderList();
    renderDetail();
    document.getElementById("region-name").textContent = nameOf(state.home);
  });
  const home = await api("/screens/home");
  state.home = home.region;
  document.getElementById("region-name").textContent = nameOf(state.home);
  const [catalogue, departments] = await Promise.all([api("/catalogue"), api("/departments")]);
  state.catalogue = catalogue;
  for (const d of departments) state.departments.set(d.id, d);
  setupKeys();
  setupCategory();
  setupIntake();
  const stream = new Stream({
    topics: () => [{ kind: "region", key: state.home.code }],
    onFrame,
    onStatus: (status, detail) => showStatus(status, detail, t),
  });
  stream.start();
  await setupGridMap();
  window.addEventListener("resize", () => gridMap.chart.resize());
  document.documentElement.lang = lang() === "en" ? "en" : "zh-CN";
}

main();
