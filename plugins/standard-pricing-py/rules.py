"""Standard pricing rules: a port of the Rust rule (plugins/standard-pricing/src/rules.rs,
with the SDK's price.rs that it builds on), held to the same fixtures.

Order of computation:
1. subtotal = Σ unit price × quantity (snapshot prices);
2. discount from the code, if any (percentage of the subtotal, or a fixed amount capped
   at the subtotal), within its validity window and above its minimum subtotal;
3. tax = rate of (country, region), else of the country, else 0, applied to
   subtotal − discount (shipping is not taxed);
4. shipping by method; the methods listed in `free_methods` cost nothing when
   subtotal − discount reaches `free_over`;
5. total = subtotal + tax + shipping − discount.

Money is integer minor units, Python ints: exact at any size, never a float (the
parameters' JSON is read so that a number with a fraction or an exponent is refused where
an integer is wanted, as serde refuses it). Each result is checked against the range of the
contract's s64, as the Rust rule checks its i64 arithmetic (`amount_overflow` instead of a
wrap).

Rounding rule: amounts are computed exactly and rounded once, half away from zero, to the
minor unit (tax and percentage discounts are the only divisions): `apply_bp`.

`price` reads an order with the attribute names of the WIT contract's records as
componentize-py's bindings give them (`order.shipping_address.country`, ...), and answers
with the SDK's `Quote`, or raises a `Refusal` carrying the problem. The module imports
nothing of the bindings, so it runs as it is under `python3 -m unittest`.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from typing import Any, Optional

import orderflow_sdk as sdk
from orderflow_sdk import AppliedRule, Money, Problem, Quote, Refusal, apply_bp, checked

# The refusal, exact money and the quote (re-exported for app.py and the tests) and the
# parameters' readers are the SDK's (orderflow_sdk, plugins/sdk-py), as in the projects
# `orderflow plugin new --lang python` writes.


# Strings as Rust compares and changes them.

# Rust's `str::trim`: the characters of Unicode's White_Space property (not str.strip()'s
# idea of white space, which takes U+001C..U+001F too).
_WHITE_SPACE = "\t\n\v\f\r \x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B))) + (
    "\u2028\u2029\u202f\u205f\u3000"
)
# ASCII letters only change case, as Rust's `to_ascii_uppercase` and friends.
_ASCII_UPPER = str.maketrans(string.ascii_lowercase, string.ascii_uppercase)
_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


def _eq_ignore_ascii_case(a: str, b: str) -> bool:
    return a.translate(_ASCII_LOWER) == b.translate(_ASCII_LOWER)


# The parameters: the `[pricing.params]` table of a workflow, as JSON.


@dataclass
class TaxRate:
    country: str
    # None: the rate for every region of the country without a rate of its own.
    region: Optional[str]
    # Basis points: 725 is 7.25 %.
    rate_bp: int


@dataclass
class Shipping:
    # Price per shipping method, in minor units, sorted by method as Rust's BTreeMap.
    rates: dict[str, int]
    # Subtotal after discount from which `free_methods` ship free.
    free_over: Optional[int]
    free_methods: list[str]


@dataclass
class Discount:
    # Basis points of the subtotal; exclusive with `fixed`.
    percent_bp: Optional[int]
    # Minor units off, capped at the subtotal; exclusive with `percent_bp`.
    fixed: Optional[int]
    min_subtotal: int
    # Unix milliseconds (a TOML datetime in the workflow file).
    valid_from: Optional[int]
    # Exclusive end of the validity window, Unix milliseconds.
    valid_until: Optional[int]


@dataclass
class Params:
    # The one currency this price list is in.
    currency: str
    shipping: Shipping
    tax: list[TaxRate]
    # Discount codes by code (matched case-insensitively), sorted as Rust's BTreeMap.
    discounts: dict[str, Discount]


def _none() -> None:
    return None


_tax_rate = sdk.struct(
    TaxRate,
    {
        "country": sdk.required(sdk.string),
        "region": sdk.optional(sdk.option(sdk.string), _none),
        "rate_bp": sdk.required(sdk.u32),
    },
)
_shipping = sdk.struct(
    Shipping,
    {
        "rates": sdk.required(sdk.mapping(sdk.i64)),
        "free_over": sdk.optional(sdk.option(sdk.i64), _none),
        "free_methods": sdk.optional(sdk.sequence(sdk.string), lambda: ["standard"]),
    },
)
_discount = sdk.struct(
    Discount,
    {
        "percent_bp": sdk.optional(sdk.option(sdk.u32), _none),
        "fixed": sdk.optional(sdk.option(sdk.i64), _none),
        "min_subtotal": sdk.optional(sdk.i64, lambda: 0),
        "valid_from": sdk.optional(sdk.option(sdk.i64), _none),
        "valid_until": sdk.optional(sdk.option(sdk.i64), _none),
    },
)
_params = sdk.struct(
    Params,
    {
        "currency": sdk.required(sdk.string),
        "shipping": sdk.required(_shipping),
        "tax": sdk.optional(sdk.sequence(_tax_rate), list),
        "discounts": sdk.optional(sdk.mapping(_discount), dict),
    },
)


def _bad_params(message: str) -> Refusal:
    return Refusal("invalid_params", message)


def parse_params(text: str) -> Params:
    """The rules' parameters made of the workflow's JSON, checked; a refusal is an
    `invalid_params` problem."""
    params = sdk.read_params("pricing", text, _params)
    _check(params)
    return params


def _check(p: Params) -> None:
    # What every price list's parameters must be (the SDK's `check_price_list`).
    currency = p.currency
    if not (len(currency) == 3 and all("A" <= c <= "Z" for c in currency)):
        raise _bad_params(f"currency `{currency}` is not ISO-4217")
    for method, rate in p.shipping.rates.items():
        if rate < 0:
            raise _bad_params(f"shipping rate of `{method}` is negative")
    for rate in p.tax:
        if rate.rate_bp > 10_000:
            raise _bad_params(f"tax rate of {rate.country} exceeds 100 %")
    for code, d in p.discounts.items():
        percent = d.percent_bp is not None and d.fixed is None and d.percent_bp <= 10_000
        fixed = d.percent_bp is None and d.fixed is not None and d.fixed >= 0
        if not (percent or fixed):
            raise _bad_params(
                f"discount `{code}` needs exactly one of percent_bp (≤ 10000) or fixed (≥ 0)"
            )


# The quote.


def price(p: Params, order: Any, now: int) -> Quote:
    """The quote of `order` at `now` (Unix milliseconds) by the parameters `p`; or a
    raised `Refusal`."""
    currency = p.currency

    def money(minor: int) -> Money:
        return Money(minor, currency)

    applied: list[AppliedRule] = []

    # 1. subtotal
    subtotal = 0
    for i, item in enumerate(order.items):
        unit = item.product.unit_price
        if unit.currency != currency:
            raise Refusal(
                "currency_not_supported",
                f"this price list is in {currency}, the item is priced in {unit.currency}",
                f"items[{i}]",
            )
        line = checked(unit.minor * item.quantity)
        subtotal = checked(subtotal + line)

    # 2. discount
    discount = 0
    if order.discount_code is not None:
        code = order.discount_code
        discount = _discount_amount(p, code, subtotal, now)
        shown = code.translate(_ASCII_UPPER)
        applied.append(AppliedRule(f"discount:{shown}", f"discount code {shown}", money(discount)))
    # Never negative nor beyond the i64 range: the discount is at most the subtotal.
    discounted = subtotal - discount

    # 3. tax
    tax = 0
    address = order.shipping_address
    rate = next(
        (t for t in p.tax if t.country == address.country and t.region == address.state),
        None,
    )
    if rate is None:
        rate = next((t for t in p.tax if t.country == address.country and t.region is None), None)
    if rate is not None:
        tax = apply_bp(discounted, rate.rate_bp)
        place = rate.country if rate.region is None else f"{rate.country}-{rate.region}"
        applied.append(AppliedRule(f"tax:{place}", f"{place} tax at {rate.rate_bp} bp", money(tax)))

    # 4. shipping
    method = order.shipping_method
    rates = p.shipping.rates
    if method not in rates:
        raise Refusal(
            "unknown_shipping_method",
            f"shipping method `{method}` is not offered (offered: {', '.join(rates)})",
            "shipping_method",
        )
    free = (
        p.shipping.free_over is not None
        and discounted >= p.shipping.free_over
        and method in p.shipping.free_methods
    )
    shipping = 0 if free else rates[method]
    description = f"free {method} shipping over the threshold" if free else f"{method} shipping"
    applied.append(AppliedRule(f"shipping:{method}", description, money(shipping)))

    # 5. total
    total = checked(checked(discounted + tax) + shipping)
    return Quote(money(subtotal), money(tax), money(shipping), money(discount), money(total), applied)


def _discount_amount(p: Params, code: str, subtotal: int, now: int) -> int:
    field_name = "discount_code"
    wanted = code.strip(_WHITE_SPACE)
    found = next((d for known, d in p.discounts.items() if _eq_ignore_ascii_case(known, wanted)), None)
    if found is None:
        raise Refusal("unknown_discount_code", "this discount code does not exist", field_name)
    if found.valid_from is not None and now < found.valid_from:
        raise Refusal("discount_not_yet_valid", "this discount code is not valid yet", field_name)
    if found.valid_until is not None and now >= found.valid_until:
        raise Refusal("discount_expired", "this discount code has expired", field_name)
    if subtotal < found.min_subtotal:
        raise Refusal(
            "discount_minimum_not_met",
            f"this discount code needs a subtotal of at least {found.min_subtotal} minor units",
            field_name,
        )
    amount = apply_bp(subtotal, found.percent_bp) if found.percent_bp is not None else found.fixed
    return min(amount, subtotal)
