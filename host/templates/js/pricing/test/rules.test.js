// The rules' own unit tests (`npm test`, i.e. `node --test`); test/fixtures.test.js runs
// fixtures/ through the glue.

import assert from "node:assert/strict";
import { test } from "node:test";
import { makePlugin } from "../src/plugin.js";
import { Refusal, applyBp } from "@orderflow/sdk";
import { parseParams, price } from "../src/rules.js";

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

const PARAMS = `{"currency": "USD", "tax_bp": 825, "shipping": {"standard": 500}}`;

/** An order of `lines` ([unit price, quantity]), as the bindings give one. */
const order = (lines) => ({
  items: lines.map(([minor, quantity]) => ({ product: { unitPrice: { minor, currency: "USD" } }, quantity })),
  shippingMethod: "standard",
  discountCode: null,
});

test("unusable parameters are refused", () => {
  for (const [json, why] of [
    [`{"currency": "USD", "tax_bp": 10001, "shipping": {}}`, "exceeds 100 %"],
    [`{"currency": "USD", "tax_bp": 0, "shipping": {"standard": -1}}`, "negative"],
    [`{"currency": "USD", "tax_bp": 0, "shipping": {}, "tax": 5}`, "unknown field `tax`"],
    [`{"currency": "USD", "tax_bp": 0, "shipping": {"standard": 5.0}}`, "expected i64"],
  ]) {
    const refused = refusal(() => parseParams(json));
    assert.equal(refused.code, "invalid_params", json);
    assert.ok(refused.message.includes(why), `${json}: ${refused.message}`);
  }
});

test("rounding is half away from zero, once", () => {
  assert.equal(applyBp(10n, 5000n), 5n);
  assert.equal(applyBp(1n, 5000n), 1n); // 0.5 → 1
  assert.equal(applyBp(3n, 1666n), 0n); // 0.4998 → 0
  assert.equal(applyBp(-3n, 5000n), -2n); // -1.5 → -2
  assert.equal(applyBp(4749n, 825n), 392n); // 391.79 → 392
});

test("amounts beyond 2^53 stay exact", () => {
  // 2^53 + 1 is not a double; 3 × it at 8.25 % must still be exact.
  const big = 2n ** 53n + 1n;
  const q = price(parseParams(PARAMS), order([[big, 3]]), 0);
  const subtotal = big * 3n;
  const tax = (subtotal * 825n + 5000n) / 10000n;
  assert.deepEqual(
    [q.subtotal, q.tax, q.total].map((m) => m.minor),
    [subtotal, tax, subtotal + tax + 500n],
  );
});

test("overflow is a refusal, not a wrap", () => {
  const max = 2n ** 63n - 1n;
  assert.equal(refusal(() => price(parseParams(PARAMS), order([[max / 2n, 3]]), 0)).code, "amount_overflow");
  // The total overflows even though each part fits.
  assert.equal(refusal(() => price(parseParams(PARAMS), order([[max - 100n, 1]]), 0)).code, "amount_overflow");
});

test("the glue: an amount a Number cannot carry exactly is refused, not rounded", () => {
  const plugin = makePlugin();
  plugin.configure(PARAMS);
  assert.throws(() => plugin.price(order([[2 ** 53, 1]]), 0), { code: "amount_overflow" });
  assert.throws(() => plugin.price(order([[2 ** 52, 2]]), 0), { code: "amount_overflow" });
  assert.equal(plugin.price(order([[1000, 1]]), 0).total.minor, 1000 + 83 + 500);
});

test("the glue: configured once, before any decision", () => {
  const plugin = makePlugin();
  assert.throws(() => plugin.price(order([]), 0), { code: "not_configured", message: "configure was not called", field: null });
  assert.throws(() => plugin.configure("{}"), { code: "invalid_params" });
  assert.throws(() => plugin.price(order([]), 0), { code: "not_configured" }); // a refused configure configures nothing
  plugin.configure(PARAMS);
  assert.throws(() => plugin.configure(PARAMS), { code: "already_configured" });
});
