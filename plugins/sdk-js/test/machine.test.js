// A lifecycle's building blocks (machine.js), as the Rust SDK's `machine` module has them.

import assert from "node:assert/strict";
import { test } from "node:test";
import {
  ADMIN,
  CANCELLATION,
  CANCELLED,
  CONFIRMED,
  DELIVERED,
  DELIVERY,
  ITEMS,
  PAID,
  PARTIALLY_REFUNDED,
  PENDING,
  PROCESSING,
  REFUNDED,
  RETURN,
  RETURN_WINDOW_DAYS,
  SHIPPED,
  USER,
  allowChange,
  changePayment,
  created,
  edge,
  permitted,
  returnedShare,
  stateMachine,
  statusTransition,
  withinWindow,
} from "../machine.js";
import { Refusal } from "../sdk.js";

const machine = stateMachine(
  [PENDING, CONFIRMED, SHIPPED, CANCELLED, REFUNDED],
  [edge(PENDING, CONFIRMED, [ADMIN]), edge(PENDING, CANCELLED, [ADMIN, USER]), edge(CONFIRMED, SHIPPED, [ADMIN])],
);
const admin = { role: ADMIN };
const user = { role: USER };
const order = (status, paymentStatus) => ({ status, paymentStatus });
const change = (to, trackingNumber = null) => ({ to, trackingNumber });

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

test("a machine has the shared final and payment statuses, and a refund from every status", () => {
  assert.deepEqual(machine.finalStatuses, ["delivered", "cancelled", "refunded"]);
  assert.deepEqual(machine.paymentStatuses, ["pending", "paid", "failed", "partially_refunded", "refunded"]);
  const refunds = machine.statusEdges.filter((e) => e.to === REFUNDED).map((e) => e.from);
  assert.deepEqual(refunds, [PENDING, CONFIRMED, SHIPPED, CANCELLED]);
  assert.equal(machine.paymentEdges.length, 5);
});

test("moves along the edges, by their roles, stamped and announced", () => {
  assert.deepEqual(created(), { status: PENDING, paymentStatus: PENDING, stamps: [], events: ["order.created"] });
  permitted(machine.statusEdges, PENDING, CANCELLED, user, "status", "an order");
  assert.deepEqual(refusal(() => permitted(machine.statusEdges, CONFIRMED, CANCELLED, user, "status", "an order")), {
    code: "invalid_transition",
    message: "an order cannot go from confirmed to cancelled",
    field: "status",
  });
  assert.equal(
    refusal(() => permitted(machine.statusEdges, PENDING, CONFIRMED, user, "status", "an order")).message,
    "only an admin may move an order from pending to confirmed",
  );
  assert.deepEqual(statusTransition(order(PENDING, PENDING), change(CONFIRMED)), {
    status: CONFIRMED,
    paymentStatus: PENDING,
    stamps: ["confirmed_at"],
    events: ["order.confirmed"],
  });
  const blank = refusal(() => statusTransition(order(CONFIRMED, PAID), change(SHIPPED, " \u3000")));
  assert.equal(blank.code, "tracking_number_required");
  assert.deepEqual(statusTransition(order(CONFIRMED, PAID), change(SHIPPED, "1Z")).stamps, ["shipped_at"]);
  assert.deepEqual(statusTransition(order(CONFIRMED, PAID), change("on_hold")).events, []);
});

test("payments and refunds", () => {
  const pay = (status, paymentStatus, to, by) =>
    changePayment(machine.paymentEdges, order(status, paymentStatus), change(to), by);
  assert.deepEqual(pay(CONFIRMED, PENDING, PAID, admin), {
    status: CONFIRMED,
    paymentStatus: PAID,
    stamps: ["paid_at"],
    events: ["order.payment_completed"],
  });
  assert.equal(refusal(() => pay(CANCELLED, PENDING, PAID, admin)).code, "order_closed");
  assert.equal(refusal(() => pay(PENDING, PENDING, PAID, user)).code, "not_allowed");
  const unpaid = refusal(() => statusTransition(order(SHIPPED, PENDING), change(REFUNDED)));
  assert.equal(unpaid.code, "refund_requires_payment");
  assert.equal(pay(SHIPPED, PAID, REFUNDED, admin).status, REFUNDED);
  // A return refunded part of it: the rest is refunded as a paid order's would be.
  assert.deepEqual(pay(DELIVERED, PARTIALLY_REFUNDED, REFUNDED, admin).stamps, ["refunded_at"]);
  assert.equal(statusTransition(order(DELIVERED, PARTIALLY_REFUNDED), change(REFUNDED)).paymentStatus, REFUNDED);
});

