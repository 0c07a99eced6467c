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

# A payment is `PENDING` first and may end `REFUNDED`, as an order does.
PAID = "paid"
FAILED = "failed"
PAYMENT_STATUSES = [PENDING, PAID, FAILED, REFUNDED]


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
    failed, failed → paid, paid → refunded."""
    return [
        edge(PENDING, PAID, [ADMIN]),
        edge(PENDING, FAILED, [ADMIN]),
        edge(FAILED, PAID, [ADMIN]),
        edge(PAID, REFUNDED, [ADMIN]),
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
    `refunded`, and only a paid order can be."""
    if order.payment_status != PAID:
        raise Refusal("refund_requires_payment", "only a paid order can be refunded", field)
    return Transition(REFUNDED, REFUNDED, ["refunded_at"], ["order.refunded"])


# The parts of a placed order a change touches: the contract's `change-kind`, as the case's
# name (the glue gives the bindings' `ChangeKind` so).
ITEMS = "items"
DELIVERY = "delivery"
CANCELLATION = "cancellation"
RETURN = "return"

# Of each kind but a return: the status from which it may no longer change, and what it is.
_CHANGES_UNTIL = {
    ITEMS: (PROCESSING, "the items and the discount code may change"),
    DELIVERY: (SHIPPED, "the shipping address and method may change"),
    CANCELLATION: (SHIPPED, "items may be cancelled"),
}


def _change_not_allowed(message: str) -> Refusal:
    return Refusal("change_not_allowed", message)


def allow_change(machine: Machine, order: Any, change: str) -> None:
    """May `change` (one of the kinds above) be made to `order` in `machine`? The shared
    rule, the host's for lifecycles that predate the decision: nothing changes in a final
    status, but a return, which only a delivered order takes; the items and the discount
    code change while the order's status comes before `processing` in the machine's
    statuses, its delivery and cancellations while it comes before `shipped` (with no such
    status in the machine, until a final status). Whoever asks, the answer is the same: the
    host lets only the order's owner and admins reach it. Refused as `change_not_allowed`."""
    status = order.status
    if change == RETURN:
        if status == DELIVERED:
            return
        raise _change_not_allowed(f"only a delivered order's items are returned; it is `{status}`")
    if status in machine.final_statuses:
        raise _change_not_allowed(f"an order that is `{status}` does not change any more")
    until, what = _CHANGES_UNTIL[change]
    statuses = machine.statuses
    if status in statuses and until in statuses and statuses.index(status) >= statuses.index(until):
        raise _change_not_allowed(f"{what} until the order is `{until}`; it is `{status}`")


# How long after its delivery an order's units may be returned: 30 days, in milliseconds.
RETURN_WINDOW_MS = 30 * 24 * 60 * 60 * 1000


@dataclass
class RefundQuote:
    """What a return refunds: total = items + tax + shipping - restocking_fee."""

    items: Money
    tax: Money
    shipping: Money
    restocking_fee: Money
    total: Money


def refund_quote(request: Any, now: int) -> RefundQuote:
    """What a return refunds by the shared rule, the host's for lifecycles that predate the
    decision: within `RETURN_WINDOW_MS` of the delivery (when the order's was stamped), the
    returned units' gross (unit price × quantity), less their share of the order's discount,
    and their share of its tax, each share (gross / subtotal; none of a subtotal of 0)
    rounded down; no shipping back and no restocking fee. Exact (ints), in the order's
    currency (its quote's)."""
    if request.delivered_at is not None and now > request.delivered_at + RETURN_WINDOW_MS:
        raise Refusal("return_window_closed", "units are returned within 30 days of delivery", "lines")
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
