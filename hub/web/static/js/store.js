// Cases as the stream delivers them: the copy with the higher version wins, so frames
// applied over a snapshot converge on what a fresh snapshot would say.

import { contract } from "./meta.js";

// The state sets are the server's (hub/cases/machine.py), read from the contract.
export const OPEN_STATES = contract.sets.open;
export const QUEUE_STATES = contract.sets.queue;
export const WITH_DEPARTMENT = contract.sets.with_department;

export class CaseStore {
  constructor(keep = (c) => OPEN_STATES.has(c.state)) {
    this.keep = keep;
    this.cases = new Map();
    this.versions = new Map(); // also of cases dropped, so an older copy cannot return
  }

  /** Returns true when the case changed. */
  apply(c) {
    if (!c || c.id == null) return false;
    const known = this.versions.get(c.id);
    if (known != null && known >= c.version) return false;
    this.versions.set(c.id, c.version);
    if (this.keep(c)) this.cases.set(c.id, c);
    else this.cases.delete(c.id);
    return true;
  }

  reset(cases) {
    this.cases.clear();
    this.versions.clear();
    for (const c of cases) this.apply(c);
  }

  get(id) {
    return this.cases.get(id);
  }

  all() {
    return [...this.cases.values()];
  }
}

/** Overdue now: the hub's flag when the copy was made, or the resolve deadline passed since
 * — the same rule as the database's `overdue` counter. (A case re-routed after a breach has
 * a new deadline: not overdue, though its `sla_status` stays red.) */
export function isOverdue(c, now = Date.now()) {
  if (!OPEN_STATES.has(c.state)) return false;
  if (c.overdue) return true;
  return c.resolve_due_at != null && new Date(c.resolve_due_at).getTime() < now;
}

export function slaStatus(c, now = Date.now()) {
  if (c.sla_status) return c.sla_status;
  return isOverdue(c, now) ? "breached" : "ok";
}
