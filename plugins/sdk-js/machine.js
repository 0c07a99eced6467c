// Building blocks of a lifecycle plugin's state machine and answers: orderflow's Rust plugin
// SDK's `machine` module, ported, so that the statuses the shipped workflows share behave
// here as there (the same edges, stamps, events and refusals).
// `import { … } from "@orderflow/sdk/machine"`.
//
// Records are the contract's as jco's bindings give and take them: camelCase fields
// (`order.paymentStatus`, `machine.statusEdges`), `null` for an absent option.

import { Refusal } from "./sdk.js";

export const ADMIN = "admin";
export const USER = "user";

// The order statuses the shipped state machines share; a machine lists those it uses, and
// may add its own.
export const PENDING = "pending";
export const CONFIRMED = "confirmed";
export const PROCESSING = "processing";
export const SHIPPED = "shipped";
export const DELIVERED = "delivered";
export const CANCELLED = "cancelled";
export const REFUNDED = "refunded";
/** Statuses no status change leaves (but a refund). */
export const FINAL_STATUSES = [DELIVERED, CANCELLED, REFUNDED];

// A payment is `PENDING` first and may end `REFUNDED`, as an order does.
export const PAID = "paid";
export const FAILED = "failed";
export const PAYMENT_STATUSES = [PENDING, PAID, FAILED, REFUNDED];

/** A move `from → to` that the given roles may make. */
export const edge = (from, to, roles) => ({ from, to, roles: [...roles] });

/**
 * A state machine of `statuses` (`REFUNDED` among them) and `statusEdges`, with what the
 * shipped workflows share: an admin's refund from every status but refunded itself (after
 * `statusEdges`), the final statuses, the payment statuses and edges.
 */
export function stateMachine(statuses, statusEdges) {
  return {
    statuses: [...statuses],
    finalStatuses: [...FINAL_STATUSES],
    paymentStatuses: [...PAYMENT_STATUSES],
    statusEdges: [
      ...statusEdges,
      ...statuses.filter((s) => s !== REFUNDED).map((from) => edge(from, REFUNDED, [ADMIN])),
    ],
    paymentEdges: paymentEdges(),
  };
}

/** An answer: the statuses it leaves, the timestamps it sets, the events it emits. */
export const transition = (status, paymentStatus, stamps, events) => ({
  status,
  paymentStatus,
  stamps: [...stamps],
  events: [...events],
});

/** A new order: pending, its payment too, announced as `order.created`. */
export const created = () => transition(PENDING, PENDING, [], ["order.created"]);

/**
 * The answer to a permitted move to one of the shared statuses, the payment status kept:
 * `<status>_at` stamped and `order.<status>` emitted on arrival (processing emits nothing),
 * shipping needs a tracking number (`ship`), a refund a payment (`refund`). A status of a
 * machine's own is entered with neither.
 */
export function statusTransition(order, change) {
  const [to, pay] = [change.to, order.paymentStatus];
  switch (to) {
    case CONFIRMED:
      return transition(to, pay, ["confirmed_at"], ["order.confirmed"]);
    case PROCESSING:
      return transition(to, pay, ["processing_at"], []);
    case SHIPPED:
      return ship(change, pay);
    case DELIVERED:
      return transition(to, pay, ["delivered_at"], ["order.delivered"]);
    case CANCELLED:
      return transition(to, pay, ["cancelled_at"], ["order.cancelled"]);
    case REFUNDED:
      return refund(order, "status");
    default:
      return transition(to, pay, [], []);
  }
}

/**
 * The move `from → to` must be one of `edges`, and `by` must hold one of its roles; the
 * refusal names `field`. `what` is the subject of the message ("an order").
 */
export function permitted(edges, from, to, by, field, what) {
  const found = edges.find((e) => e.from === from && e.to === to);
  if (found === undefined) {
    throw new Refusal("invalid_transition", `${what} cannot go from ${from} to ${to}`, field);
  }
  if (found.roles.includes(by.role)) return;
  const message =
    to === CANCELLED && by.role === USER
      ? `a ${from} order can no longer be cancelled by the customer`
      : `only an admin may move ${what} from ${from} to ${to}`;
  throw new Refusal("not_allowed", message, field);
}

/**
 * The payment lifecycle the shipped workflows share (admin only): pending → paid | failed,
 * failed → paid, paid → refunded.
 */
const paymentEdges = () => [
  edge(PENDING, PAID, [ADMIN]),
  edge(PENDING, FAILED, [ADMIN]),
  edge(FAILED, PAID, [ADMIN]),
  edge(PAID, REFUNDED, [ADMIN]),
];

/** A payment change along `edges`: paid (not for a closed order), failed, or a refund. */
export function changePayment(edges, order, change, by) {
  const [from, to] = [order.paymentStatus, change.to];
  permitted(edges, from, to, by, "payment_status", "a payment");
  const status = order.status;
  switch (to) {
    case PAID:
      if (status === CANCELLED || status === REFUNDED) {
        throw new Refusal("order_closed", `a ${status} order takes no payment`, "payment_status");
      }
      return transition(status, to, ["paid_at"], ["order.payment_completed"]);
    case FAILED:
      return transition(status, to, [], ["order.payment_failed"]);
    default:
      return refund(order, "payment_status");
  }
}

/**
 * A refund, asked for as a status or a payment status (`field`): both become `refunded`, and
 * only a paid order can be.
 */
export function refund(order, field) {
  if (order.paymentStatus !== PAID) {
    throw new Refusal("refund_requires_payment", "only a paid order can be refunded", field);
  }
  return transition(REFUNDED, REFUNDED, ["refunded_at"], ["order.refunded"]);
}

/**
 * Nothing but white space as Rust's `str::trim` has it (Unicode's White_Space property), not
 * as `String.prototype.trim` does (which keeps U+0085 and takes U+FEFF).
 */
const blank = (s) => /^[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$/.test(s);

/** Shipping, which needs a tracking number. */
export function ship(change, paymentStatus) {
  if (change.trackingNumber === null || blank(change.trackingNumber)) {
    throw new Refusal("tracking_number_required", "shipping needs a tracking number", "tracking_number");
  }
  return transition(SHIPPED, paymentStatus, ["shipped_at"], ["order.shipped"]);
}
