"""What this port has beyond the project `orderflow plugin new --from standard-pricing --lang
python` makes of it (`python3 -m unittest`, with the SDK on the path): the component's glue
(app.py) run on the bindings' own records, which build.sh writes into bindings/, and the
build tool pinned as plugins/toolchains.sh pins it."""

from __future__ import annotations

import dataclasses
import importlib
import json
import re
import sys
import unittest
from pathlib import Path
from typing import Any

from orderflow_sdk.testing import load

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
FIXTURES = REPO / "plugins" / "standard-pricing" / "fixtures"
SHARED_PARAMS = (FIXTURES / "params.json").read_text()
FIXTURE_PATHS = sorted(p for p in FIXTURES.glob("*.json") if p.name != "params.json")


def fixture_params(fixture: dict) -> str:
    return SHARED_PARAMS if "params" not in fixture else json.dumps(fixture["params"])


BINDINGS = HERE / "bindings"


@unittest.skipUnless((BINDINGS / "wit_world").is_dir(), "no bindings/: run build.sh first")
class Glue(unittest.TestCase):
    """app.py with the bindings' own records, as the component runs it."""

    def setUp(self):
        if str(BINDINGS) not in sys.path:
            sys.path.insert(0, str(BINDINGS))
        self.types = importlib.import_module("wit_world.imports.types")
        self.Err = importlib.import_module("componentize_py_types").Err
        sys.modules.pop("app", None)  # a fresh instance: its module state unconfigured
        self.app = importlib.import_module("app")

    def order(self, raw: dict) -> Any:
        t = self.types

        def money(m):
            return t.Money(minor=m["minor"], currency=m["currency"])

        return t.OrderDraft(
            user_id=raw["user_id"],
            items=[
                t.LineItem(
                    product=t.ProductSnapshot(
                        **{
                            # Since contract 0.5.0; fixtures of workflows that do not
                            # reserve stock leave it out.
                            "available": None,
                            **i["product"],
                            "unit_price": money(i["product"]["unit_price"]),
                        }
                    ),
                    quantity=i["quantity"],
                )
                for i in raw["items"]
            ],
            shipping_address=t.Address(**raw["shipping_address"]),
            shipping_method=raw["shipping_method"],
            payment_method=raw["payment_method"],
            discount_code=raw["discount_code"],
        )

    def decide(self, plugin, order, now) -> dict:
        try:
            return {"ok": dataclasses.asdict(plugin.price(order, now))}
        except self.Err as err:
            self.assertIsInstance(err.value, self.types.Problem)
            return {"err": dataclasses.asdict(err.value)}

    def test_fixtures_through_the_glue(self):
        for path in FIXTURE_PATHS:
            with self.subTest(fixture=path.stem):
                sys.modules.pop("app", None)
                app = importlib.import_module("app")
                f = load(path)
                plugin = app.Pricing()
                plugin.configure(fixture_params(f))
                self.assertEqual(self.decide(plugin, self.order(f["args"]["order"]), f["now"]), f["expect"])

    def test_configured_once_before_any_decision(self):
        plugin = self.app.Pricing()
        order = self.order(load(FIXTURE_PATHS[0])["args"]["order"])
        self.assertEqual(
            self.decide(plugin, order, 0)["err"],
            {"code": "not_configured", "message": "configure was not called", "field": None},
        )
        with self.assertRaises(self.Err) as refused:
            plugin.configure("{}")
        self.assertEqual(refused.exception.value.code, "invalid_params")
        # A refused configure configures nothing.
        self.assertEqual(self.decide(plugin, order, 0)["err"]["code"], "not_configured")
        plugin.configure(SHARED_PARAMS)
        with self.assertRaises(self.Err) as twice:
            plugin.configure(SHARED_PARAMS)
        self.assertEqual(twice.exception.value.code, "already_configured")
        # The configuration outlives the object (however the bindings make them).
        self.assertEqual(self.decide(self.app.Pricing(), order, 0)["ok"]["total"]["minor"], 4352)


class Toolchain(unittest.TestCase):
    def test_toolchains_sh_pins_the_requirements_version_and_hashes(self):
        sh = (REPO / "plugins" / "toolchains.sh").read_text()
        requirements = (HERE / "requirements.txt").read_text()
        version = re.search(r"^componentize_py_version=(\S+)$", sh, re.M).group(1)
        self.assertIn(f"componentize-py=={version} ", requirements)
        hashes = lambda text: sorted(set(re.findall(r"sha256:[0-9a-f]{64}", text)))
        self.assertEqual(hashes(sh), hashes(requirements))
        self.assertEqual(len(hashes(requirements)), 5)


if __name__ == "__main__":
    unittest.main()
