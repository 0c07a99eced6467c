"""What every orderflow plugin needs whatever its rules, as orderflow's Rust plugin SDK has
it: the refusal (the contract's `problem`, raised), the workflow's parameters read as the SDK
reads them (as serde does: unknown fields refused, integers exact and in range, nothing else
taken for an integer), exact money and a pricing plugin's answer, the state of the
component's glue (`configure` once, before any decision) and the plugin's log lines.
`import orderflow_sdk as sdk`; a lifecycle's building blocks are in `orderflow_sdk.machine`,
the fixtures' native run in `orderflow_sdk.testing`.

Nothing here imports the bindings, so the rules run as they are under
`python3 -m unittest`.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from typing import Any, Callable, Generic, Optional, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Problem:
    """The contract's `problem`: a code, a message for people, the field it is about."""

    code: str
    message: str
    field: Optional[str] = None


class Refusal(Exception):
    """A refusal of the rules: `problem` is what the component answers as its `err`."""

    def __init__(self, code: str, message: str, field: Optional[str] = None):
        super().__init__(f"{code}: {message}")
        self.problem = Problem(code, message, field)


class Configured(Generic[T]):
    """The rules' parameters in this instance, made of the workflow's JSON by `parse` (which
    raises a `Refusal`). The host configures an instance once, before its one decision: a
    second `configure` is refused (`already_configured`), as is a decision before it
    (`not_configured`), never a trap."""

    def __init__(self, parse: Callable[[str], T]):
        self._parse = parse
        self._params: Optional[T] = None

    def configure(self, text: str) -> None:
        made = self._parse(text)
        if self._params is not None:
            raise Refusal("already_configured", "configure was called twice")
        self._params = made

    def params(self) -> T:
        """The parameters, for a decision."""
        if self._params is None:
            raise Refusal("not_configured", "configure was not called")
        return self._params

    def peek(self) -> Optional[T]:
        """The parameters, or None before `configure`."""
        return self._params


# The parameters: the `[<kind>.params]` table of a workflow, as JSON. Each reader takes a
# value of `_parse_json` and returns it as the rules use it, or raises a `_ParamError`
# worded as serde's.

I64_MIN = -(2**63)
I64_MAX = 2**63 - 1


class _ParamError(Exception):
    pass


class _Float:
    """A number written with a fraction or an exponent (or `-0`, a float for serde_json)."""

    def __init__(self, text: str):
        self.value = float(text)


class _Object(list):
    """A JSON object: its (key, value) pairs in the order written, duplicates included."""


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _parse_json(text: str) -> Any:
    return json.loads(
        text,
        object_pairs_hook=_Object,
        parse_int=lambda s: _Float(s) if s == "-0" else int(s),
        parse_float=_Float,
        parse_constant=_no_constant,
    )


def read_params(kind: str, text: str, read: Callable[[Any], T]) -> T:
    """The parameters `read` makes of `text`; a refusal is an `invalid_params` problem."""
    try:
        return read(_parse_json(text))
    except (_ParamError, ValueError, RecursionError) as e:  # not as wanted, not JSON, too deep
        raise Refusal("invalid_params", f"{kind} params: {e}") from None


