"""The rules' own unit tests (`python3 -m unittest`); test_fixtures.py runs fixtures/ through
the rules."""

from __future__ import annotations

import unittest

from orderflow_sdk import Configured, Refusal

from rules import parse_params


class Rules(unittest.TestCase):
    def refusal(self, decide):
        with self.assertRaises(Refusal) as refused:
            decide()
        return refused.exception.problem

    def test_parameters_must_allow_something(self):
        self.assertEqual(parse_params('{"max_quantity": 1, "payment_methods": ["card"]}').max_quantity, 1)
        nothing = self.refusal(lambda: parse_params('{"max_quantity": 0, "payment_methods": []}'))
        self.assertIn("must allow something", nothing.message)

    def test_parameters_are_read_as_serde_reads_them(self):
        for text, why in [
            ('{"max_quantity": 1, "payment_methods": ["card"], "max_qty": 2}', "unknown field `max_qty`"),
            ('{"max_quantity": 1.0, "payment_methods": ["card"]}', "expected u32"),
            ('{"max_quantity": true, "payment_methods": ["card"]}', "expected u32"),
            ('{"max_quantity": 4294967296, "payment_methods": ["card"]}', "expected u32"),
            ('{"payment_methods": ["card"]}', "missing field `max_quantity`"),
        ]:
            with self.subTest(params=text):
                refused = self.refusal(lambda: parse_params(text))
                self.assertEqual(refused.code, "invalid_params")
                self.assertTrue(refused.message.startswith("validation params: "), refused.message)
                self.assertIn(why, refused.message)

    def test_configured_once_before_any_decision(self):
        rules = Configured(parse_params)
        self.assertEqual(self.refusal(rules.params).code, "not_configured")
        self.assertEqual(self.refusal(lambda: rules.configure("{}")).code, "invalid_params")
        self.assertEqual(self.refusal(rules.params).code, "not_configured")  # a refused configure configures nothing
        rules.configure('{"max_quantity": 1, "payment_methods": ["card"]}')
        self.assertEqual(self.refusal(lambda: rules.configure("{}")).code, "invalid_params")
        again = lambda: rules.configure('{"max_quantity": 2, "payment_methods": ["card"]}')
        self.assertEqual(self.refusal(again).code, "already_configured")
        self.assertEqual(rules.params().max_quantity, 1)


if __name__ == "__main__":
    unittest.main()
