// The rules' own unit tests (`npm test`, i.e. `node --test`); test/fixtures.test.js runs
// fixtures/ through the glue.

import assert from "node:assert/strict";
import { test } from "node:test";
import { makePlugin } from "../src/plugin.js";
import { Refusal } from "@orderflow/sdk";
import { parseParams } from "../src/rules.js";

/** The problem `decide` refuses with. */
function refusal(decide) {
  try {
    decide();
  } catch (e) {
    if (e instanceof Refusal) return e.problem;
    throw e;
  }
  return assert.fail("expected a refusal");
}

test("parameters must allow something", () => {
  assert.equal(parseParams(`{"max_quantity": 1, "payment_methods": ["card"]}`).max_quantity, 1n);
  const nothing = refusal(() => parseParams(`{"max_quantity": 0, "payment_methods": []}`));
  assert.match(nothing.message, /must allow something/);
});

test("parameters are read as serde reads them", () => {
  for (const [json, why] of [
    [`{"max_quantity": 1, "payment_methods": ["card"], "max_qty": 2}`, "unknown field `max_qty`"],
    [`{"max_quantity": 1.0, "payment_methods": ["card"]}`, "expected u32"],
    [`{"max_quantity": 4294967296, "payment_methods": ["card"]}`, "expected u32"],
    [`{"payment_methods": ["card"]}`, "missing field `max_quantity`"],
  ]) {
    const refused = refusal(() => parseParams(json));
    assert.equal(refused.code, "invalid_params", json);
    assert.ok(refused.message.startsWith("validation params: "), refused.message);
    assert.ok(refused.message.includes(why), refused.message);
  }
});

test("the glue: configured once, before any decision; a refusal is a list", () => {
  const plugin = makePlugin();
  const order = { items: [], paymentMethod: "card" };
  assert.throws(() => plugin.validate(order, 0), [{ code: "not_configured", message: "configure was not called", field: null }]);
  plugin.configure(`{"max_quantity": 1, "payment_methods": ["card"]}`);
  assert.throws(() => plugin.configure(`{"max_quantity": 1, "payment_methods": ["card"]}`), { code: "already_configured" });
  assert.equal(plugin.validate(order, 0), undefined);
});