def _unexpected(value: Any) -> str:
    """How serde names a JSON value it did not expect."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean `{'true' if value else 'false'}`"
    if isinstance(value, int):
        return f"integer `{value}`"
    if isinstance(value, _Float):
        return f"floating point `{value.value!r}`"
    if isinstance(value, str):
        return f"string {json.dumps(value, ensure_ascii=False)}"
    if isinstance(value, _Object):
        return "map"
    return "sequence"


def _invalid_type(value: Any, expected: str) -> _ParamError:
    return _ParamError(f"invalid type: {_unexpected(value)}, expected {expected}")


Reader = Callable[[Any], Any]


def string(value: Any) -> str:
    if not isinstance(value, str):
        raise _invalid_type(value, "a string")
    return value


def boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise _invalid_type(value, "a boolean")
    return value


def _integer(name: str, low: int, high: int) -> Reader:
    def read(value: Any) -> int:
        if type(value) is not int:  # bool is an int to Python, not to serde
            raise _invalid_type(value, name)
        if not low <= value <= high:
            raise _ParamError(f"invalid value: integer `{value}`, expected {name}")
        return value

    return read


i64 = _integer("i64", I64_MIN, I64_MAX)
u32 = _integer("u32", 0, 2**32 - 1)


def option(read: Reader) -> Reader:
    """A Rust `Option`: null is None, anything else as `read` reads it."""
    return lambda value: None if value is None else read(value)


def sequence(read: Reader) -> Reader:
    def sequence(value: Any) -> list:
        if not isinstance(value, list) or isinstance(value, _Object):
            raise _invalid_type(value, "a sequence")
        return [read(item) for item in value]

    return sequence


def mapping(read: Reader) -> Reader:
    """A Rust `BTreeMap<String, _>`, as a dict: a later duplicate key replaces an earlier
    one, and the keys are sorted by code point, as Rust sorts them."""

    def mapping(value: Any) -> dict:
        if not isinstance(value, _Object):
            raise _invalid_type(value, "a map")
        return dict(sorted({key: read(item) for key, item in value}.items()))

    return mapping


_REQUIRED = object()


def required(read: Reader) -> tuple[Reader, Any]:
    """A field a struct must have."""
    return (read, _REQUIRED)


def optional(read: Reader, default: Callable[[], Any]) -> tuple[Reader, Any]:
    """A field a struct may leave out (serde's `#[serde(default)]`): `default()` is its value."""
    return (read, default)


def _one_of(names: list[str]) -> str:
    """serde's list of the fields it expected."""
    quoted = [f"`{name}`" for name in names]
    if len(quoted) == 1:
        return quoted[0]
    if len(quoted) == 2:
        return f"{quoted[0]} or {quoted[1]}"
    return "one of " + ", ".join(quoted)


def struct(cls: type, fields: dict[str, tuple[Reader, Any]]) -> Reader:
    """A `#[serde(deny_unknown_fields)]` struct, as the dataclass `cls`: `fields` maps each
    field to `required(reader)` or `optional(reader, default)`."""

    def struct(value: Any) -> Any:
        if not isinstance(value, _Object):
            raise _invalid_type(value, f"struct {cls.__name__}")
        values: dict[str, Any] = {}
        for key, item in value:
            if key not in fields:
                raise _ParamError(f"unknown field `{key}`, expected {_one_of(list(fields))}")
            if key in values:
                raise _ParamError(f"duplicate field `{key}`")
            values[key] = fields[key][0](item)
        for name, (_, default) in fields.items():
            if name not in values:
                if default is _REQUIRED:
                    raise _ParamError(f"missing field `{name}`")
                values[name] = default()
        return cls(**values)

    return struct


# Exact money: integer minor units, checked against the contract's s64; a pricing plugin's
# answer.


def checked(value: int) -> int:
    """`value`, which must fit an s64; else the order's amounts are too large."""
    if not I64_MIN <= value <= I64_MAX:
        raise Refusal("amount_overflow", "the order's amounts are too large")
    return value


def apply_bp(value: int, bp: int) -> int:
    """`value × bp / 10000`, rounded half away from zero; exact (`round()` would round half
    to even, and a float is not exact)."""
    scaled = value * bp
    magnitude = (abs(scaled) + 5000) // 10000
    return checked(-magnitude if scaled < 0 else magnitude)


@dataclass
class Money:
    minor: int
    currency: str


@dataclass
class AppliedRule:
    rule: str
    description: str
    amount: Money


@dataclass
class Quote:
    subtotal: Money
    tax: Money
    shipping: Money
    discount: Money
    total: Money
    applied: list[AppliedRule]


# Lines for the people who run the plugin: `sdk.info("code SAVE10 applied")`. The host keeps
# them with the decision, within the workflow's `log_lines` and `log_bytes` (further lines
# are counted, not kept); `configure`'s are not kept. The glue (app.py) sends them to the
# host's `log` import; under unittest they go to stderr.
_host_log: Any = None


def log_to(bindings: Any) -> None:
    """Sends the lines to the bindings' `log` interface (`wit_world.imports.log`)."""
    global _host_log
    _host_log = bindings


def _log(level: str, message: str) -> None:
    if _host_log is None:
        print(f"{level}: {message}", file=sys.stderr)
    else:
        _host_log.log(_host_log.Level[level.upper()], message)


def debug(message: str) -> None:
    _log("debug", message)


def info(message: str) -> None:
    _log("info", message)


def warn(message: str) -> None:
    _log("warn", message)


def error(message: str) -> None:
    _log("error", message)
