"""A lifecycle's building blocks (orderflow_sdk.machine), as the Rust SDK's `machine` module
has them."""

from __future__ import annotations

import unittest
from types import SimpleNamespace

from orderflow_sdk import Money, Problem, Refusal
from orderflow_sdk.machine import (
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
    Transition,
    allow_change,
    change_payment,
    created,
    edge,
    permitted,
    returned_share,
    state_machine,
    status_transition,
    within_window,
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
        self.assertEqual(MACHINE.payment_statuses, ["pending", "paid", "failed", "partially_refunded", "refunded"])
        refunds = [e.from_ for e in MACHINE.status_edges if e.to == REFUNDED]
        self.assertEqual(refunds, [PENDING, CONFIRMED, SHIPPED, CANCELLED])
        self.assertEqual(len(MACHINE.payment_edges), 5)

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
        # A return refunded part of it: the rest is refunded as a paid order's would be.
        rest = change_payment(edges, order(DELIVERED, PARTIALLY_REFUNDED), change(REFUNDED), ADMIN_)
        self.assertEqual(rest.stamps, ["refunded_at"])
        refunded = status_transition(order(DELIVERED, PARTIALLY_REFUNDED), change(REFUNDED))
        self.assertEqual(refunded.payment_status, REFUNDED)


    def test_what_may_change_when(self):
        """The items until one status, delivery and cancellations until another."""
        full = state_machine([PENDING, CONFIRMED, PROCESSING, SHIPPED, DELIVERED, CANCELLED, REFUNDED], [])
        allow = lambda m, status, kind: allow_change(m, status, kind, PROCESSING, SHIPPED)
        refused = lambda m, status, kind: self.refusal(lambda: allow(m, status, kind))
        for status in [PENDING, CONFIRMED]:
            self.assertIsNone(allow(full, status, ITEMS))
        self.assertEqual(
            refused(full, PROCESSING, ITEMS),
            Problem(
                "change_not_allowed",
                "the items and the discount code may change until the order is `processing`; it is `processing`",
            ),
        )
        self.assertIsNone(allow(full, PROCESSING, DELIVERY))
        self.assertIsNone(allow(full, PROCESSING, CANCELLATION))
        self.assertTrue(
            refused(full, SHIPPED, DELIVERY).message.startswith("the shipping address and method may change until")
        )
        cancelled = "items may be cancelled until the order is `shipped`; it is `shipped`"
        self.assertEqual(refused(full, SHIPPED, CANCELLATION).message, cancelled)
        for status in [DELIVERED, CANCELLED, REFUNDED]:
            final = f"an order that is `{status}` does not change any more"
            self.assertEqual(refused(full, status, DELIVERY).message, final)
        # Statuses of the rules' choosing: the items until confirmed.
        until_confirmed = self.refusal(lambda: allow_change(full, CONFIRMED, ITEMS, CONFIRMED, SHIPPED))
        self.assertEqual(until_confirmed.code, "change_not_allowed")
        # A status the machine does not list is not after any.
        self.assertIsNone(allow(full, "on_hold", ITEMS))
        # Without `processing`, the items change until a final status.
        self.assertIsNone(allow(MACHINE, SHIPPED, ITEMS))
        self.assertEqual(refused(MACHINE, CANCELLED, ITEMS).code, "change_not_allowed")

    def test_only_a_delivered_order_s_units_are_returned(self):
        full = state_machine([PENDING, SHIPPED, DELIVERED, REFUNDED], [])
        self.assertIsNone(allow_change(full, DELIVERED, RETURN, PROCESSING, SHIPPED))
        for status in [SHIPPED, REFUNDED]:
            self.assertEqual(
                self.refusal(lambda: allow_change(full, status, RETURN, PROCESSING, SHIPPED)),
                Problem("change_not_allowed", f"only a delivered order's items are returned; it is `{status}`"),
            )

    def test_a_return_s_share_of_the_lines_and_the_tax_rounded_down(self):
        # 2 × 1500 of a 10000 subtotal: 3/10 of the discount (299.7) and of the tax (247.5).
        quote = returned_share(returned([(1500, 2)], 0, (10000, 825, 999)))
        self.assertEqual(amounts(quote), [2701, 247, 0, 0, 2948])
        self.assertEqual(quote.restocking_fee, Money(0, "USD"))
        # Of a subtotal of 0, the units have no share of the discount or the tax.
        self.assertEqual(amounts(returned_share(returned([(1500, 1)], None, (0, 825, 100)))), [1500, 0, 0, 0, 1500])
        # Exact beyond a double's 2^53: 3 units of 2^53 + 1, of a subtotal of twice that and 7.
        big = 2**53 + 1
        subtotal = 6 * big + 7
        exact = returned_share(returned([(big, 3)], None, (subtotal, subtotal // 10 + 3, subtotal // 4 + 1)))
        self.assertEqual(amounts(exact), [20266198323167234, 2702159776422299, 0, 0, 22968358099589533])

    def test_units_are_returned_within_the_window_s_days_of_delivery(self):
        at, day = 1795608000000, 24 * 60 * 60 * 1000
        request = returned([(1500, 1)], at, (1500, 0, 0))
        self.assertIsNone(within_window(request, at + RETURN_WINDOW_DAYS * day, RETURN_WINDOW_DAYS))
        self.assertEqual(
            self.refusal(lambda: within_window(request, at + RETURN_WINDOW_DAYS * day + 1, RETURN_WINDOW_DAYS)),
            Problem("return_window_closed", "units are returned within 30 days of delivery", "lines"),
        )
        week = self.refusal(lambda: within_window(request, at + 8 * day, 7))
        self.assertEqual(week.message, "units are returned within 7 days of delivery")
        # An order whose delivery was not stamped has no window.
        self.assertIsNone(within_window(returned([(1500, 1)], None, (1500, 0, 0)), 2**63 - 1, 1))


def usd(minor: int) -> SimpleNamespace:
    return SimpleNamespace(minor=minor, currency="USD")


def returned(lines, delivered_at, amounts) -> SimpleNamespace:
    subtotal, tax, discount = amounts
    return SimpleNamespace(
        lines=[
            SimpleNamespace(product_id="p", quantity=quantity, unit_price=usd(unit), reason=None)
            for unit, quantity in lines
        ],
        delivered_at=delivered_at,
        subtotal=usd(subtotal),
        tax=usd(tax),
        shipping=usd(500),
        discount=usd(discount),
        refunded=usd(0),
        everything=False,
    )


def amounts(quote) -> list[int]:
    return [m.minor for m in (quote.items, quote.tax, quote.shipping, quote.restocking_fee, quote.total)]


if __name__ == "__main__":
    unittest.main()
