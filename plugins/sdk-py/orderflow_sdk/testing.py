"""A plugin's fixtures run natively, under `python3 -m unittest`, as orderflow's Rust plugin
SDK runs a crate's (`orderflow_plugin_sdk::fixtures`): each fixture a subtest, through the
rules called as the glue (app.py) calls them, with records as the bindings give them.
`orderflow plugin test` runs the same files through the built component.

    class Fixtures(unittest.TestCase):
        def test_every_fixture(self):
            check_fixtures(self, Path(__file__).resolve().parent / "fixtures", rules)
"""

from __future__ import annotations

import dataclasses
import json
import keyword
import unittest
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

from orderflow_sdk import Refusal

SHARED_PARAMS = "params.json"

# The arguments of each call of the contract but `now` (which follows them, but for
# `describe`), in order: a fixture names them.
ARGS = {
    "validate": ["order"],
    "price": ["order"],
    "describe": [],
    "create": ["order"],
    "change_status": ["order", "change", "by"],
    "change_payment": ["order", "change", "by"],
    "allow_change": ["order", "change", "by"],
    "refund": ["order", "request"],
}


def _no_float(text: str) -> Any:
    raise AssertionError(f"a fixture holds a number that is not an integer: {text}")


def load(path: Path) -> dict:
    """A fixture; its numbers are ints, and any other number in one is a mistake."""
    return json.loads(path.read_text(), parse_float=_no_float)


def record(value: Any) -> Any:
    """JSON as records with attributes, as the bindings give them (the same snake_case names)."""
    if isinstance(value, dict):
        return SimpleNamespace(**{k: record(v) for k, v in value.items()})
    if isinstance(value, list):
        return [record(v) for v in value]
    return value


def as_json(value: Any) -> Any:
    """An answer of the rules (dataclasses) as JSON; a field named after a Python keyword
    (`from_`) as the contract names it (`from`)."""
    if dataclasses.is_dataclass(value):
        value = dataclasses.asdict(value)
    if isinstance(value, dict):
        unkeyword = lambda k: k[:-1] if k.endswith("_") and keyword.iskeyword(k[:-1]) else k
        return {unkeyword(k): as_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [as_json(v) for v in value]
    return value


def outcome(call: str, decide) -> dict:
    """An outcome as a fixture writes it: {"ok": answer} or {"err": problem}, as the glue
    makes it of the rules' answer."""
    try:
        answer = decide()
    except Refusal as refusal:
        # Validation refuses with a list: a lone refusal is a list of one.
        return {"err": as_json([refusal.problem] if call == "validate" else refusal.problem)}
    if call == "validate":  # its answer is its problems: none is ok
        return {"err": as_json(answer)} if answer else {"ok": None}
    return {"ok": as_json(answer)}


def check_fixtures(test: unittest.TestCase, directory: Path, rules: ModuleType) -> None:
    """Every fixture of `directory` (`params.json` in it holds the parameters of every fixture
    that names none of its own), a subtest of `test` each: `rules.parse_params` makes the
    parameters, and the rules' function of the fixture's call (`rules.price`, ...) must
    answer what the fixture expects."""
    shared = directory / SHARED_PARAMS
    paths = sorted(p for p in directory.glob("*.json") if p != shared)
    test.assertTrue(paths, f"no fixtures in {directory}")
    shared_params = shared.read_text() if shared.exists() else "{}"
    for path in paths:
        with test.subTest(fixture=path.name):
            f = load(path)
            call = f["call"]
            test.assertIn(call, ARGS, f"no call `{call}`")
            params = rules.parse_params(json.dumps(f["params"]) if "params" in f else shared_params)
            args = [record(f["args"][name]) for name in ARGS[call]]
            if call != "describe":
                args.append(f.get("now", 0))
            got = outcome(call, lambda: getattr(rules, call)(params, *args))
            test.assertEqual(got, f["expect"])
