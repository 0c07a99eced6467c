"""Building blocks of a lifecycle plugin's state machine and answers: orderflow's Rust plugin
SDK's `machine` module, ported, so that the statuses the shipped workflows share behave here
as there (the same edges, stamps, events and refusals).

Records are read with the attribute names componentize-py's bindings give them
(`order.payment_status`, None for an absent option), a change's kind as one of the strings
below; answers are the dataclasses below, which the glue (app.py) makes the bindings'
records. `from orderflow_sdk import machine`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from orderflow_sdk import Money, Refusal, checked

ADMIN = "admin"
USER = "user"

# The order statuses the shipped state machines share; a machine lists those it uses, and
# may add its own.
PENDING = "pending"
CONFIRMED = "confirmed"
PROCESSING = "processing"
SHIPPED = "shipped"
DELIVERED = "delivered"
CANCELLED = "cancelled"
REFUNDED = "refunded"
# Statuses no status change leaves (but a refund).
FINAL_STATUSES = [DELIVERED, CANCELLED, REFUNDED]

# A payment is `PENDING` first and may end `REFUNDED`, as an order does; returns and changes
# that lower a paid total leave it `PARTIALLY_REFUNDED` on the way.
PAID = "paid"
FAILED = "failed"
PARTIALLY_REFUNDED = "partially_refunded"
PAYMENT_STATUSES = [PENDING, PAID, FAILED, PARTIALLY_REFUNDED, REFUNDED]

# How long after delivery units are returned, by default.
RETURN_WINDOW_DAYS = 30


@dataclass
class Edge:
    """A move `from_ → to` that the given roles may make (`from` is a Python keyword: the
    bindings name it `from_` too)."""

    from_: str
    to: str
    roles: list[str]


@dataclass
class Machine:
    statuses: list[str]
    final_statuses: list[str]
    payment_statuses: list[str]
    status_edges: list[Edge]
    payment_edges: list[Edge]


@dataclass
class Transition:
    """An answer: the statuses it leaves, the timestamps it sets, the events it emits."""

    status: str
    payment_status: str
    stamps: list[str]
    events: list[str]


def edge(from_: str, to: str, roles: list[str]) -> Edge:
    return Edge(from_, to, list(roles))


def state_machine(statuses: list[str], status_edges: list[Edge]) -> Machine:
    """A state machine of `statuses` (`REFUNDED` among them) and `status_edges`, with what the
    shipped workflows share: an admin's refund from every status but refunded itself (after
    `status_edges`), the final statuses, the payment statuses and edges."""
    refunds = [edge(s, REFUNDED, [ADMIN]) for s in statuses if s != REFUNDED]
    return Machine(
        statuses=list(statuses),
        final_statuses=list(FINAL_STATUSES),
        payment_statuses=list(PAYMENT_STATUSES),
        status_edges=status_edges + refunds,
        payment_edges=_payment_edges(),
    )


def created() -> Transition:
    """A new order: pending, its payment too, announced as `order.created`."""
    return Transition(PENDING, PENDING, [], ["order.created"])


def status_transition(order: Any, change: Any) -> Transition:
    """The answer to a permitted move to one of the shared statuses, the payment status
    kept: `<status>_at` stamped and `order.<status>` emitted on arrival (processing emits
    nothing), shipping needs a tracking number (`ship`), a refund a payment (`refund`). A
    status of a machine's own is entered with neither."""
    to, pay = change.to, order.payment_status
    if to == CONFIRMED:
        return Transition(to, pay, ["confirmed_at"], ["order.confirmed"])
    if to == PROCESSING:
        return Transition(to, pay, ["processing_at"], [])
    if to == SHIPPED:
        return ship(change, pay)
    if to == DELIVERED:
        return Transition(to, pay, ["delivered_at"], ["order.delivered"])
    if to == CANCELLED:
        return Transition(to, pay, ["cancelled_at"], ["order.cancelled"])
    if to == REFUNDED:
        return refund(order, "status")
    return Transition(to, pay, [], [])


def permitted(edges: list[Edge], from_: str, to: str, by: Any, field: str, what: str) -> None:
    """The move `from_ → to` must be one of `edges`, and `by` must hold one of its roles; the
    refusal names `field`. `what` is the subject of the message ("an order")."""
    found = next((e for e in edges if e.from_ == from_ and e.to == to), None)
    if found is None:
        raise Refusal("invalid_transition", f"{what} cannot go from {from_} to {to}", field)
    if by.role in found.roles:
        return
    if to == CANCELLED and by.role == USER:
        message = f"a {from_} order can no longer be cancelled by the customer"
    else:
        message = f"only an admin may move {what} from {from_} to {to}"
    raise Refusal("not_allowed", message, field)


