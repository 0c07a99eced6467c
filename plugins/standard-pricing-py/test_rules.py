"""The rules run directly, in CPython (`python3 -m unittest`, with the SDK on the path): the
Rust rule's fixtures through the rules, and the Rust rule's own unit tests
(plugins/standard-pricing/src/rules.rs), ported. `orderflow plugin test` runs the same
fixtures through the built component."""

from __future__ import annotations

import unittest
from pathlib import Path

from orderflow_sdk.testing import check_fixtures, record

import rules
from rules import Refusal, apply_bp, parse_params, price

# Where the rule's fixtures/ and unit-params.json are: in orderflow's repository, beside the
# Rust rule, whose ports share them; in a project `orderflow plugin new --from
# standard-pricing` wrote, in the project.
RULE = Path(__file__).resolve().parent.parent / "standard-pricing"


class Fixtures(unittest.TestCase):
    def test_every_fixture(self):
        check_fixtures(self, RULE / "fixtures", rules)


# The Rust rule's unit tests (plugins/standard-pricing/src/rules.rs), ported.

NOW = 1_764_000_000_000


def params() -> rules.Params:
    # The Rust rule's unit-test parameters.
    return parse_params((RULE / "unit-params.json").read_text())


def order(lines, state, method, code=None):
    return record(
        {
            "user_id": "u1",
            "items": [
                {
                    "product": {
                        "product_id": f"p{i}",
                        "name": "Thing",
                        "sku": f"SKU{i}",
                        "unit_price": {"minor": minor, "currency": "USD"},
                        "stock": 100,
                        "active": True,
                    },
                    "quantity": quantity,
                }
                for i, (minor, quantity) in enumerate(lines)
            ],
            "shipping_address": {
                "full_name": "Ada",
                "address_line_1": "1 Main St",
                "address_line_2": None,
                "city": "Springfield",
                "state": state,
                "postal_code": "94105",
                "country": "US",
                "phone": None,
            },
            "shipping_method": method,
            "payment_method": "card",
            "discount_code": code,
        }
    )


def minor(q: rules.Quote) -> list[int]:
    return [q.subtotal.minor, q.tax.minor, q.shipping.minor, q.discount.minor, q.total.minor]