test("what may change when: the items until one status, delivery and cancellations until another", () => {
  const full = stateMachine([PENDING, CONFIRMED, PROCESSING, SHIPPED, DELIVERED, CANCELLED, REFUNDED], []);
  const allow = (m, status, kind) => allowChange(m, status, kind, PROCESSING, SHIPPED);
  const refused = (m, status, kind) => refusal(() => allow(m, status, kind));
  for (const status of [PENDING, CONFIRMED]) assert.equal(allow(full, status, ITEMS), undefined);
  assert.deepEqual(refused(full, PROCESSING, ITEMS), {
    code: "change_not_allowed",
    message: "the items and the discount code may change until the order is `processing`; it is `processing`",
    field: null,
  });
  assert.equal(allow(full, PROCESSING, DELIVERY), undefined);
  assert.equal(allow(full, PROCESSING, CANCELLATION), undefined);
  assert.match(refused(full, SHIPPED, DELIVERY).message, /^the shipping address and method may change until the order/);
  const cancelled = "items may be cancelled until the order is `shipped`; it is `shipped`";
  assert.equal(refused(full, SHIPPED, CANCELLATION).message, cancelled);
  for (const status of [DELIVERED, CANCELLED, REFUNDED]) {
    assert.equal(refused(full, status, DELIVERY).message, `an order that is \`${status}\` does not change any more`);
  }
  // Statuses of the rules' choosing: the items until confirmed.
  assert.equal(refusal(() => allowChange(full, CONFIRMED, ITEMS, CONFIRMED, SHIPPED)).code, "change_not_allowed");
  // A status the machine does not list is not after any.
  assert.equal(allow(full, "on_hold", ITEMS), undefined);
  // Without `processing`, the items change until a final status.
  assert.equal(allow(machine, SHIPPED, ITEMS), undefined);
  assert.equal(refused(machine, CANCELLED, ITEMS).code, "change_not_allowed");
});

test("only a delivered order's units are returned, final as it is", () => {
  const full = stateMachine([PENDING, SHIPPED, DELIVERED, REFUNDED], []);
  assert.equal(allowChange(full, DELIVERED, RETURN, PROCESSING, SHIPPED), undefined);
  for (const status of [SHIPPED, REFUNDED]) {
    assert.deepEqual(refusal(() => allowChange(full, status, RETURN, PROCESSING, SHIPPED)), {
      code: "change_not_allowed",
      message: `only a delivered order's items are returned; it is \`${status}\``,
      field: null,
    });
  }
});

const usd = (minor) => ({ minor, currency: "USD" });
const returned = (lines, deliveredAt, [subtotal, tax, discount]) => ({
  lines: lines.map(([unit, quantity]) => ({ productId: "p", quantity, unitPrice: usd(unit), reason: null })),
  deliveredAt,
  subtotal: usd(subtotal),
  tax: usd(tax),
  shipping: usd(500),
  discount: usd(discount),
  refunded: usd(0),
  everything: false,
});
const amounts = (q) => [q.items, q.tax, q.shipping, q.restockingFee, q.total].map((m) => m.minor);

test("a return's share: its units' gross less their discount share, and their tax share, rounded down", () => {
  // 2 × 1500 of a 10000 subtotal: 3/10 of the discount (299.7) and of the tax (247.5).
  const q = returnedShare(returned([[1500, 2]], 0, [10000, 825, 999]));
  assert.deepEqual(amounts(q), [2701n, 247n, 0n, 0n, 2948n]);
  assert.deepEqual(q.restockingFee, { minor: 0n, currency: "USD" });
  // Of a subtotal of 0, the units have no share of the discount or the tax.
  assert.deepEqual(amounts(returnedShare(returned([[1500, 1]], null, [0, 825, 100]))), [1500n, 0n, 0n, 0n, 1500n]);
  // Exact beyond a Number's 2^53: 3 units of 2^53 + 1, of a subtotal of twice that and 7.
  const big = 2n ** 53n + 1n;
  const subtotal = 6n * big + 7n;
  const exact = returnedShare(returned([[big, 3]], null, [subtotal, subtotal / 10n + 3n, subtotal / 4n + 1n]));
  assert.deepEqual(amounts(exact), [20266198323167234n, 2702159776422299n, 0n, 0n, 22968358099589533n]);
});

test("units are returned within the window's days of delivery", () => {
  const [at, day] = [1795608000000, 24 * 60 * 60 * 1000];
  const request = returned([[1500, 1]], at, [1500, 0, 0]);
  assert.equal(withinWindow(request, at + RETURN_WINDOW_DAYS * day, RETURN_WINDOW_DAYS), undefined);
  assert.deepEqual(refusal(() => withinWindow(request, at + RETURN_WINDOW_DAYS * day + 1, RETURN_WINDOW_DAYS)), {
    code: "return_window_closed",
    message: "units are returned within 30 days of delivery",
    field: "lines",
  });
  const week = refusal(() => withinWindow(request, at + 8 * day, 7));
  assert.equal(week.message, "units are returned within 7 days of delivery");
  // An order whose delivery was not stamped has no window.
  assert.equal(withinWindow(returned([[1500, 1]], null, [1500, 0, 0]), Number.MAX_SAFE_INTEGER, 1), undefined);
});
