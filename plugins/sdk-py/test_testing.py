"""The fixture runner (orderflow_sdk.testing) on fixtures of its own: a fixture per kind of
answer, through rules of its own."""

from __future__ import annotations

import json
import tempfile
import unittest
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from orderflow_sdk import Refusal, read_params, required, string, struct
from orderflow_sdk.testing import check_fixtures


@dataclass
class Params:
    method: str


@dataclass
class Edge:
    from_: str
    to: str


def _rules() -> ModuleType:
    """A module of rules, as rules.py is one."""
    rules = ModuleType("rules")
    rules.parse_params = lambda text: read_params("pricing", text, struct(Params, {"method": required(string)}))

    def price(params: Params, order, now: int) -> dict:
        if order.shipping_method != params.method:
            raise Refusal("unknown_shipping_method", f"not {order.shipping_method}", "shipping_method")
        return {"method": params.method, "at": now}

    rules.price = price
    rules.validate = lambda params, order, now: [] if order.items else [Refusal("no_items", "none").problem]
    rules.describe = lambda params: [Edge("pending", "confirmed")]

    def allow_change(params: Params, order, change: str, by, now: int) -> None:
        if (order.status, change, by.role, now) != ("pending", "return", "user", 3):
            raise AssertionError(change)

    rules.allow_change = allow_change
    rules.refund = lambda params, order, request, now: {"restocking_fee": now - request.delivered_at}
    return rules


FIXTURES = {
    "params.json": {"method": "standard"},
    "01-price.json": {
        "call": "price",
        "now": 7,
        "args": {"order": {"shipping_method": "standard"}},
        "expect": {"ok": {"method": "standard", "at": 7}},
    },
    "02-refused.json": {
        "call": "price",
        "params": {"method": "express"},
        "args": {"order": {"shipping_method": "standard"}},
        "expect": {"err": {"code": "unknown_shipping_method", "message": "not standard", "field": "shipping_method"}},
    },
    "03-valid.json": {"call": "validate", "args": {"order": {"items": [1]}}, "expect": {"ok": None}},
    "04-problems.json": {
        "call": "validate",
        "args": {"order": {"items": []}},
        "expect": {"err": [{"code": "no_items", "message": "none", "field": None}]},
    },
    "05-describe.json": {"call": "describe", "args": {}, "expect": {"ok": [{"from": "pending", "to": "confirmed"}]}},
    "06-allow-change.json": {
        "call": "allow_change",
        "now": 3,
        "args": {"order": {"status": "pending"}, "change": "return", "by": {"role": "user"}},
        "expect": {"ok": None},
    },
    "07-refund.json": {
        "call": "refund",
        "now": 4,
        "args": {"order": {"status": "delivered"}, "request": {"delivered_at": 1}},
        "expect": {"ok": {"restocking_fee": 3}},
    },
}


class Testing(unittest.TestCase):
    def fixtures(self, fixtures: dict) -> Path:
        scratch = tempfile.TemporaryDirectory()
        self.addCleanup(scratch.cleanup)
        directory = Path(scratch.name)
        for name, value in fixtures.items():
            (directory / name).write_text(json.dumps(value))
        return directory

    def test_every_fixture_passes_through_the_rules(self):
        check_fixtures(self, self.fixtures(FIXTURES), _rules())

    def test_a_wrong_answer_or_no_fixture_fails(self):
        wrong = {**FIXTURES, "01-price.json": {**FIXTURES["01-price.json"], "now": 8}}
        for fixtures, failures in [(wrong, 1), ({"params.json": {}}, 1)]:
            directory = self.fixtures(fixtures)

            class Case(unittest.TestCase):
                def test(self):
                    check_fixtures(self, directory, _rules())

            result = unittest.TestResult()
            Case("test").run(result)
            self.assertEqual((len(result.failures), len(result.errors)), (failures, 0))


if __name__ == "__main__":
    unittest.main()
