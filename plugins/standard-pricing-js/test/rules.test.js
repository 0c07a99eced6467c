// The rules run directly, in Node (`npm test`, i.e. `node --test`): the Rust rule's fixtures
// through the component's glue as the QuickJS bindings call it, and the Rust rule's own unit
// tests (plugins/standard-pricing/src/rules.rs), ported. `orderflow plugin test` runs the
// same fixtures through the built component.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { testFixtures } from "@orderflow/sdk/testing";
import { makePricing } from "../src/plugin.js";
import { Refusal, applyBp, parseParams, price } from "../src/rules.js";

// Where the rule's fixtures/ and unit-params.json are: in orderflow's repository, beside the
// Rust rule, whose ports share them; in a project `orderflow plugin new --from
// standard-pricing` wrote, in the project.
const rule = new URL("../../standard-pricing/", import.meta.url);
const sharedParams = readFileSync(new URL("fixtures/params.json", rule), "utf8");

testFixtures(new URL("fixtures/", rule), makePricing);

/** Every BigInt a Number, as the QuickJS bindings give an s64. */
function numbers(value) {
  if (typeof value === "bigint") return Number(value);
  if (Array.isArray(value)) return value.map(numbers);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, numbers(v)]));
  }
  return value;
}

// The Rust rule's unit tests (plugins/standard-pricing/src/rules.rs), ported.

const NOW = 1_764_000_000_000n;

// The Rust rule's unit-test parameters.
const params = () => parseParams(readFileSync(new URL("unit-params.json", rule), "utf8"));

function order(lines, state, method, code = null) {
  return {
    userId: "u1",
    items: lines.map(([minor, quantity], i) => ({
      product: {
        productId: `p${i}`,
        name: "Thing",
        sku: `SKU${i}`,
        unitPrice: { minor, currency: "USD" },
        stock: 100n,
        active: true,
      },
      quantity,
    })),
    shippingAddress: {
      fullName: "Ada",
      addressLine1: "1 Main St",
      addressLine2: null,
      city: "Springfield",
      state,
      postalCode: "94105",
      country: "US",
      phone: null,
    },
    shippingMethod: method,
    paymentMethod: "card",
    discountCode: code,
  };
}

const minor = (q) => [q.subtotal, q.tax, q.shipping, q.discount, q.total].map((m) => m.minor);
const refusal = (decide) => {
  try {
    decide();
  } catch (e) {
    if (e instanceof Refusal) return e.problem;
    throw e;
  }
  assert.fail("expected a refusal");
};

test("subtotal, regional tax and paid shipping", () => {
  const q = price(params(), order([[1000n, 2], [250n, 1]], "CA", "standard"), NOW);
  // 2250 × 7.25 % = 163.125 → 163
  assert.deepEqual(minor(q), [2250n, 163n, 599n, 0n, 3012n]);
});

test("the country's rate when the region has none", () => {
  const q = price(params(), order([[1000n, 1]], "NY", "express"), NOW);
  assert.deepEqual(minor(q), [1000n, 50n, 1499n, 0n, 2549n]);
});

test("no tax where there is no rate", () => {
  const o = order([[1000n, 1]], "", "standard");
  o.shippingAddress.country = "DE";
  assert.deepEqual(minor(price(params(), o, NOW)), [1000n, 0n, 599n, 0n, 1599n]);
});

test("rounding is half away from zero", () => {
  assert.equal(applyBp(10n, 5000n), 5n);
  assert.equal(applyBp(1n, 5000n), 1n); // 0.5 → 1
  assert.equal(applyBp(3n, 1666n), 0n); // 0.4998 → 0
  assert.equal(applyBp(-1n, 5000n), -1n);
  assert.equal(applyBp(-3n, 5000n), -2n); // -1.5 → -2
  assert.equal(applyBp(15n, 5000n), 8n); // 7.5 → 8
});

test("amounts beyond 2^53 stay exact", () => {
  // 2^53 + 1 is not a double; 3 × it at 7.25 % must still be exact.
  const big = 2n ** 53n + 1n;
  const q = price(params(), order([[big, 3]], "CA", "express"), NOW);
  const subtotal = big * 3n;
  const tax = (subtotal * 725n + 5000n) / 10000n;
  assert.deepEqual(minor(q), [subtotal, tax, 1499n, 0n, subtotal + tax + 1499n]);
});

test("free standard shipping over the threshold, after the discount", () => {
  assert.equal(price(params(), order([[5000n, 1]], "NY", "standard"), NOW).shipping.minor, 0n);
  // 10 % off takes the subtotal below the threshold: shipping is paid again.
  const q = price(params(), order([[5000n, 1]], "NY", "standard", "ten"), NOW);
  assert.deepEqual(minor(q), [5000n, 225n, 599n, 500n, 5324n]);
  // Express is never free.
  assert.equal(price(params(), order([[9000n, 1]], "NY", "express"), NOW).shipping.minor, 1499n);
});

test("discount rules", () => {
  const p = params();
  const code = (c, lines) => price(p, order(lines, "NY", "express", c), NOW);
  assert.equal(refusal(() => code("NOPE", [[1000n, 1]])).code, "unknown_discount_code");
  assert.equal(refusal(() => code("LATER", [[1000n, 1]])).code, "discount_not_yet_valid");
  assert.equal(refusal(() => code("GONE", [[1000n, 1]])).code, "discount_expired");
  assert.deepEqual(refusal(() => code("FIVE", [[1999n, 1]])), {
    code: "discount_minimum_not_met",
    message: "this discount code needs a subtotal of at least 2000 minor units",
    field: "discount_code",
  });
  assert.equal(code("FIVE", [[2000n, 1]]).discount.minor, 500n);
  // Matched ignoring ASCII case and surrounding white space; shown upper-cased as given.
  const q = code(" five\u3000", [[2000n, 1]]);
  assert.equal(q.applied[0].rule, "discount: FIVE\u3000");
  assert.equal(refusal(() => code("fıve", [[2000n, 1]])).code, "unknown_discount_code");
  // A fixed discount never exceeds the subtotal, so the total never goes negative.
  p.discounts.get("FIVE").min_subtotal = 0n;
  assert.deepEqual(minor(code("FIVE", [[300n, 1]])), [300n, 0n, 1499n, 300n, 1499n]);
});

