"""What every plugin needs (orderflow_sdk): refusals, the parameters read as serde reads them,
exact money, configure once, log lines."""

from __future__ import annotations

import io
import unittest
from contextlib import redirect_stderr
from dataclasses import dataclass
from enum import Enum
from types import SimpleNamespace
from typing import Any, Optional

import orderflow_sdk as sdk
from orderflow_sdk import (
    Configured,
    Problem,
    Refusal,
    apply_bp,
    boolean,
    checked,
    i64,
    mapping,
    option,
    optional,
    read_params,
    required,
    sequence,
    string,
    struct,
    u32,
)


@dataclass
class Params:
    currency: str
    rates: dict[str, int]
    tags: list[str]
    cap: Optional[int]
    strict: bool


PARAMS = struct(
    Params,
    {
        "currency": required(string),
        "rates": required(mapping(i64)),
        "tags": optional(sequence(string), list),
        "cap": optional(option(u32), lambda: None),
        "strict": optional(boolean, lambda: False),
    },
)


def read(text: str) -> Params:
    return read_params("pricing", text, PARAMS)


class Sdk(unittest.TestCase):
    def refusal(self, decide) -> Problem:
        with self.assertRaises(Refusal) as refused:
            decide()
        return refused.exception.problem

    def test_a_refusal_is_the_contracts_problem(self):
        refused = Refusal("unknown_code", "no such code", "discount_code")
        self.assertEqual(refused.problem, Problem("unknown_code", "no such code", "discount_code"))
        self.assertIsNone(Refusal("x", "why").problem.field)

    def test_the_parameters_are_read_as_serde_reads_them(self):
        p = read('{"currency": "USD", "rates": {"b": 1, "a": 9007199254740993, "b": 3}}')
        self.assertEqual(p, Params("USD", {"a": 9007199254740993, "b": 3}, [], None, False))
        self.assertEqual(list(p.rates), ["a", "b"])  # sorted; the later b wins
        self.assertEqual(read('{"currency": "USD", "rates": {}, "cap": 7}').cap, 7)
        for text, why in [
            ('{"currency": "USD"}', "missing field `rates`"),
            (
                '{"currency": "USD", "rates": {}, "x": 1}',
                "unknown field `x`, expected one of `currency`, `rates`, `tags`, `cap`, `strict`",
            ),
            ('{"currency": "USD", "currency": "USD", "rates": {}}', "duplicate field `currency`"),
            ('{"currency": 5, "rates": {}}', "invalid type: integer `5`, expected a string"),
            ('{"currency": true, "rates": {}}', "invalid type: boolean `true`, expected a string"),
            ('{"currency": "USD", "rates": {"a": 5.0}}', "invalid type: floating point `5.0`, expected i64"),
            ('{"currency": "USD", "rates": {"a": -0}}', "invalid type: floating point `-0.0`, expected i64"),
            (
                '{"currency": "USD", "rates": {"a": 9223372036854775808}}',
                "invalid value: integer `9223372036854775808`, expected i64",
            ),
            ('{"currency": "USD", "rates": {}, "cap": -1}', "invalid value: integer `-1`, expected u32"),
            ('{"currency": "USD", "rates": []}', "invalid type: sequence, expected a map"),
            ('{"currency": "USD", "rates": {}, "tags": "a"}', 'invalid type: string "a", expected a sequence'),
            ('{"currency": "USD", "rates": {}, "tags": {}}', "invalid type: map, expected a sequence"),
            ('{"currency": "USD", "rates": {}, "strict": null}', "invalid type: null, expected a boolean"),
            ("[]", "invalid type: sequence, expected struct Params"),
        ]:
            with self.subTest(params=text):
                problem = self.refusal(lambda: read(text))
                self.assertEqual((problem.code, problem.field), ("invalid_params", None))
                self.assertEqual(problem.message, f"pricing params: {why}")
        for text in ["{", '{"a": NaN}', "[" * 100_000]:
            with self.subTest(params=text[:10]):
                self.assertEqual(self.refusal(lambda: read(text)).code, "invalid_params")

    def test_configured_once_before_any_decision(self):
        rules = Configured(read)
        self.assertIsNone(rules.peek())
        self.assertEqual(self.refusal(rules.params).code, "not_configured")
        self.assertEqual(self.refusal(lambda: rules.configure("{}")).code, "invalid_params")
        self.assertIsNone(rules.peek())  # a refused configure configures nothing
        rules.configure('{"currency": "EUR", "rates": {}}')
        self.assertEqual(rules.params().currency, "EUR")
        twice = self.refusal(lambda: rules.configure('{"currency": "USD", "rates": {}}'))
        self.assertEqual(twice.code, "already_configured")
        self.assertEqual(rules.params().currency, "EUR")

    def test_money_is_exact_and_an_amount_beyond_an_s64_is_refused(self):
        i64_max = 2**63 - 1
        self.assertEqual(checked(i64_max), i64_max)
        self.assertEqual(self.refusal(lambda: checked(i64_max + 1)).code, "amount_overflow")
        self.assertEqual(self.refusal(lambda: checked(-i64_max - 2)).code, "amount_overflow")
        self.assertEqual(apply_bp(10, 5_000), 5)
        self.assertEqual(apply_bp(1, 5_000), 1)  # 0.5 → 1
        self.assertEqual(apply_bp(5, 5_000), 3)  # 2.5 → 3, where round() would give 2
        self.assertEqual(apply_bp(-3, 5_000), -2)  # -1.5 → -2
        self.assertEqual(apply_bp(3, 1_666), 0)

    def test_log_lines_go_to_the_hosts_log_once_it_is_handed_over(self):
        with redirect_stderr(io.StringIO()) as stderr:
            sdk.info("natively")
        self.assertEqual(stderr.getvalue(), "info: natively\n")
        lines: list[Any] = []
        bindings = SimpleNamespace(
            Level=Enum("Level", ["DEBUG", "INFO", "WARN", "ERROR"]),
            log=lambda level, message: lines.append((level.name, message)),
        )
        sdk.log_to(bindings)
        try:
            sdk.debug("d")
            sdk.info("code SAVE10 applied")
            sdk.warn("w")
            sdk.error("e")
        finally:
            sdk.log_to(None)
        self.assertEqual(lines, [("DEBUG", "d"), ("INFO", "code SAVE10 applied"), ("WARN", "w"), ("ERROR", "e")])


if __name__ == "__main__":
    unittest.main()
