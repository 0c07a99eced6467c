"""The component's glue: the `pricing` interface of the `pricing-plugin` world
(orderflow:plugins@0.5.0, wit/orderflow.wit), as componentize-py's bindings (`wit_world`,
generated when build.sh builds the component) expect it, around the rules of rules.py. It is
the component's entry (build.sh builds `app`), so it hands the bindings' `log` to the SDK.

A refusal is raised as `Err(problem)`, the `err` of the WIT result. Any other exception is a
bug, and traps (a plugin fault for the host).
"""

from __future__ import annotations

from componentize_py_types import Err
from wit_world import exports
from wit_world.exports import pricing
from wit_world.imports import log, types

import orderflow_sdk as sdk
from orderflow_sdk import Configured, Refusal

import rules

sdk.log_to(log)

# The rules' parameters, set by `configure`. Module state, not an object's: the host
# configures an instance once and asks it one decision, and the state must outlive however
# the bindings make `Pricing` objects.
_rules = Configured(rules.parse_params)


def _err(refusal: Refusal) -> Err:
    p = refusal.problem
    return Err(types.Problem(code=p.code, message=p.message, field=p.field))


def _money(m: rules.Money) -> types.Money:
    return types.Money(minor=m.minor, currency=m.currency)


class Pricing(exports.Pricing):
    def configure(self, params: str) -> None:
        try:
            _rules.configure(params)
        except Refusal as refusal:
            raise _err(refusal) from None

    def price(self, order: types.OrderDraft, now: int) -> pricing.Quote:
        try:
            q = rules.price(_rules.params(), order, now)
        except Refusal as refusal:
            raise _err(refusal) from None
        return pricing.Quote(
            subtotal=_money(q.subtotal),
            tax=_money(q.tax),
            shipping=_money(q.shipping),
            discount=_money(q.discount),
            total=_money(q.total),
            applied=[
                pricing.AppliedRule(rule=a.rule, description=a.description, amount=_money(a.amount))
                for a in q.applied
            ],
        )