test("an unknown method and a foreign currency are typed errors", () => {
  const err = refusal(() => price(params(), order([[100n, 1]], "NY", "drone"), NOW));
  assert.deepEqual([err.code, err.field], ["unknown_shipping_method", "shipping_method"]);
  assert.equal(err.message, "shipping method `drone` is not offered (offered: express, standard)");
  const o = order([[100n, 1], [100n, 1]], "NY", "standard");
  o.items[1].product.unitPrice.currency = "EUR";
  const foreign = refusal(() => price(params(), o, NOW));
  assert.deepEqual([foreign.code, foreign.field], ["currency_not_supported", "items[1]"]);
});

test("overflow is an error, not a wrap", () => {
  const I64_MAX = 2n ** 63n - 1n;
  const err = refusal(() => price(params(), order([[I64_MAX / 2n, 3]], "NY", "standard"), NOW));
  assert.equal(err.code, "amount_overflow");
  // The total overflows even though each part fits.
  const total = refusal(() => price(params(), order([[I64_MAX - 100n, 1]], "NY", "standard"), NOW));
  assert.equal(total.code, "amount_overflow");
});

test("an s64 given as a Number beyond 2^53 is refused, not rounded", () => {
  const o = order([[2 ** 60, 1]], "NY", "standard");
  assert.equal(refusal(() => price(params(), o, NOW)).code, "amount_overflow");
  assert.deepEqual(minor(price(params(), order([[1000, 1]], "NY", "standard"), 1764000000000)), [
    1000n,
    50n,
    599n,
    0n,
    1649n,
  ]);
});

test("bad parameters are refused", () => {
  for (const json of [
    `{"currency":"usd","shipping":{"rates":{}}}`,
    `{"currency":"USD","shipping":{"rates":{"standard":-1}}}`,
    `{"currency":"USD","shipping":{"rates":{}},"discounts":{"X":{"percent_bp":10,"fixed":5}}}`,
    `{"currency":"USD","shipping":{"rates":{}},"surprise":1}`,
    // and what serde refuses on the way in
    `{"currency":"USD","shipping":{"rates":{"standard":5.0}}}`,
    `{"currency":"USD","shipping":{"rates":{"standard":9223372036854775808}}}`,
    `{"currency":"USD","shipping":{"rates":{}},"tax":[{"country":"US","rate_bp":-1}]}`,
    `{"currency":"USD","shipping":{"rates":{}},"tax":null}`,
    `{"currency":"USD","currency":"USD","shipping":{"rates":{}}}`,
    `{"currency":"USD"}`,
    `{"currency":"USD","shipping":{"rates":{}}} x`,
    `[]`,
  ]) {
    const err = refusal(() => parseParams(json));
    assert.equal(err.code, "invalid_params", json);
    assert.equal(err.field, null, json);
  }
  assert.equal(
    refusal(() => parseParams(`{"currency":"USD","shipping":{"rates":{}},"surprise":1}`)).message,
    "pricing params: unknown field `surprise`, expected one of `currency`, `shipping`, `tax`, `discounts`",
  );
  assert.equal(
    refusal(() => parseParams(`{"currency":"USD","shipping":{"rates":{}},"tax":[{"country":"US","rate_bp":10001}]}`))
      .message,
    "tax rate of US exceeds 100 %",
  );
});

test("parameters: defaults, nulls and exact integers", () => {
  const p = parseParams(
    `{"currency":"USD","shipping":{"rates":{"b":1,"a":2,"b":3},"free_over":null},
      "discounts":{"X":{"fixed":9007199254740993,"valid_from":null}}}`,
  );
  assert.deepEqual([...p.shipping.rates], [["a", 2n], ["b", 3n]]); // sorted; the later `b` wins
  assert.deepEqual(p.shipping.free_methods, ["standard"]);
  assert.equal(p.shipping.free_over, null);
  assert.deepEqual(p.tax, []);
  assert.equal(p.discounts.get("X").fixed, 9007199254740993n);
  assert.equal(p.discounts.get("X").min_subtotal, 0n);
});

test("the glue: configured once, before any decision", () => {
  const plugin = makePricing();
  const o = numbers(order([[1000n, 1]], "NY", "standard"));
  assert.throws(() => plugin.price(o, 0), { code: "not_configured", message: "configure was not called", field: null });
  assert.throws(() => plugin.configure("{}"), { code: "invalid_params" });
  assert.throws(() => plugin.price(o, 0), { code: "not_configured" }); // a refused configure configures nothing
  plugin.configure(sharedParams);
  assert.throws(() => plugin.configure(sharedParams), { code: "already_configured" });
  assert.deepEqual(plugin.price(o, 0).total, { minor: 1000 + 89 + 599, currency: "USD" });
});

test("the glue: an amount a Number cannot carry exactly is refused", () => {
  const plugin = makePricing();
  plugin.configure(sharedParams);
  const o = numbers(order([[2 ** 52, 2]], "NY", "express")); // 2^53 of subtotal
  assert.throws(() => plugin.price(o, 0), { code: "amount_overflow" });
});