class Rules(unittest.TestCase):
    def refusal(self, decide) -> rules.Problem:
        with self.assertRaises(Refusal) as refused:
            decide()
        return refused.exception.problem

    def test_subtotal_regional_tax_and_paid_shipping(self):
        q = price(params(), order([(1000, 2), (250, 1)], "CA", "standard"), NOW)
        # 2250 × 7.25 % = 163.125 → 163
        self.assertEqual(minor(q), [2250, 163, 599, 0, 3012])

    def test_country_rate_when_region_has_none(self):
        q = price(params(), order([(1000, 1)], "NY", "express"), NOW)
        self.assertEqual(minor(q), [1000, 50, 1499, 0, 2549])

    def test_no_tax_where_no_rate(self):
        o = order([(1000, 1)], "", "standard")
        o.shipping_address.country = "DE"
        self.assertEqual(minor(price(params(), o, NOW)), [1000, 0, 599, 0, 1599])

    def test_rounding_is_half_away_from_zero(self):
        self.assertEqual(apply_bp(10, 5_000), 5)
        self.assertEqual(apply_bp(1, 5_000), 1)  # 0.5 → 1
        self.assertEqual(apply_bp(3, 1_666), 0)  # 0.4998 → 0
        self.assertEqual(apply_bp(-1, 5_000), -1)
        self.assertEqual(apply_bp(-3, 5_000), -2)  # -1.5 → -2
        self.assertEqual(apply_bp(5, 5_000), 3)  # 2.5 → 3, where round() would give 2

    def test_amounts_beyond_2_53_stay_exact(self):
        big = 2**53 + 1
        q = price(params(), order([(big, 3)], "CA", "express"), NOW)
        subtotal = big * 3
        tax = (subtotal * 725 + 5000) // 10000
        self.assertEqual(minor(q), [subtotal, tax, 1499, 0, subtotal + tax + 1499])

    def test_free_standard_shipping_over_threshold_after_discount(self):
        self.assertEqual(price(params(), order([(5000, 1)], "NY", "standard"), NOW).shipping.minor, 0)
        # 10 % off takes the subtotal below the threshold: shipping is paid again.
        q = price(params(), order([(5000, 1)], "NY", "standard", "ten"), NOW)
        self.assertEqual(minor(q), [5000, 225, 599, 500, 5324])
        # Express is never free.
        self.assertEqual(price(params(), order([(9000, 1)], "NY", "express"), NOW).shipping.minor, 1499)

    def test_discount_rules(self):
        p = params()

        def code(c, lines):
            return price(p, order(lines, "NY", "express", c), NOW)

        self.assertEqual(self.refusal(lambda: code("NOPE", [(1000, 1)])).code, "unknown_discount_code")
        self.assertEqual(self.refusal(lambda: code("LATER", [(1000, 1)])).code, "discount_not_yet_valid")
        self.assertEqual(self.refusal(lambda: code("GONE", [(1000, 1)])).code, "discount_expired")
        self.assertEqual(
            self.refusal(lambda: code("FIVE", [(1999, 1)])),
            rules.Problem(
                "discount_minimum_not_met",
                "this discount code needs a subtotal of at least 2000 minor units",
                "discount_code",
            ),
        )
        self.assertEqual(code("FIVE", [(2000, 1)]).discount.minor, 500)
        # Matched ignoring ASCII case and surrounding white space; shown upper-cased as given.
        self.assertEqual(code(" five\u3000", [(2000, 1)]).applied[0].rule, "discount: FIVE\u3000")
        self.assertEqual(self.refusal(lambda: code("fıve", [(2000, 1)])).code, "unknown_discount_code")
        self.assertEqual(self.refusal(lambda: code("\x1cFIVE", [(2000, 1)])).code, "unknown_discount_code")
        # A fixed discount never exceeds the subtotal, so the total never goes negative.
        p.discounts["FIVE"].min_subtotal = 0
        self.assertEqual(minor(code("FIVE", [(300, 1)])), [300, 0, 1499, 300, 1499])

    def test_unknown_method_and_foreign_currency_are_typed_errors(self):
        err = self.refusal(lambda: price(params(), order([(100, 1)], "NY", "drone"), NOW))
        self.assertEqual((err.code, err.field), ("unknown_shipping_method", "shipping_method"))
        self.assertEqual(err.message, "shipping method `drone` is not offered (offered: express, standard)")
        o = order([(100, 1), (100, 1)], "NY", "standard")
        o.items[1].product.unit_price.currency = "EUR"
        err = self.refusal(lambda: price(params(), o, NOW))
        self.assertEqual((err.code, err.field), ("currency_not_supported", "items[1]"))

    def test_overflow_is_an_error_not_a_wrap(self):
        i64_max = 2**63 - 1
        err = self.refusal(lambda: price(params(), order([(i64_max // 2, 3)], "NY", "standard"), NOW))
        self.assertEqual(err.code, "amount_overflow")
        # The total overflows even though each part fits.
        err = self.refusal(lambda: price(params(), order([(i64_max - 100, 1)], "NY", "standard"), NOW))
        self.assertEqual(err.code, "amount_overflow")

    def test_bad_params_are_refused(self):
        for text in [
            '{"currency":"usd","shipping":{"rates":{}}}',
            '{"currency":"USD","shipping":{"rates":{"standard":-1}}}',
            '{"currency":"USD","shipping":{"rates":{}},"discounts":{"X":{"percent_bp":10,"fixed":5}}}',
            '{"currency":"USD","shipping":{"rates":{}},"surprise":1}',
            # and what serde refuses on the way in
            '{"currency":"USD","shipping":{"rates":{"standard":5.0}}}',
            '{"currency":"USD","shipping":{"rates":{"standard":-0}}}',
            '{"currency":"USD","shipping":{"rates":{"standard":NaN}}}',
            '{"currency":"USD","shipping":{"rates":{"standard":true}}}',
            '{"currency":"USD","shipping":{"rates":{"standard":9223372036854775808}}}',
            '{"currency":"USD","shipping":{"rates":{}},"tax":[{"country":"US","rate_bp":-1}]}',
            '{"currency":"USD","shipping":{"rates":{}},"tax":null}',
            '{"currency":"USD","currency":"USD","shipping":{"rates":{}}}',
            '{"currency":"USD"}',
            '{"currency":"USD","shipping":{"rates":{}}} x',
            "[]",
            "[" * 100_000,
        ]:
            with self.subTest(params=text[:80]):
                err = self.refusal(lambda: parse_params(text))
                self.assertEqual((err.code, err.field), ("invalid_params", None))
        self.assertEqual(
            self.refusal(lambda: parse_params('{"currency":"USD","shipping":{"rates":{}},"surprise":1}')).message,
            "pricing params: unknown field `surprise`, expected one of `currency`, `shipping`, `tax`, `discounts`",
        )
        self.assertEqual(
            self.refusal(
                lambda: parse_params(
                    '{"currency":"USD","shipping":{"rates":{}},"tax":[{"country":"US","rate_bp":10001}]}'
                )
            ).message,
            "tax rate of US exceeds 100 %",
        )

    def test_params_defaults_nulls_and_order(self):
        p = parse_params(
            '{"currency":"USD","shipping":{"rates":{"b":1,"a":2,"b":3},"free_over":null},'
            '"discounts":{"X":{"fixed":9007199254740993,"valid_from":null}}}'
        )
        self.assertEqual(list(p.shipping.rates.items()), [("a", 2), ("b", 3)])  # sorted; the later b wins
        self.assertEqual(p.shipping.free_methods, ["standard"])
        self.assertIsNone(p.shipping.free_over)
        self.assertEqual(p.tax, [])
        self.assertEqual(p.discounts["X"].fixed, 9007199254740993)
        self.assertEqual(p.discounts["X"].min_subtotal, 0)


if __name__ == "__main__":
    unittest.main()
