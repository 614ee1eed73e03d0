// The wire contract (GET /api/v1/meta) as lookups: labels for every code, the state sets,
// each action's form fields, and error messages in both languages. Pure, with no DOM or
// network, so node's test runner checks it (tests/js/contract.test.mjs); meta.js loads it.

const TABLES = ["states", "permissions", "sources", "priorities", "sla_statuses", "tiers",
  "supervisions", "steps", "rungs", "ranks"];

export class Contract {
  constructor(doc) {
    this.doc = doc;
    this.version = doc.version;
    this.labels = {};
    for (const name of TABLES) this.labels[name] = byCode(doc[name], (e) => e.label);
    this.labels.actions = byCode(doc.actions, (a) => a.label);
    this.labels.roles = byCode(doc.roles, (r) => r.label);
    this.labels.events = Object.fromEntries(doc.events.map((e) => [e.type, e.label]));
    this.tickers = Object.fromEntries(doc.events.filter((e) => e.ticker).map((e) => [e.type, e.ticker]));
    this.labels.fields = {};
    for (const a of doc.actions) for (const f of a.fields) this.labels.fields[f.name] = f.label;
    this.levels = Object.fromEntries(doc.whistle.levels.map((l) => [l.level, l.label]));
    this.actions = byCode(doc.actions, (a) => a);
    this.errors = byCode(doc.errors, (e) => e.message);
    this.sets = Object.fromEntries(Object.entries(doc.state_sets).map(([k, v]) => [k, new Set(v)]));
  }

  /** The label of `code` in table `table` ("states", "actions", "events", ...). */
  label(table, code, lang) {
    const pair = (this.labels[table] || {})[code];
    return pair ? pair[lang] || pair.zh : String(code);
  }

  /** How a wall's ticker shows an event type ("whistle", "warning", "breach",
   * "escalation"), or null when the ticker leaves it out. */
  ticker(type) {
    return this.tickers[type] || null;
  }

  levelLabel(level, lang) {
    const pair = this.levels[level || 0];
    return pair ? pair[lang] : String(level);
  }

  /** Whether `role` holds `permission` (an action code or a permission, e.g.
   * "assessment.read"), as the server's permission table says. */
  roleMay(role, permission) {
    const r = this.doc.roles.find((x) => x.code === role);
    return Boolean(r && (r.permissions.includes(permission) || r.actions.includes(permission)));
  }

  codes(table) {
    return Object.keys(this.labels[table] || {});
  }

  /** The form fields of an action, as the server's schema declares them. */
  fields(action) {
    return (this.actions[action] || { fields: [] }).fields;
  }

  /** An API error body ({error, kind?, message, ...}) in `lang`: the "code.kind" message, or
   * the code's, with `{name}` filled from the body (a state, an action, a permission and a
   * field shown by their labels). Unknown codes fall back to the server's own message. */
  errorText(body, lang) {
    if (!body || typeof body !== "object") return String(body ?? "");
    const template = this.errors[`${body.error}.${body.kind}`] || this.errors[body.error];
    if (!template) return body.message || body.error || "";
    const text = template[lang] || template.zh;
    return text.replace(/\{(\w+)\}/g, (_, name) => this.#fill(name, body, lang));
  }

  #fill(name, body, lang) {
    const value = body[name];
    if (value == null) return "";
    if (name === "state") return this.label("states", value, lang);
    if (name === "action") return this.label("actions", value, lang);
    if (name === "field") return this.label("fields", value, lang);
    if (name === "missing") {
      const table = this.labels.permissions[value] ? "permissions" : "actions";
      return this.label(table, value, lang);
    }
    return String(value);
  }
}

function byCode(list, pick) {
  return Object.fromEntries(list.map((e) => [e.code, pick(e)]));
}
