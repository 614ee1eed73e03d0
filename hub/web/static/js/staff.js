// The staff phone page: pushed tasks arrive with a sound and a vibration, are
// acknowledged over the socket, checked in with the location, resolved with a photo.
import { ApiError, api } from "./api.js";
import { h, toast } from "./dom.js";
import { errorMessage, levelLabel, nameOf, stateLabel, t } from "./i18n.js";
import { setupChrome } from "./nav.js";
import { CaseStore } from "./store.js";
import { Stream, showStatus } from "./stream.js";
import { fmtDuration, fmtShort } from "./time.js";

const MINE = ["dispatched", "acknowledged", "on_site", "resolved"];
const MAX_PHOTO_BYTES = 5 * 1024 * 1024;
const DOWNSCALE_PX = 2560; // a larger photo is redrawn this big before upload
// Which deadline runs in each state, and since when.
const CLOCK = {
  dispatched: ["ack_due_at", "dispatched_at", "case.ack_due_at"],
  acknowledged: ["checkin_due_at", "acknowledged_at", "case.checkin_due_at"],
  on_site: ["resolve_due_at", "checked_in_at", "case.resolve_due_at"],
};

const state = { me: null, store: null, cards: new Map(), pushed: new Set(), open: null, departments: new Map() };
const staffTest = (window.__staff = { alerts: 0, ready: false });
let audio = null;

// -- alerts -----------------------------------------------------------------------------
function enableAlerts() {
  try {
    audio ??= new AudioContext();
    audio.resume();
  } catch {
    audio = null;
  }
  if ("Notification" in window && Notification.permission === "default") {
    Notification.requestPermission().catch(() => {});
  }
  const button = document.getElementById("enable-alerts");
  button.textContent = t("staff.enabled");
  button.classList.add("on");
}

function beep() {
  if (!audio || audio.state !== "running") return;
  const now = audio.currentTime;
  for (const [at, freq] of [[0, 880], [0.22, 1175]]) {
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.frequency.value = freq;
    gain.gain.setValueAtTime(0.0001, now + at);
    gain.gain.exponentialRampToValueAtTime(0.3, now + at + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, now + at + 0.2);
    osc.connect(gain).connect(audio.destination);
    osc.start(now + at);
    osc.stop(now + at + 0.21);
  }
}

function alertNewTask(c) {
  if (state.pushed.has(c.id)) return;
  state.pushed.add(c.id);
  staffTest.alerts += 1;
  beep();
  if (navigator.vibrate) navigator.vibrate([200, 100, 200]);
  toast(t("staff.pushed", { title: c.title }), "info", 5000);
  if ("Notification" in window && Notification.permission === "granted" && document.hidden) {
    try {
      new Notification(t("staff.pushed", { title: c.title }));
    } catch {
      // some mobile browsers only notify through a service worker
    }
  }
}

// -- cards ------------------------------------------------------------------------------
function dueInfo(c, now = Date.now()) {
  const clock = CLOCK[c.state];
  if (!clock || !c[clock[0]]) return null;
  const due = new Date(c[clock[0]]).getTime();
  const start = new Date(c[clock[1]] || c.dispatched_at || c.created_at).getTime();
  const left = due - now;
  const share = left / Math.max(1, due - start);
  const level = left <= 0 ? "over" : share < 0.2 ? "danger" : share < 0.5 ? "warn" : "ok";
  const text = left <= 0 ? t("staff.over", { t: fmtDuration(-left) }) : t("staff.left", { t: fmtDuration(left) });
  return { level, text, label: t(clock[2]), at: c[clock[0]] };
}

function buttonsFor(c) {
  const box = h("div", { class: "buttons" });
  if (c.state === "dispatched") {
    box.append(h("button", { type: "button", class: "primary", dataset: { act: "ack" }, onclick: () => acknowledge(c.id) }, t("staff.ack")));
  } else if (c.state === "acknowledged") {
    box.append(h("button", { type: "button", class: "primary", dataset: { act: "checkin" }, onclick: () => checkIn(c.id) }, t("staff.checkin")));
  } else if (c.state === "on_site") {
    box.append(h("button", { type: "button", class: "primary", dataset: { act: "resolve" }, onclick: () => toggleResolve(c.id) }, t("staff.resolve")));
  } else if (c.state === "resolved") {
    box.append(h("span", { class: "muted" }, t("staff.waiting")));
  }
  return box;
}

