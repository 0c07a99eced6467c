"""The pricing rules, in plain Python: unit-tested natively (`python3 -m unittest`), run by
the host through the component (app.py). A flat price list to start from:

1. subtotal = Σ unit price × quantity, at the prices the host fetched for the order;
2. tax = `tax_bp` of the subtotal (basis points: 825 is 8.25 %), rounded once, half away
   from zero;
3. shipping = the price of the order's method; a method not offered is refused;
4. no discounts: an order with a discount code is refused, rather than priced as if the
   code had applied;
5. total = subtotal + tax + shipping.

The host checks every quote (total = subtotal + tax + shipping − discount, nothing negative,
one currency). Add your rules here, and a fixture for each in fixtures/.

Money is integer minor units, Python ints: exact at any size, never a float (the parameters'
JSON is read so that a number with a fraction or an exponent is refused where an integer is
wanted). Each result is checked against the range of the contract's s64
(`amount_overflow`, never a wrap).

An order is the contract's `order-draft` with the attribute names componentize-py's bindings
give it (`order.shipping_address.country`, None for an absent option).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orderflow_sdk as sdk
from orderflow_sdk import (
    AppliedRule,
    Money,
    Quote,
    Refusal,
    apply_bp,
    checked,
    i64,
    mapping,
    read_params,
    required,
    string,
    struct,
    u32,
)


@dataclass
class Params:
    """The `[pricing.params]` table of a workflow using this plugin (fixtures/params.json
    for the fixtures)."""

    # The price list's currency (ISO-4217): an item priced in another is refused.
    currency: str
    # Tax on the subtotal, in basis points: 825 is 8.25 %.
    tax_bp: int
    # The price of each shipping method offered, in minor units, sorted by method.
    shipping: dict[str, int]


_params = struct(
    Params,
    {"currency": required(string), "tax_bp": required(u32), "shipping": required(mapping(i64))},
)


def parse_params(text: str) -> Params:
    """The parameters made of the workflow's JSON. Parameters the rules cannot work with are
    refused here (a raised `Refusal`): a workflow that gives them fails to load, rather than
    failing its orders."""
    params = read_params("pricing", text, _params)
    if params.tax_bp > 10_000:
        raise Refusal("invalid_params", f"tax_bp {params.tax_bp} exceeds 100 %")
    for method, rate in params.shipping.items():
        if rate < 0:
            raise Refusal("invalid_params", f"the `{method}` shipping rate is negative")
    return params


def price(params: Params, order: Any, now: int) -> Quote:
    """The quote of `order`; or a raised `Refusal`."""
    if order.discount_code is not None:
        # The refusal names the field; the log line, for whoever runs the shop, the code.
        sdk.info(f"discount code `{order.discount_code}` refused: the flat list takes none")
        raise Refusal("discount_codes_not_accepted", "this price list takes no discount codes", "discount_code")

    def money(minor: int) -> Money:
        return Money(minor, params.currency)

    subtotal = 0
    for i, item in enumerate(order.items):
        unit = item.product.unit_price
        if unit.currency != params.currency:
            raise Refusal(
                "currency_not_supported",
                f"this price list is in {params.currency}, the item is priced in {unit.currency}",
                f"items[{i}]",
            )
        subtotal = checked(subtotal + checked(unit.minor * item.quantity))
    tax = apply_bp(subtotal, params.tax_bp)

    method = order.shipping_method
    if method not in params.shipping:
        offered = ", ".join(params.shipping)
        raise Refusal(
            "unknown_shipping_method",
            f"shipping method `{method}` is not offered (offered: {offered})",
            "shipping_method",
        )
    shipping = params.shipping[method]

    return Quote(
        subtotal=money(subtotal),
        tax=money(tax),
        shipping=money(shipping),
        discount=money(0),
        total=money(checked(checked(subtotal + tax) + shipping)),
        applied=[
            AppliedRule("tax", f"tax at {params.tax_bp} bp", money(tax)),
            AppliedRule(f"shipping:{method}", f"{method} shipping", money(shipping)),
        ],
    )
