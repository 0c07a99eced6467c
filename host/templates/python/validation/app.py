"""The component's glue: the `validation` interface of the `validation-plugin` world
(orderflow:plugins@0.5.0, wit/orderflow.wit), as componentize-py's bindings (`wit_world`,
generated when build.sh builds the component) expect it, around the rules of rules.py. It is
the component's entry (build.sh builds `app`), so it hands the bindings' `log` to the SDK.

A refusal is raised as `Err(...)`, the `err` of the WIT result: validation refuses with a
list, a lone refusal (not configured) as a list of one. Any other exception is a bug, and
traps (a plugin fault for the host).
"""

from __future__ import annotations

from componentize_py_types import Err
from wit_world import exports
from wit_world.imports import log, types

import orderflow_sdk as sdk
from orderflow_sdk import Configured, Problem, Refusal

import rules

sdk.log_to(log)

# The rules' parameters, set by `configure`. Module state, not an object's: the host
# configures an instance once and asks it one decision, and the state must outlive however
# the bindings make `Validation` objects.
_rules = Configured(rules.parse_params)


def _problem(p: Problem) -> types.Problem:
    return types.Problem(code=p.code, message=p.message, field=p.field)


class Validation(exports.Validation):
    def configure(self, params: str) -> None:
        try:
            _rules.configure(params)
        except Refusal as refusal:
            raise Err(_problem(refusal.problem)) from None

    def validate(self, order: types.OrderDraft, now: int) -> None:
        try:
            problems = rules.validate(_rules.params(), order, now)
        except Refusal as refusal:
            problems = [refusal.problem]
        if problems:
            raise Err([_problem(p) for p in problems])
