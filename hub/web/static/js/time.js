// Times are shown in China Standard Time whatever the browser's own zone is.
import { lang, t } from "./i18n.js";

export const ZONE = "Asia/Shanghai";
const formats = new Map();

function format(kind) {
  const key = `${lang()}:${kind}`;
  if (!formats.has(key)) {
    const locale = lang() === "en" ? "en-GB" : "zh-CN";
    const options = {
      time: { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false },
      short: { month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hour12: false },
      full: {
        year: "numeric", month: "2-digit", day: "2-digit",
        hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false,
      },
      hour: { hour: "2-digit", minute: "2-digit", hour12: false },
      clock: {
        year: "numeric", month: "2-digit", day: "2-digit", weekday: "short",
        hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false,
      },
    }[kind];
    formats.set(key, new Intl.DateTimeFormat(locale, { ...options, timeZone: ZONE }));
  }
  return formats.get(key);
}

function asDate(value) {
  if (value == null) return null;
  const d = value instanceof Date ? value : new Date(value);
  return Number.isNaN(d.getTime()) ? null : d;
}

export const fmtTime = (v) => (asDate(v) ? format("time").format(asDate(v)) : "—");
export const fmtShort = (v) => (asDate(v) ? format("short").format(asDate(v)) : "—");
export const fmtFull = (v) => (asDate(v) ? format("full").format(asDate(v)) : "—");
export const fmtHour = (v) => (asDate(v) ? format("hour").format(asDate(v)) : "—");
export const fmtClock = (v) => format("clock").format(asDate(v) || new Date());

/** "2小时15分" / "2 h 15 min": the two largest units of a duration. */
export function fmtDuration(ms) {
  let s = Math.max(0, Math.round(Math.abs(ms) / 1000));
  const parts = [];
  for (const [unit, size] of [["d", 86400], ["h", 3600], ["m", 60], ["s", 1]]) {
    if (s >= size || (unit === "s" && parts.length === 0)) {
      parts.push(t(`dur.${unit}`, { n: Math.floor(s / size) }));
      s %= size;
    }
    if (parts.length === 2) break;
  }
  return parts.join(lang() === "en" ? " " : "");
}

export function msUntil(iso, now = Date.now()) {
  const d = asDate(iso);
  return d ? d.getTime() - now : null;
}
