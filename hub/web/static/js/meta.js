// Loads the wire contract once per page, before anything renders (top-level await): kept
// in localStorage with its ETag, so a reload costs a 304. A page that cannot reach the
// server at all still starts from the kept copy.
import { Contract } from "./contract.js";

const KEY = "hub.contract";

async function load() {
  let kept = null;
  try {
    kept = JSON.parse(localStorage.getItem(KEY) || "null");
  } catch {
    kept = null;
  }
  const headers = kept ? { "If-None-Match": `"${kept.version}"` } : {};
  try {
    const r = await fetch("/api/v1/meta", { headers });
    if (r.status === 304 && kept) return kept;
    if (r.ok) {
      const doc = await r.json();
      localStorage.setItem(KEY, JSON.stringify(doc));
      return doc;
    }
  } catch (err) {
    if (!kept) throw err;
  }
  if (kept) return kept;
  throw new Error("the hub's contract (/api/v1/meta) could not be loaded");
}

export const contract = new Contract(await load());
