"""The rules' own unit tests (`python3 -m unittest`); test_fixtures.py runs fixtures/ through
the rules."""

from __future__ import annotations

import unittest
from types import SimpleNamespace

from orderflow_sdk import Refusal, apply_bp

from rules import parse_params, price

PARAMS = '{"currency": "USD", "tax_bp": 825, "shipping": {"standard": 500}}'


def order(lines):
    """An order of `lines` ((unit price, quantity)), as the bindings give one."""
    return SimpleNamespace(
        items=[
            SimpleNamespace(product=SimpleNamespace(unit_price=SimpleNamespace(minor=minor, currency="USD")), quantity=q)
            for minor, q in lines
        ],
        shipping_method="standard",
        discount_code=None,
    )


class Rules(unittest.TestCase):
    def refusal(self, decide):
        with self.assertRaises(Refusal) as refused:
            decide()
        return refused.exception.problem

    def test_unusable_parameters_are_refused(self):
        for text, why in [
            ('{"currency": "USD", "tax_bp": 10001, "shipping": {}}', "exceeds 100 %"),
            ('{"currency": "USD", "tax_bp": 0, "shipping": {"standard": -1}}', "negative"),
            ('{"currency": "USD", "tax_bp": 0, "shipping": {}, "tax": 5}', "unknown field `tax`"),
            ('{"currency": "USD", "tax_bp": 0, "shipping": {"standard": 5.0}}', "expected i64"),
        ]:
            with self.subTest(params=text):
                refused = self.refusal(lambda: parse_params(text))
                self.assertEqual(refused.code, "invalid_params")
                self.assertIn(why, refused.message)

    def test_rounding_is_half_away_from_zero_once(self):
        self.assertEqual(apply_bp(10, 5_000), 5)
        self.assertEqual(apply_bp(1, 5_000), 1)  # 0.5 → 1
        self.assertEqual(apply_bp(3, 1_666), 0)  # 0.4998 → 0
        self.assertEqual(apply_bp(-3, 5_000), -2)  # -1.5 → -2
        self.assertEqual(apply_bp(5, 5_000), 3)  # 2.5 → 3, where round() would give 2
        self.assertEqual(apply_bp(4749, 825), 392)  # 391.79 → 392

    def test_amounts_beyond_2_53_stay_exact(self):
        big = 2**53 + 1  # not a float
        q = price(parse_params(PARAMS), order([(big, 3)]), 0)
        subtotal = big * 3
        tax = (subtotal * 825 + 5000) // 10000
        self.assertEqual([q.subtotal.minor, q.tax.minor, q.total.minor], [subtotal, tax, subtotal + tax + 500])

    def test_overflow_is_a_refusal_not_a_wrap(self):
        i64_max = 2**63 - 1
        err = self.refusal(lambda: price(parse_params(PARAMS), order([(i64_max // 2, 3)]), 0))
        self.assertEqual(err.code, "amount_overflow")
        # The total overflows even though each part fits.
        err = self.refusal(lambda: price(parse_params(PARAMS), order([(i64_max - 100, 1)]), 0))
        self.assertEqual(err.code, "amount_overflow")


if __name__ == "__main__":
    unittest.main()