def _payment_edges() -> list[Edge]:
    """The payment lifecycle the shipped workflows share (admin only): pending → paid |
    failed, failed → paid, paid | partially_refunded → refunded. The host sets
    `partially_refunded` (and `refunded`) itself when a return or change gives money back."""
    return [
        edge(PENDING, PAID, [ADMIN]),
        edge(PENDING, FAILED, [ADMIN]),
        edge(FAILED, PAID, [ADMIN]),
        edge(PAID, REFUNDED, [ADMIN]),
        edge(PARTIALLY_REFUNDED, REFUNDED, [ADMIN]),
    ]


def change_payment(edges: list[Edge], order: Any, change: Any, by: Any) -> Transition:
    """A payment change along `edges`: paid (not for a closed order), failed, or a refund."""
    permitted(edges, order.payment_status, change.to, by, "payment_status", "a payment")
    status, to = order.status, change.to
    if to == PAID:
        if status in (CANCELLED, REFUNDED):
            raise Refusal("order_closed", f"a {status} order takes no payment", "payment_status")
        return Transition(status, to, ["paid_at"], ["order.payment_completed"])
    if to == FAILED:
        return Transition(status, to, [], ["order.payment_failed"])
    return refund(order, "payment_status")


def refund(order: Any, field: str) -> Transition:
    """A refund, asked for as a status or a payment status (`field`): both become
    `refunded`, and only a paid (or partly refunded) order can be."""
    if order.payment_status not in (PAID, PARTIALLY_REFUNDED):
        raise Refusal("refund_requires_payment", "only a paid order can be refunded", field)
    return Transition(REFUNDED, REFUNDED, ["refunded_at"], ["order.refunded"])


# The parts of a placed order a change touches: the contract's `change-kind`, as the case's
# name (the glue gives the bindings' `ChangeKind` so).
ITEMS = "items"
DELIVERY = "delivery"
CANCELLATION = "cancellation"
RETURN = "return"


def allow_change(machine: Machine, status: str, change: str, items_until: str, delivery_until: str) -> None:
    """Whether `change` (one of the kinds above) may be made in `status` of `machine`:
    nothing in a final status but a return, which only a `delivered` order takes; the items
    while the status comes before `items_until`, the delivery and cancellations before
    `delivery_until` (when the machine has those statuses). The default rule passes
    `PROCESSING` and `SHIPPED`. Refused as `change_not_allowed`."""

    def refusal(message: str) -> Refusal:
        return Refusal("change_not_allowed", message)

    if change == RETURN:
        if status == DELIVERED:
            return
        raise refusal(f"only a delivered order's items are returned; it is `{status}`")
    if status in machine.final_statuses:
        raise refusal(f"an order that is `{status}` does not change any more")
    until, what = {
        ITEMS: (items_until, "the items and the discount code may change"),
        DELIVERY: (delivery_until, "the shipping address and method may change"),
        CANCELLATION: (delivery_until, "items may be cancelled"),
    }[change]
    statuses = machine.statuses
    if status in statuses and until in statuses and statuses.index(status) >= statuses.index(until):
        raise refusal(f"{what} until the order is `{until}`; it is `{status}`")


def within_window(request: Any, now: int, days: int) -> None:
    """Refuses a return asked for more than `days` after delivery (when the order's was
    stamped)."""
    if request.delivered_at is not None and now > request.delivered_at + days * 24 * 60 * 60 * 1000:
        raise Refusal("return_window_closed", f"units are returned within {days} days of delivery", "lines")


@dataclass
class RefundQuote:
    """What a return refunds: total = items + tax + shipping - restocking_fee."""

    items: Money
    tax: Money
    shipping: Money
    restocking_fee: Money
    total: Money


def returned_share(request: Any) -> RefundQuote:
    """The returned units' share of what was paid: their gross (unit price × quantity) less
    their share of the order's discount, and their share of its tax, each share (gross /
    subtotal; none of a subtotal of 0) rounded down to the minor unit; no shipping, no
    restocking fee. Exact (ints), in the order's currency (its quote's)."""
    gross = sum(line.unit_price.minor * line.quantity for line in request.lines)
    subtotal = request.subtotal.minor

    def share(amount: Any) -> int:
        return 0 if subtotal == 0 else amount.minor * gross // subtotal

    items = checked(gross - share(request.discount))
    tax = checked(share(request.tax))
    currency = request.subtotal.currency
    return RefundQuote(
        items=Money(items, currency),
        tax=Money(tax, currency),
        shipping=Money(0, currency),
        restocking_fee=Money(0, currency),
        total=Money(checked(items + tax), currency),
    )


# White space as Rust's `str::trim` has it, Unicode's White_Space property (not
# `str.strip()`'s, which takes U+001C..U+001F too).
_WHITE_SPACE = "\t\n\v\f\r \x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B))) + (
    "\u2028\u2029\u202f\u205f\u3000"
)


def ship(change: Any, payment_status: str) -> Transition:
    """Shipping, which needs a tracking number."""
    if change.tracking_number is None or not change.tracking_number.strip(_WHITE_SPACE):
        raise Refusal("tracking_number_required", "shipping needs a tracking number", "tracking_number")
    return Transition(SHIPPED, payment_status, ["shipped_at"], ["order.shipped"])
