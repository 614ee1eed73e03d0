// Pure logic of the screens against the server's own data: the contract document that
// GET /api/v1/meta serves and hash chains built by hub/audit/chain.py. Run by
// tests/test_js_units.py (it writes both files and passes their paths).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import { checkChain } from "../../web/js/chain.js";
import { Contract } from "../../web/js/contract.js";

const doc = JSON.parse(readFileSync(process.env.HUB_CONTRACT_JSON, "utf8"));
const chains = JSON.parse(readFileSync(process.env.HUB_CHAINS_JSON, "utf8"));
const c = new Contract(doc);

test("every state, action and event has a label in both languages", () => {
  for (const s of doc.states) assert.notEqual(c.label("states", s.code, "zh"), s.code);
  for (const a of doc.actions) assert.notEqual(c.label("actions", a.code, "en"), a.code);
  for (const e of doc.events) assert.notEqual(c.label("events", e.type, "zh"), e.type);
  assert.equal(c.label("states", "no_such_state", "zh"), "no_such_state");
});

test("the state sets are the server's", () => {
  assert.deepEqual([...c.sets.open], doc.state_sets.open);
  assert.ok(c.sets.queue.has("reported") && !c.sets.open.has("closed"));
});

test("the wall's ticker takes its events and their kinds from the catalogue", () => {
  assert.equal(c.ticker("sla_breach"), "breach");
  assert.equal(c.ticker("sla_overdue"), "breach"); // missing from the wall's old hand-kept list
  assert.equal(c.ticker("dispatched"), "whistle");
  assert.equal(c.ticker("sla_escalation"), "escalation");
  assert.equal(c.ticker("acknowledged"), null);
  assert.equal(c.ticker("no_such_event"), null);
  const kinds = new Set(doc.events.map((e) => e.ticker).filter(Boolean));
  assert.deepEqual([...kinds].sort(), ["breach", "escalation", "warning", "whistle"]);
});

test("the evaluate form asks for both scores with the server's limits", () => {
  const fields = Object.fromEntries(c.fields("evaluate").map((f) => [f.name, f]));
  assert.equal(fields.resident_satisfaction.type, "integer");
  assert.equal(fields.resident_satisfaction.maximum, 5);
  assert.equal(fields.township_score.required, true);
  assert.deepEqual(c.fields("no-such-action"), []);
});

test("errors read in Chinese with their codes filled by labels", () => {
  const illegal = { error: "conflict", kind: "illegal_transition", state: "closed", action: "escalate", message: "x" };
  assert.equal(c.errorText(illegal, "zh"), "案件已结案，不能升级吹哨");
  assert.equal(c.errorText(illegal, "en"), "The case is Closed: it cannot Escalate");
  const grant = { error: "forbidden", kind: "grant", missing: "staff.duty", message: "x" };
  assert.equal(c.errorText(grant, "zh"), "该接口密钥未授权：设置在岗状态");
  const role = { error: "forbidden", kind: "role", missing: "cancel", message: "x" };
  assert.equal(c.errorText(role, "zh"), "当前角色无权撤销");
  // An unknown kind falls back to its code's message; an unknown code to the server's words.
  assert.equal(c.errorText({ error: "conflict", kind: "new_kind" }, "zh"), "当前状态下不能这样操作");
  assert.equal(c.errorText({ error: "teapot", message: "short and stout" }, "zh"), "short and stout");
});

for (const chain of chains) {
  test(`chain.js agrees with hub/audit/chain.py: ${chain.name}`, () => {
    const result = checkChain(chain.text);
    assert.equal(result.ok, chain.ok);
    if (!chain.ok) assert.equal(result.seq, chain.seq);
  });
}

test("a role may what the permission table says, actions and permissions alike", () => {
  assert.equal(c.roleMay("auditor", "assessment.read"), true);
  assert.equal(c.roleMay("wall", "assessment.read"), false);
  assert.equal(c.roleMay("township_leader", "verify"), true);
  assert.equal(c.roleMay("dept_staff", "verify"), false);
  assert.equal(c.roleMay("no_such_role", "case.read"), false);
});

test("the follow-up and evaluation forms carry their choices with labels", () => {
  const follow = Object.fromEntries(c.fields("follow-up").map((f) => [f.name, f]));
  assert.deepEqual(follow.satisfaction.options.map((o) => o.code),
    ["satisfied", "basically_satisfied", "unsatisfied"]);
  assert.equal(follow.resolved.type, "boolean");
  const reasons = c.fields("evaluate").find((f) => f.name === "reasons");
  assert.equal(reasons.type, "array");
  assert.ok(reasons.options.every((o) => o.label.zh && o.label.en));
});
