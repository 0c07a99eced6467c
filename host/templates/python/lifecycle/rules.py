"""The lifecycle rules, in plain Python: unit-tested natively (`python3 -m unittest`), run by
the host through the component (app.py). A small shop's order life to start from:

    pending ──▶ confirmed ──▶ shipped ──▶ delivered      (admin; shipping needs a tracking
       │            │                                     number, and with `pay_before_shipping`
       └────────────┴──▶ cancelled                        a paid order)
                                                         (the customer: only while pending)
    any status but refunded ──▶ refunded                 (admin, only once paid)
    payment: pending ──▶ paid | failed,  failed ──▶ paid,  paid ──▶ refunded   (admin)

A placed order changes by the shared rules (`allow_change`, `within_window`,
`returned_share`): with no `processing` in this machine, its lines and discount code may
change until a final status, its address, shipping method and units (cancelled) until it
ships; a delivered order's units are returned within 30 days, for their share of what was
paid.

The host checks every answer against `describe`: a status or payment status it does not
list, or a move along no edge, is a fault. Statuses, events (`order.<name>`) and timestamps
(`<name>_at`) are yours to name; the SDK's `orderflow_sdk.machine` names the statuses the
shipped workflows share and has their rules: how an order is created, what each status
stamps and announces, payments, refunds, shipping, what may change when and what a return
refunds. Add a fixture for each rule in fixtures/.

Records are read with the attribute names componentize-py's bindings give them
(`order.payment_status`, None for an absent option).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orderflow_sdk as sdk
from orderflow_sdk import Refusal, boolean, machine, optional, read_params, struct
from orderflow_sdk.machine import (
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
    edge,
)

STATUSES = [PENDING, CONFIRMED, SHIPPED, DELIVERED, CANCELLED, REFUNDED]


@dataclass
class Params:
    """The `[lifecycle.params]` table of a workflow using this plugin (fixtures/params.json
    for the fixtures)."""

    # Only a paid order ships.
    pay_before_shipping: bool


_params = struct(Params, {"pay_before_shipping": optional(boolean, lambda: False)})


def parse_params(text: str) -> Params:
    """The parameters made of the workflow's JSON. Parameters the rules cannot work with are
    refused here (a raised `Refusal`): a workflow that gives them fails to load, rather than
    failing its orders."""
    return read_params("lifecycle", text, _params)


def describe(params: Params) -> machine.Machine:
    """The state machine: who may move an order from which status to which
    (`state_machine` adds the refunds and the payment's moves). It does not depend on the
    parameters."""
    return machine.state_machine(
        STATUSES,
        [
            edge(PENDING, CONFIRMED, [ADMIN]),
            edge(CONFIRMED, SHIPPED, [ADMIN]),
            edge(SHIPPED, DELIVERED, [ADMIN]),
            edge(PENDING, CANCELLED, [USER, ADMIN]),
            edge(CONFIRMED, CANCELLED, [ADMIN]),
        ],
    )


def create(params: Params, order: Any, now: int) -> machine.Transition:
    """A new order's statuses, stamps and events: the shared ones."""
    return machine.created()


def change_status(params: Params, order: Any, change: Any, by: Any, now: int) -> machine.Transition:
    """A status change: refused unless it follows one of the machine's edges by one of its
    roles; then this plugin's own rule, then the shared statuses' answer."""
    machine.permitted(describe(params).status_edges, order.status, change.to, by, "status", "an order")
    if change.to == SHIPPED and params.pay_before_shipping and order.payment_status != PAID:
        sdk.info(f"order {order.id} held: payment is {order.payment_status}, and pay_before_shipping is set")
        raise Refusal("payment_required", "an order ships once it is paid", "status")
    return machine.status_transition(order, change)


def change_payment(params: Params, order: Any, change: Any, by: Any, now: int) -> machine.Transition:
    """A payment change: the shared payment rules, along the machine's payment edges."""
    return machine.change_payment(describe(params).payment_edges, order, change, by)


def allow_change(params: Params, order: Any, change: str, by: Any, now: int) -> None:
    """May `by` change this part (`change`) of a placed order now? The shared rule, by this
    machine: the items until `processing`, the delivery and cancellations until `shipped`."""
    machine.allow_change(describe(params), order.status, change, PROCESSING, SHIPPED)


def refund(params: Params, order: Any, request: Any, now: int) -> machine.RefundQuote:
    """What a return refunds: the shared rule, within 30 days of delivery the units' share of
    what was paid, with no shipping back and no restocking fee."""
    machine.within_window(request, now, RETURN_WINDOW_DAYS)
    return machine.returned_share(request)
