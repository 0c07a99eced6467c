"""The validation rules, in plain Python: unit-tested natively (`python3 -m unittest`), run by
the host through the component (app.py). Two rules to start from:

- at most `max_quantity` units of a product per order;
- only the `payment_methods` listed are accepted.

Every violation is reported, not just the first, each with the path of the field it is
about (`items[2].quantity`), so a client can mark every faulty field at once. Add your rules
to `validate`, and a fixture for each in fixtures/.

An order is the contract's `order-draft` with the attribute names componentize-py's bindings
give it (`order.payment_method`, None for an absent option).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orderflow_sdk as sdk
from orderflow_sdk import Problem, Refusal, read_params, required, sequence, string, struct, u32


@dataclass
class Params:
    """The `[validation.params]` table of a workflow using this plugin
    (fixtures/params.json for the fixtures)."""

    # The most units of one product an order may take.
    max_quantity: int
    # The payment methods accepted, e.g. ["card", "invoice"].
    payment_methods: list[str]


_params = struct(Params, {"max_quantity": required(u32), "payment_methods": required(sequence(string))})


def parse_params(text: str) -> Params:
    """The parameters made of the workflow's JSON. Parameters the rules cannot work with are
    refused here (a raised `Refusal`): a workflow that gives them fails to load, rather than
    failing its orders."""
    params = read_params("validation", text, _params)
    if params.max_quantity == 0 or not params.payment_methods:
        raise Refusal("invalid_params", "max_quantity and payment_methods must allow something")
    return params


def validate(params: Params, order: Any, now: int) -> list[Problem]:
    """Every problem of `order` (none: it may be placed)."""
    problems = []
    for i, item in enumerate(order.items):
        if item.quantity > params.max_quantity:
            problems.append(
                Problem(
                    "too_many_units",
                    f"at most {params.max_quantity} units of a product per order",
                    f"items[{i}].quantity",
                )
            )
    method = order.payment_method
    if method not in params.payment_methods:
        accepted = ", ".join(params.payment_methods)
        problems.append(
            Problem(
                "payment_method_not_accepted",
                f"payment method `{method}` is not accepted (accepted: {accepted})",
                "payment_method",
            )
        )
    if problems:
        sdk.info(f"{len(problems)} problems with {len(order.items)} lines paid by `{method}`")
    return problems
