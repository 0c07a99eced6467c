"""The component's glue: the `lifecycle` interface of the `lifecycle-plugin` world
(orderflow:plugins@0.5.0, wit/orderflow.wit), as componentize-py's bindings (`wit_world`,
generated when build.sh builds the component) expect it, around the rules of rules.py. It is
the component's entry (build.sh builds `app`), so it hands the bindings' `log` to the SDK.
`describe` before `configure` shows the machine of the default parameters. A change's kind
reaches the rules as the SDK names it (`machine.ITEMS`, ...): the case's name, lowercase.

A refusal is raised as `Err(problem)`, the `err` of the WIT result. Any other exception is a
bug, and traps (a plugin fault for the host).
"""

from __future__ import annotations

from typing import Callable, TypeVar

from componentize_py_types import Err
from wit_world import exports
from wit_world.exports import lifecycle
from wit_world.imports import log, types

import orderflow_sdk as sdk
from orderflow_sdk import Configured, Refusal, machine

import rules

sdk.log_to(log)

# The rules' parameters, set by `configure`. Module state, not an object's: the host
# configures an instance once and asks it one decision, and the state must outlive however
# the bindings make `Lifecycle` objects.
_rules = Configured(rules.parse_params)


def _err(refusal: Refusal) -> Err:
    p = refusal.problem
    return Err(types.Problem(code=p.code, message=p.message, field=p.field))


T = TypeVar("T")


def _decide(decide: Callable[[rules.Params], T]) -> T:
    """What `decide` answers with the configured parameters; a refusal as the WIT's `err`."""
    try:
        return decide(_rules.params())
    except Refusal as refusal:
        raise _err(refusal) from None


def _answer(decide: Callable[[rules.Params], machine.Transition]) -> lifecycle.Transition:
    """The transition `decide` makes with the configured parameters."""
    t = _decide(decide)
    return lifecycle.Transition(status=t.status, payment_status=t.payment_status, stamps=t.stamps, events=t.events)


def _money(m: sdk.Money) -> types.Money:
    return types.Money(minor=m.minor, currency=m.currency)


def _edges(edges: list[machine.Edge]) -> list[lifecycle.Edge]:
    return [lifecycle.Edge(from_=e.from_, to=e.to, roles=e.roles) for e in edges]


class Lifecycle(exports.Lifecycle):
    def configure(self, params: str) -> None:
        try:
            _rules.configure(params)
        except Refusal as refusal:
            raise _err(refusal) from None

    def describe(self) -> lifecycle.Machine:
        params = _rules.peek()
        m = rules.describe(rules.parse_params("{}") if params is None else params)
        return lifecycle.Machine(
            statuses=m.statuses,
            final_statuses=m.final_statuses,
            payment_statuses=m.payment_statuses,
            status_edges=_edges(m.status_edges),
            payment_edges=_edges(m.payment_edges),
        )

    def create(self, order: lifecycle.PricedOrder, now: int) -> lifecycle.Transition:
        return _answer(lambda params: rules.create(params, order, now))

    def change_status(
        self, order: lifecycle.OrderView, change: lifecycle.StatusChange, by: lifecycle.Actor, now: int
    ) -> lifecycle.Transition:
        return _answer(lambda params: rules.change_status(params, order, change, by, now))

    def change_payment(
        self, order: lifecycle.OrderView, change: lifecycle.PaymentChange, by: lifecycle.Actor, now: int
    ) -> lifecycle.Transition:
        return _answer(lambda params: rules.change_payment(params, order, change, by, now))

    def allow_change(
        self, order: lifecycle.OrderView, change: lifecycle.ChangeKind, by: lifecycle.Actor, now: int
    ) -> None:
        kind = change.name.lower()
        _decide(lambda params: rules.allow_change(params, order, kind, by, now))

    def refund(self, order: lifecycle.OrderView, request: lifecycle.ReturnRequest, now: int) -> lifecycle.RefundQuote:
        r = _decide(lambda params: rules.refund(params, order, request, now))
        return lifecycle.RefundQuote(
            items=_money(r.items),
            tax=_money(r.tax),
            shipping=_money(r.shipping),
            restocking_fee=_money(r.restocking_fee),
            total=_money(r.total),
        )
