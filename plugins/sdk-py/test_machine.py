"""A lifecycle's building blocks (orderflow_sdk.machine), as the Rust SDK's `machine` module
has them."""

from __future__ import annotations

import unittest
from types import SimpleNamespace

from orderflow_sdk import Problem, Refusal
from orderflow_sdk.machine import (
    ADMIN,
    CANCELLED,
    CONFIRMED,
    PAID,
    PENDING,
    REFUNDED,
    SHIPPED,
    USER,
    Transition,
    change_payment,
    created,
    edge,
    permitted,
    state_machine,
    status_transition,
)

MACHINE = state_machine(
    [PENDING, CONFIRMED, SHIPPED, CANCELLED, REFUNDED],
    [edge(PENDING, CONFIRMED, [ADMIN]), edge(PENDING, CANCELLED, [ADMIN, USER]), edge(CONFIRMED, SHIPPED, [ADMIN])],
)
ADMIN_ = SimpleNamespace(role=ADMIN)
USER_ = SimpleNamespace(role=USER)


def order(status: str, payment_status: str) -> SimpleNamespace:
    return SimpleNamespace(status=status, payment_status=payment_status)


def change(to: str, tracking_number: str | None = None) -> SimpleNamespace:
    return SimpleNamespace(to=to, tracking_number=tracking_number)


class Machine(unittest.TestCase):
    def refusal(self, decide) -> Problem:
        with self.assertRaises(Refusal) as refused:
            decide()
        return refused.exception.problem

    def test_a_machine_has_the_shared_statuses_and_a_refund_from_every_status(self):
        self.assertEqual(MACHINE.final_statuses, ["delivered", "cancelled", "refunded"])
        self.assertEqual(MACHINE.payment_statuses, ["pending", "paid", "failed", "refunded"])
        refunds = [e.from_ for e in MACHINE.status_edges if e.to == REFUNDED]
        self.assertEqual(refunds, [PENDING, CONFIRMED, SHIPPED, CANCELLED])
        self.assertEqual(len(MACHINE.payment_edges), 4)

    def test_moves_along_the_edges_by_their_roles_stamped_and_announced(self):
        self.assertEqual(created(), Transition(PENDING, PENDING, [], ["order.created"]))
        permitted(MACHINE.status_edges, PENDING, CANCELLED, USER_, "status", "an order")
        self.assertEqual(
            self.refusal(lambda: permitted(MACHINE.status_edges, CONFIRMED, CANCELLED, USER_, "status", "an order")),
            Problem("invalid_transition", "an order cannot go from confirmed to cancelled", "status"),
        )
        only_admin = self.refusal(
            lambda: permitted(MACHINE.status_edges, PENDING, CONFIRMED, USER_, "status", "an order")
        )
        self.assertEqual(only_admin.message, "only an admin may move an order from pending to confirmed")
        self.assertEqual(
            status_transition(order(PENDING, PENDING), change(CONFIRMED)),
            Transition(CONFIRMED, PENDING, ["confirmed_at"], ["order.confirmed"]),
        )
        blank = self.refusal(lambda: status_transition(order(CONFIRMED, PAID), change(SHIPPED, " \u3000")))
        self.assertEqual(blank.code, "tracking_number_required")
        self.assertEqual(status_transition(order(CONFIRMED, PAID), change(SHIPPED, "1Z")).stamps, ["shipped_at"])
        self.assertEqual(status_transition(order(CONFIRMED, PAID), change("on_hold")).events, [])

    def test_payments_and_refunds(self):
        edges = MACHINE.payment_edges
        self.assertEqual(
            change_payment(edges, order(CONFIRMED, PENDING), change(PAID), ADMIN_),
            Transition(CONFIRMED, PAID, ["paid_at"], ["order.payment_completed"]),
        )
        self.assertEqual(
            self.refusal(lambda: change_payment(edges, order(CANCELLED, PENDING), change(PAID), ADMIN_)).code,
            "order_closed",
        )
        not_allowed = self.refusal(lambda: change_payment(edges, order(PENDING, PENDING), change(PAID), USER_))
        self.assertEqual(not_allowed.code, "not_allowed")
        self.assertEqual(
            self.refusal(lambda: status_transition(order(SHIPPED, PENDING), change(REFUNDED))).code,
            "refund_requires_payment",
        )
        self.assertEqual(change_payment(edges, order(SHIPPED, PAID), change(REFUNDED), ADMIN_).status, REFUNDED)


if __name__ == "__main__":
    unittest.main()
