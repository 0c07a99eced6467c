"""The rules' own unit tests (`python3 -m unittest`); test_fixtures.py runs fixtures/ through
the rules."""

from __future__ import annotations

import unittest
from types import SimpleNamespace

from orderflow_sdk import Refusal

from rules import allow_change, change_payment, change_status, describe, parse_params, refund

ADMIN = SimpleNamespace(id="admin-1", role="admin")


def order(status, payment_status):
    return SimpleNamespace(status=status, payment_status=payment_status, tracking_number=None)


def change(to, tracking_number=None):
    return SimpleNamespace(to=to, tracking_number=tracking_number, carrier=None, reason=None)


class Rules(unittest.TestCase):
    def refusal(self, decide):
        with self.assertRaises(Refusal) as refused:
            decide()
        return refused.exception.problem

    def test_the_machine_hangs_together(self):
        """Every status is reachable from pending, and every edge joins known statuses."""
        m = describe(parse_params("{}"))
        reached = ["pending"]
        while e := next((e for e in m.status_edges if e.from_ in reached and e.to not in reached), None):
            reached.append(e.to)
        self.assertEqual(sorted(reached), sorted(m.statuses))

    def test_unknown_parameters_are_refused(self):
        refused = self.refusal(lambda: parse_params('{"pay_before_shiping": true}'))
        self.assertEqual(refused.code, "invalid_params")
        self.assertIn("unknown field `pay_before_shiping`, expected `pay_before_shipping`", refused.message)

    def test_the_shared_rules(self):
        p = parse_params("{}")

        def ship(tracking):
            return change_status(p, order("confirmed", "pending"), change("shipped", tracking), ADMIN, 0)

        self.assertEqual(self.refusal(lambda: ship(" \x85")).code, "tracking_number_required")
        self.assertEqual(ship("1Z").stamps, ["shipped_at"])  # unpaid ships without pay_before_shipping
        refund = lambda: change_status(p, order("delivered", "pending"), change("refunded"), ADMIN, 0)
        self.assertEqual(self.refusal(refund).code, "refund_requires_payment")
        pay = lambda status: change_payment(p, order(status, "pending"), SimpleNamespace(to="paid"), ADMIN, 0)
        self.assertEqual(pay("confirmed").events, ["order.payment_completed"])
        self.assertEqual(self.refusal(lambda: pay("cancelled")).code, "order_closed")
        skip = lambda: change_status(p, order("pending", "pending"), change("delivered"), ADMIN, 0)
        self.assertEqual(
            (self.refusal(skip).code, self.refusal(skip).message),
            ("invalid_transition", "an order cannot go from pending to delivered"),
        )

    def test_the_change_decisions(self):
        """What may change when, what a return refunds."""
        p = parse_params("{}")
        user = SimpleNamespace(id="user-1", role="user")
        allow = lambda status, kind: allow_change(p, order(status, "paid"), kind, user, 0)
        self.assertIsNone(allow("shipped", "items"))  # no `processing` in this machine
        self.assertEqual(self.refusal(lambda: allow("shipped", "delivery")).code, "change_not_allowed")
        self.assertEqual(self.refusal(lambda: allow("cancelled", "items")).code, "change_not_allowed")
        self.assertIsNone(allow("delivered", "return"))
        usd = lambda minor: SimpleNamespace(minor=minor, currency="USD")
        day = 24 * 60 * 60 * 1000
        request = SimpleNamespace(
            lines=[SimpleNamespace(product_id="p1", quantity=2, unit_price=usd(1250), reason=None)],
            delivered_at=0,
            subtotal=usd(2500),
            tax=usd(206),
            shipping=usd(500),
            discount=usd(0),
            refunded=usd(0),
            everything=True,
        )
        delivered = SimpleNamespace(status="delivered", payment_status="paid", total=usd(3206))
        quote = refund(p, delivered, request, 30 * day)
        self.assertEqual((quote.items.minor, quote.tax.minor, quote.total.minor), (2500, 206, 2706))
        late = self.refusal(lambda: refund(p, delivered, request, 30 * day + 1))
        self.assertEqual((late.code, late.field), ("return_window_closed", "lines"))


if __name__ == "__main__":
    unittest.main()
