"""The component's glue: the `pricing` interface of the `pricing-plugin` world
(orderflow:plugins@0.2.0), as componentize-py's bindings (`wit_world`, generated when the
component is built) expect it, around the rules of rules.py.

It behaves as the Rust SDK's glue does: `configure` keeps the rules made of the workflow's
parameters, once (a second call is refused as `already_configured`); a decision asked before
`configure` is refused as `not_configured`, never a trap. A refusal is raised as
`Err(problem)`, the `err` of the WIT result; any other exception is a bug, and traps (a
plugin fault for the host).

Cost, measured with componentize-py 0.25.1 (CPython 3.14 inside) under `orderflow plugin
test`: a price call takes ~290,000-610,000 fuel on the shared fixtures (the Rust rule
3,000-11,000), and each order line adds ~36,000, ~28,000 of which is the bindings lifting it
into Python. The default 10,000,000 fuel a call therefore prices up to ~260 lines (the
standard workflow's validation takes 100 at most).
"""

from __future__ import annotations

from typing import Optional

from componentize_py_types import Err
from wit_world import exports
from wit_world.exports import pricing
from wit_world.imports import types

import rules

# The rules of this instance, set by `configure`. Module state, not the object's: the host
# configures an instance once and asks it one decision, and the state must outlive however
# the bindings make `Pricing` objects.
_configured: Optional[rules.Params] = None


def _problem(refusal: rules.Refusal) -> Err:
    p = refusal.problem
    return Err(types.Problem(code=p.code, message=p.message, field=p.field))


def _money(m: rules.Money) -> types.Money:
    return types.Money(minor=m.minor, currency=m.currency)


class Pricing(exports.Pricing):
    def configure(self, params: str) -> None:
        global _configured
        try:
            made = rules.parse_params(params)
        except rules.Refusal as refusal:
            raise _problem(refusal) from None
        if _configured is not None:
            raise _problem(rules.Refusal("already_configured", "configure was called twice"))
        _configured = made

    def price(self, order: types.OrderDraft, now: int) -> pricing.Quote:
        if _configured is None:
            raise _problem(rules.Refusal("not_configured", "configure was not called"))
        try:
            q = rules.price(_configured, order, now)
        except rules.Refusal as refusal:
            raise _problem(refusal) from None
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
