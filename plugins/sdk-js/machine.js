// Building blocks of a lifecycle plugin's state machine and answers: orderflow's Rust plugin
// SDK's `machine` module, ported, so that the statuses the shipped workflows share behave
// here as there (the same edges, stamps, events and refusals).
// `import { … } from "@orderflow/sdk/machine"`.
//
// Records are the contract's as jco's bindings give and take them: camelCase fields
// (`order.paymentStatus`, `machine.statusEdges`), `null` for an absent option.

import { Refusal, checked, s64 } from "./sdk.js";

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

// A payment is `PENDING` first and may end `REFUNDED`, as an order does; returns and changes
// that lower a paid total leave it `PARTIALLY_REFUNDED` on the way.
export const PAID = "paid";
export const FAILED = "failed";
export const PARTIALLY_REFUNDED = "partially_refunded";
export const PAYMENT_STATUSES = [PENDING, PAID, FAILED, PARTIALLY_REFUNDED, REFUNDED];

/** How long after delivery units are returned, by default. */
export const RETURN_WINDOW_DAYS = 30;

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
 * failed → paid, paid | partially_refunded → refunded. The host sets `partially_refunded`
 * (and `refunded`) itself when a return or change gives money back.
 */
const paymentEdges = () => [
  edge(PENDING, PAID, [ADMIN]),
  edge(PENDING, FAILED, [ADMIN]),
  edge(FAILED, PAID, [ADMIN]),
  edge(PAID, REFUNDED, [ADMIN]),
  edge(PARTIALLY_REFUNDED, REFUNDED, [ADMIN]),
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
 * only a paid (or partly refunded) order can be.
 */
export function refund(order, field) {
  if (order.paymentStatus !== PAID && order.paymentStatus !== PARTIALLY_REFUNDED) {
    throw new Refusal("refund_requires_payment", "only a paid order can be refunded", field);
  }
  return transition(REFUNDED, REFUNDED, ["refunded_at"], ["order.refunded"]);
}

// The parts of a placed order a change touches: the contract's `change-kind`, as the bindings
// give it (a string of the case's name).
export const ITEMS = "items";
export const DELIVERY = "delivery";
export const CANCELLATION = "cancellation";
export const RETURN = "return";

/**
 * Whether `change` (one of the kinds above) may be made in `status` of `machine`: nothing in
 * a final status but a return, which only a `delivered` order takes; the items while the
 * status comes before `itemsUntil`, the delivery and cancellations before `deliveryUntil`
 * (when the machine has those statuses). The default rule passes `PROCESSING` and `SHIPPED`.
 * Refused as `change_not_allowed`.
 */
export function allowChange(machine, status, change, itemsUntil, deliveryUntil) {
  const refusal = (message) => new Refusal("change_not_allowed", message);
  if (change === RETURN) {
    if (status === DELIVERED) return;
    throw refusal(`only a delivered order's items are returned; it is \`${status}\``);
  }
  if (machine.finalStatuses.includes(status)) throw refusal(`an order that is \`${status}\` does not change any more`);
  const [until, what] = {
    [ITEMS]: [itemsUntil, "the items and the discount code may change"],
    [DELIVERY]: [deliveryUntil, "the shipping address and method may change"],
    [CANCELLATION]: [deliveryUntil, "items may be cancelled"],
  }[change];
  const [at, limit] = [machine.statuses.indexOf(status), machine.statuses.indexOf(until)];
  if (at >= 0 && limit >= 0 && at >= limit) {
    throw refusal(`${what} until the order is \`${until}\`; it is \`${status}\``);
  }
}

/** Refuses a return asked for more than `days` after delivery (when the order's was stamped). */
export function withinWindow(request, now, days) {
  const window = BigInt(days) * 24n * 60n * 60n * 1000n;
  if (request.deliveredAt !== null && s64(now) > s64(request.deliveredAt) + window) {
    throw new Refusal("return_window_closed", `units are returned within ${days} days of delivery`, "lines");
  }
}

/**
 * The returned units' share of what was paid: their gross (unit price × quantity) less their
 * share of the order's discount, and their share of its tax, each share (gross / subtotal;
 * none of a subtotal of 0) rounded down to the minor unit; no shipping, no restocking fee.
 * Amounts are BigInts, exact, in the order's currency (its quote's); the glue gives them back
 * as the bindings take an s64 (`toS64`).
 */
export function returnedShare(request) {
  const gross = request.lines.reduce((sum, l) => sum + s64(l.unitPrice.minor) * BigInt(l.quantity), 0n);
  const subtotal = s64(request.subtotal.minor);
  // A BigInt's division rounds toward zero, which is down: no amount of a quote is negative.
  const share = (amount) => (subtotal === 0n ? 0n : (s64(amount.minor) * gross) / subtotal);
  const items = checked(gross - share(request.discount));
  const tax = checked(share(request.tax));
  const money = (minor) => ({ minor, currency: request.subtotal.currency });
  return {
    items: money(items),
    tax: money(tax),
    shipping: money(0n),
    restockingFee: money(0n),
    total: money(checked(items + tax)),
  };
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
