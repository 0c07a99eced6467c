// The rules' own unit tests (`npm test`, i.e. `node --test`); test/fixtures.test.js runs
// fixtures/ through the glue.

import assert from "node:assert/strict";
import { test } from "node:test";
import { makePlugin } from "../src/plugin.js";
import { Refusal } from "@orderflow/sdk";
import { allowChange, changePayment, changeStatus, describe, parseParams } from "../src/rules.js";

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

const ADMIN = { id: "admin-1", role: "admin" };
const order = (status, paymentStatus) => ({ status, paymentStatus, trackingNumber: null });
const change = (to, trackingNumber = null) => ({ to, trackingNumber, carrier: null, reason: null });

test("every status is reachable from pending, and every edge joins known statuses", () => {
  const m = describe(parseParams("{}"));
  const reached = ["pending"];
  for (let e; (e = m.statusEdges.find((e) => reached.includes(e.from) && !reached.includes(e.to))); ) {
    reached.push(e.to);
  }
  assert.deepEqual(reached.sort(), [...m.statuses].sort());
});

test("unknown parameters are refused", () => {
  const refused = refusal(() => parseParams(`{"pay_before_shiping": true}`));
  assert.equal(refused.code, "invalid_params");
  assert.match(refused.message, /unknown field `pay_before_shiping`, expected `pay_before_shipping`/);
});

test("the shared rules: tracking numbers, refunds, payments", () => {
  const p = parseParams("{}");
  const ship = (tracking) => changeStatus(p, order("confirmed", "pending"), change("shipped", tracking), ADMIN, 0);
  assert.equal(refusal(() => ship(" \u0085")).code, "tracking_number_required");
  assert.deepEqual(ship("1Z").stamps, ["shipped_at"]); // unpaid ships without pay_before_shipping
  const refund = () => changeStatus(p, order("delivered", "pending"), change("refunded"), ADMIN, 0);
  assert.equal(refusal(refund).code, "refund_requires_payment");
  const pay = (status) => changePayment(p, order(status, "pending"), { to: "paid" }, ADMIN, 0);
  assert.deepEqual(pay("confirmed").events, ["order.payment_completed"]);
  assert.equal(refusal(() => pay("cancelled")).code, "order_closed");
  const skip = () => changeStatus(p, order("pending", "pending"), change("delivered"), ADMIN, 0);
  assert.deepEqual(refusal(skip), {
    code: "invalid_transition",
    message: "an order cannot go from pending to delivered",
    field: "status",
  });
});

test("the change decisions: what may change when, what a return refunds", () => {
  const p = parseParams("{}");
  const allow = (status, kind) => allowChange(p, order(status, "paid"), kind, { id: "user-1", role: "user" }, 0);
  assert.equal(allow("shipped", "items"), undefined); // no `processing` in this machine
  assert.equal(refusal(() => allow("shipped", "delivery")).code, "change_not_allowed");
  assert.equal(refusal(() => allow("cancelled", "items")).code, "change_not_allowed");
  assert.equal(allow("delivered", "return"), undefined);
  const plugin = makePlugin();
  plugin.configure("{}");
  const usd = (minor) => ({ minor, currency: "USD" });
  const day = 24 * 60 * 60 * 1000;
  const request = {
    lines: [{ productId: "p1", quantity: 2, unitPrice: usd(1250), reason: null }],
    deliveredAt: 0,
    subtotal: usd(2500),
    tax: usd(206),
    shipping: usd(500),
    discount: usd(0),
    refunded: usd(0),
    everything: true,
  };
  const delivered = { ...order("delivered", "paid"), total: usd(3206) };
  // The glue gives the amounts back as the bindings take an s64: Numbers.
  assert.deepEqual(plugin.refund(delivered, request, 30 * day), {
    items: usd(2500),
    tax: usd(206),
    shipping: usd(0),
    restockingFee: usd(0),
    total: usd(2706),
  });
  const late = () => plugin.refund(delivered, request, 30 * day + 1);
  assert.throws(late, { code: "return_window_closed", field: "lines" });
});

test("the glue: describe before configure, decisions only after", () => {
  const plugin = makePlugin();
  assert.deepEqual(plugin.describe(), describe(parseParams("{}")));
  assert.throws(() => plugin.create({}, 0), { code: "not_configured", message: "configure was not called", field: null });
  plugin.configure(`{"pay_before_shipping": true}`);
  assert.throws(() => plugin.configure("{}"), { code: "already_configured" });
  assert.deepEqual(plugin.create({}, 0).events, ["order.created"]);
});
