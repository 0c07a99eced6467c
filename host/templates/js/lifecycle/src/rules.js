// The lifecycle rules, in plain JavaScript: unit-tested natively (`npm test`), run by the
// host through the glue (src/plugin.js) of the component built from src/component.js. A
// small shop's order life to start from:
//
//   pending ──▶ confirmed ──▶ shipped ──▶ delivered      (admin; shipping needs a tracking
//      │            │                                     number, and with `pay_before_shipping`
//      └────────────┴──▶ cancelled                        a paid order)
//                                                        (the customer: only while pending)
//   any status but refunded ──▶ refunded                 (admin, only once paid)
//   payment: pending ──▶ paid | failed,  failed ──▶ paid,  paid ──▶ refunded   (admin)
//
// A placed order changes by the shared rules (`allowChange`, `withinWindow`, `returnedShare`):
// with no `processing` in this machine, its lines and discount code may change until a final
// status, its address, shipping method and units (cancelled) until it ships; a delivered
// order's units are returned within 30 days, for their share of what was paid.
//
// The host checks every answer against `describe`: a status or payment status it does not
// list, or a move along no edge, is a fault. Statuses, events (`order.<name>`) and
// timestamps (`<name>_at`) are yours to name; the SDK's `@orderflow/sdk/machine` names the
// statuses the shipped workflows share and has their rules: how an order is created, what
// each status stamps and announces, payments, refunds, shipping, what may change when and
// what a return refunds. Add a fixture for each rule in fixtures/.
//
// Records are the contract's as jco's bindings give and take them: camelCase fields
// (`order.paymentStatus`), `null` for an absent option.

import {
  ADMIN,
  CANCELLED,
  CONFIRMED,
  DELIVERED,
  PAID,
  PENDING,
  PROCESSING,
  REFUNDED,
  RETURN_WINDOW_DAYS,
  SHIPPED,
  USER,
  allowChange as sharedAllowChange,
  changePayment as sharedChangePayment,
  created,
  edge,
  permitted,
  returnedShare,
  stateMachine,
  statusTransition,
  withinWindow,
} from "@orderflow/sdk/machine";
import { Refusal, boolean, log, optional, readParams, struct } from "@orderflow/sdk";

export const STATUSES = [PENDING, CONFIRMED, SHIPPED, DELIVERED, CANCELLED, REFUNDED];

/**
 * The `[lifecycle.params]` table of a workflow using this plugin (fixtures/params.json for
 * the fixtures): `pay_before_shipping`, only a paid order ships (default false).
 */
const params = struct("Params", {
  pay_before_shipping: optional(boolean, () => false),
});

/**
 * The parameters made of the workflow's JSON. Parameters the rules cannot work with are
 * refused here (a thrown `Refusal`): a workflow that gives them fails to load, rather than
 * failing its orders.
 */
export const parseParams = (json) => readParams("lifecycle", json, params);

/**
 * The state machine: who may move an order from which status to which (`stateMachine` adds
 * the refunds and the payment's moves). It does not depend on the parameters.
 */
export function describe(_p) {
  return stateMachine(STATUSES, [
    edge(PENDING, CONFIRMED, [ADMIN]),
    edge(CONFIRMED, SHIPPED, [ADMIN]),
    edge(SHIPPED, DELIVERED, [ADMIN]),
    edge(PENDING, CANCELLED, [USER, ADMIN]),
    edge(CONFIRMED, CANCELLED, [ADMIN]),
  ]);
}

/** A new order's statuses, stamps and events: the shared ones. */
export const create = (_p, _order, _now) => created();

/**
 * A status change: refused unless it follows one of the machine's edges by one of its roles;
 * then this plugin's own rule, then the shared statuses' answer.
 */
export function changeStatus(p, order, change, by, _now) {
  permitted(describe(p).statusEdges, order.status, change.to, by, "status", "an order");
  if (change.to === SHIPPED && p.pay_before_shipping && order.paymentStatus !== PAID) {
    log.info(`order ${order.id} held: payment is ${order.paymentStatus}, and pay_before_shipping is set`);
    throw new Refusal("payment_required", "an order ships once it is paid", "status");
  }
  return statusTransition(order, change);
}

/** A payment change: the shared payment rules, along the machine's payment edges. */
export const changePayment = (p, order, change, by, _now) =>
  sharedChangePayment(describe(p).paymentEdges, order, change, by);

/**
 * May `by` change this part (`change`) of a placed order now? The shared rule, by this
 * machine: the items until `processing`, the delivery and cancellations until `shipped`.
 */
export const allowChange = (p, order, change, _by, _now) =>
  sharedAllowChange(describe(p), order.status, change, PROCESSING, SHIPPED);

/**
 * What a return refunds: the shared rule, within 30 days of delivery the units' share of
 * what was paid, with no shipping back and no restocking fee. Amounts are BigInts, which the
 * glue gives back as Numbers.
 */
export function refund(_p, _order, request, now) {
  withinWindow(request, now, RETURN_WINDOW_DAYS);
  return returnedShare(request);
}
