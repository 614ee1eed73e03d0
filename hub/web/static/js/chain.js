// Re-checks a case's hash chain in the browser from GET /cases/{id}/events, as
// docs/audit.md describes: sha256 over the canonical JSON of each event (keys sorted, no
// whitespace, non-ASCII as is, `at` in UTC with microseconds), linked by prev_hash.
import { sha256Hex } from "./sha256.js";

const GENESIS = "0".repeat(64);

// Numbers are kept as the server wrote them ("113.0" stays "113.0"): re-serialising a
// parsed float would change the bytes the hash was computed over.
class Raw {
  constructor(text) {
    this.text = text;
  }
}

function parseKeepingNumbers(text) {
  let i = 0;
  const ws = () => {
    while (i < text.length && " \t\n\r".includes(text[i])) i++;
  };
  const value = () => {
    ws();
    const ch = text[i];
    if (ch === "{") {
      i++;
      const obj = {};
      ws();
      if (text[i] === "}") return i++, obj;
      for (;;) {
        ws();
        const key = string();
        ws();
        i++; // :
        obj[key] = value();
        ws();
        if (text[i++] === "}") return obj;
      }
    }
    if (ch === "[") {
      i++;
      const arr = [];
      ws();
      if (text[i] === "]") return i++, arr;
      for (;;) {
        arr.push(value());
        ws();
        if (text[i++] === "]") return arr;
      }
    }
    if (ch === '"') return string();
    if (text.startsWith("true", i)) return (i += 4), true;
    if (text.startsWith("false", i)) return (i += 5), false;
    if (text.startsWith("null", i)) return (i += 4), null;
    const m = /^-?\d+(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 64));
    if (!m) throw new Error(`bad JSON at ${i}`);
    i += m[0].length;
    return new Raw(m[0]);
  };
  const string = () => {
    const start = i;
    i++;
    while (text[i] !== '"') i += text[i] === "\\" ? 2 : 1;
    i++;
    return JSON.parse(text.slice(start, i));
  };
  return value();
}

const byCodePoint = (a, b) => {
  const x = Array.from(a);
  const y = Array.from(b);
  for (let k = 0; k < Math.min(x.length, y.length); k++) {
    const d = x[k].codePointAt(0) - y[k].codePointAt(0);
    if (d) return d;
  }
  return x.length - y.length;
};

// Python's json.dumps(..., ensure_ascii=False, separators=(",", ":"), sort_keys=True).
function canonical(value) {
  if (value instanceof Raw) return value.text;
  if (value === null) return "null";
  if (typeof value === "boolean") return value ? "true" : "false";
  if (typeof value === "string") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  const keys = Object.keys(value).sort(byCodePoint);
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`).join(",")}}`;
}

/** "2026-11-23T10:00:00.5+08:00" -> "2026-11-23T02:00:00.500000+00:00" */
export function utcMicros(iso) {
  const m = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,6}))?(Z|[+-]\d\d:\d\d)$/.exec(iso);
  if (!m) throw new Error(`unexpected time ${iso}`);
  const [, y, mo, d, hh, mi, ss, frac = "", zone] = m;
  let offsetMin = 0;
  if (zone !== "Z") offsetMin = (zone[0] === "-" ? -1 : 1) * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6)));
  const ms = Date.UTC(+y, +mo - 1, +d, +hh, +mi, +ss) - offsetMin * 60_000;
  return `${new Date(ms).toISOString().slice(0, 19)}.${frac.padEnd(6, "0")}+00:00`;
}

const encoder = new TextEncoder();

export function eventHash(event) {
  const body = {
    case_id: event.case_id,
    seq: event.seq,
    type: event.type,
    actor_id: event.actor_id,
    actor: event.actor,
    at: utcMicros(event.at),
    payload: event.payload,
    changes: event.changes,
    prev_hash: event.prev_hash,
  };
  return sha256Hex(encoder.encode(canonical(body)));
}

/** The events response text -> {ok, n} or {ok: false, seq, reason: "prev"|"content"|"seq"}. */
export function checkChain(responseText) {
  const events = parseKeepingNumbers(responseText);
  let expectedPrev = GENESIS;
  for (let k = 0; k < events.length; k++) {
    const ev = events[k];
    const seq = Number(ev.seq.text);
    if (seq !== k + 1) return { ok: false, seq: k + 1, reason: "seq" };
    if (ev.prev_hash !== expectedPrev) return { ok: false, seq, reason: "prev" };
    if (eventHash(ev) !== ev.hash) return { ok: false, seq, reason: "content" };
    expectedPrev = ev.hash;
  }
  return { ok: true, n: events.length };
}