function resolveForm(c) {
  const preview = h("img", { class: "preview", alt: "", hidden: true });
  const file = h("input", { type: "file", name: "photo", accept: "image/jpeg,image/png,image/webp", capture: "environment" });
  file.addEventListener("change", () => {
    const f = file.files[0];
    if (!f) return;
    preview.src = URL.createObjectURL(f);
    preview.hidden = false;
  });
  const form = h("form", { class: "resolve-form" },
    h("label", {}, t("staff.note"), h("textarea", { name: "note", rows: 3, maxlength: 2000, required: true })),
    h("label", {}, t("staff.photo"), file),
    preview,
    h("button", { type: "submit", class: "primary" }, t("staff.submit")));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    resolve(c.id, form);
  });
  return form;
}

function card(c) {
  const info = dueInfo(c);
  return h("li", {
    class: `card due-${info ? info.level : "ok"}${state.pushed.has(c.id) && c.state === "dispatched" ? " pushed" : ""}`,
    id: `task-${c.id}`, dataset: { caseId: c.id, state: c.state },
  },
  h("h3", {}, `#${c.id} ${c.title}`),
  h("div", { class: "meta" },
    h("span", { class: `badge lv-${c.whistle_level || 0}` }, levelLabel(c.whistle_level)), " ",
    stateLabel(c.state), c.department_id && state.departments.get(c.department_id) ? ` · ${nameOf(state.departments.get(c.department_id))}` : ""),
  c.description ? h("div", { class: "meta" }, c.description) : null,
  info ? h("div", {}, h("span", { class: "meta" }, `${info.label} ${fmtShort(info.at)} · `), h("span", { class: "left" }, info.text)) : null,
  buttonsFor(c),
  state.open === c.id && c.state === "on_site" ? resolveForm(c) : null);
}

function render() {
  const all = state.store.all().sort((a, b) => String(a.dispatched_at).localeCompare(String(b.dispatched_at)));
  const fresh = all.filter((c) => c.state === "dispatched");
  const working = all.filter((c) => c.state !== "dispatched");
  for (const [listId, countId, rows] of [["new-tasks", "new-count", fresh], ["open-tasks", "open-count", working]]) {
    const list = document.getElementById(listId);
    document.getElementById(countId).textContent = rows.length ? String(rows.length) : "";
    const keep = new Map();
    for (const c of rows) {
      const known = state.cards.get(c.id);
      // A card is redrawn only when its case changed, so a half-filled form survives.
      const el = known && known.version === c.version && known.open === (state.open === c.id) ? known.el : card(c);
      keep.set(c.id, { el, version: c.version, open: state.open === c.id });
    }
    list.replaceChildren(...rows.map((c) => keep.get(c.id).el));
    if (!rows.length) list.append(h("li", { class: "empty" }, t("staff.none")));
    for (const [id, entry] of keep) state.cards.set(id, entry);
  }
  for (const id of [...state.cards.keys()]) if (!state.store.get(id)) state.cards.delete(id);
}

function tick() {
  const now = Date.now();
  for (const c of state.store.all()) {
    const entry = state.cards.get(c.id);
    const info = dueInfo(c, now);
    if (!entry || !info) continue;
    const left = entry.el.querySelector(".left");
    if (left) left.textContent = info.text;
    for (const level of ["ok", "warn", "danger", "over"]) entry.el.classList.toggle(`due-${level}`, level === info.level);
  }
}

// -- actions ----------------------------------------------------------------------------
async function act(id, action, body) {
  const c = state.store.get(id);
  try {
    const updated = await api(`/cases/${id}/${action}`, { method: "POST", json: { version: c.version, ...body } });
    state.store.apply(updated);
    render();
    return updated;
  } catch (err) {
    if (err instanceof ApiError && err.status === 409) {
      toast(t("err.conflict"), "error");
      state.store.apply(await api(`/cases/${id}`));
      render();
    } else {
      toast(t("err.generic", { msg: errorMessage(err) }), "error", 6000);
    }
    return null;
  }
}

async function acknowledge(id) {
  const c = state.store.get(id);
  const result = await stream.ack(id, c.version, "");
  if (result.ok) {
    toast(t("staff.done"), "ok");
    // The event frame brings the new version; fetch now so the card moves at once.
    state.store.apply(await api(`/cases/${id}`));
    render();
  } else if (result.error && /not connected|disconnected/.test(result.error.message || "")) {
    await act(id, "acknowledge", { note: "" }); // the REST action does the same
  } else {
    toast(t("err.generic", { msg: errorMessage(result.error) }), "error");
    state.store.apply(await api(`/cases/${id}`));
    render();
  }
}

function position() {
  return new Promise((resolve) => {
    if (!navigator.geolocation) return resolve(null);
    navigator.geolocation.getCurrentPosition(
      (pos) => resolve({ lat: pos.coords.latitude, lon: pos.coords.longitude }),
      () => resolve(null),
      { enableHighAccuracy: true, timeout: 8000, maximumAge: 60_000 },
    );
  });
}

