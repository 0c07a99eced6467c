// A lifecycle's building blocks (machine.js), as the Rust SDK's `machine` module has them.

import assert from "node:assert/strict";
import { test } from "node:test";
import {
  ADMIN,
  CANCELLED,
  CONFIRMED,
  PAID,
  PENDING,
  REFUNDED,
  SHIPPED,
  USER,
  changePayment,
  created,
  edge,
  permitted,
  stateMachine,
  statusTransition,
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
  assert.deepEqual(machine.paymentStatuses, ["pending", "paid", "failed", "refunded"]);
  const refunds = machine.statusEdges.filter((e) => e.to === REFUNDED).map((e) => e.from);
  assert.deepEqual(refunds, [PENDING, CONFIRMED, SHIPPED, CANCELLED]);
  assert.equal(machine.paymentEdges.length, 4);
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
});