async function checkIn(id) {
  toast(t("staff.locating"));
  const where = await position();
  if (!where) toast(t("staff.no_location"));
  if (await act(id, "check-in", where ? { lat: where.lat, lon: where.lon } : {})) toast(t("staff.done"), "ok");
}

function toggleResolve(id) {
  state.open = state.open === id ? null : id;
  render();
  document.querySelector(`#task-${id} textarea`)?.focus();
}

async function shrink(file) {
  // Phone cameras often exceed the hub's 5 MiB: redraw big photos as a JPEG first.
  if (file.size <= MAX_PHOTO_BYTES) return file;
  const bitmap = await createImageBitmap(file);
  const scale = Math.min(1, DOWNSCALE_PX / Math.max(bitmap.width, bitmap.height));
  const canvas = document.createElement("canvas");
  canvas.width = Math.round(bitmap.width * scale);
  canvas.height = Math.round(bitmap.height * scale);
  canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  const blob = await new Promise((done) => canvas.toBlob(done, "image/jpeg", 0.85));
  return new File([blob], "photo.jpg", { type: "image/jpeg" });
}

async function resolve(id, form) {
  const note = form.elements.note.value.trim();
  const picked = form.elements.photo.files[0];
  const photos = [];
  const submit = form.querySelector("button[type=submit]");
  submit.disabled = true;
  try {
    if (picked) {
      const photo = await shrink(picked);
      if (photo.size > MAX_PHOTO_BYTES) {
        toast(t("staff.photo_too_big"), "error");
        return;
      }
      toast(t("staff.uploading"));
      const data = new FormData();
      data.append("file", photo, photo.name || "photo.jpg");
      const stored = await api(`/cases/${id}/attachments`, { method: "POST", form: data });
      photos.push(stored.id);
    }
    // The photo's hash goes into the resolved event: it becomes part of the case's chain.
    if (await act(id, "resolve", { note, attachment_ids: photos })) {
      state.open = null;
      toast(t("staff.done"), "ok");
      render();
    }
  } catch (err) {
    toast(t("err.generic", { msg: errorMessage(err) }), "error", 6000);
  } finally {
    submit.disabled = false;
  }
}

// -- live -------------------------------------------------------------------------------
async function reload() {
  const touched = new Set();
  state.touched = touched;
  const page = await api("/cases", { query: { assigned_staff_id: state.me.staff_id, state: MINE, limit: 200 } });
  const ids = new Set(page.items.map((c) => c.id));
  for (const c of page.items) {
    state.store.apply(c);
    if (c.state === "dispatched") state.pushed.add(c.id); // there before the page opened
  }
  for (const c of state.store.all()) if (!ids.has(c.id) && !touched.has(c.id)) state.store.cases.delete(c.id);
  state.touched = null;
  render();
  staffTest.ready = true;
}

function onFrame(frame) {
  if (frame.type === "subscribed" && frame.mode === "snapshot") {
    reload();
  } else if (frame.type === "tasks") {
    for (const c of frame.tasks) {
      state.store.apply(c);
      if (staffTest.ready) noticeTask(c);
      else state.pushed.add(c.id);
    }
    render();
  } else if (frame.type === "event") {
    const c = frame.case;
    state.touched?.add(c.id);
    state.store.apply(c);
    noticeTask(c);
    render();
  }
}

// A case that reaches me in the dispatched state is a pushed task: alert once per
// dispatch (a case dispatched to me again after leaving that state alerts again).
function noticeTask(c) {
  const mine = c.assigned_staff_id === state.me.staff_id;
  if (mine && c.state === "dispatched") alertNewTask(c);
  else state.pushed.delete(c.id);
}

const stream = new Stream({
  topics: () => {
    const topics = [{ kind: "inbox" }];
    if (state.me.department_id) topics.push({ kind: "department", key: String(state.me.department_id) });
    return topics;
  },
  onFrame,
  onStatus: (status, detail) => showStatus(status, detail, t),
});

async function main() {
  state.me = await setupChrome(() => {
    state.cards.clear();
    render();
  });
  state.store = new CaseStore((c) => c.assigned_staff_id === state.me.staff_id && MINE.includes(c.state));
  document.getElementById("enable-alerts").addEventListener("click", enableAlerts);
  document.addEventListener("click", () => audio && audio.resume(), { once: true });
  try {
    for (const d of await api("/departments")) state.departments.set(d.id, d);
  } catch {
    // names are a nicety; the tasks work without them
  }
  stream.start();
  setInterval(tick, 1000);
}

main();
