// What every plugin needs (sdk.js): refusals, the parameters read as serde reads them, exact
// money, configure once, log lines.

import assert from "node:assert/strict";
import { test } from "node:test";
import {
  Refusal,
  answer,
  applyBp,
  boolean,
  checked,
  configured,
  i64,
  log,
  logTo,
  map,
  option,
  optional,
  problem,
  readParams,
  required,
  s64,
  sequence,
  string,
  struct,
  toS64,
  u32,
} from "../sdk.js";

/** The problem `decide` refuses with. */
function refusal(decide) {
  try {
    decide();
  } catch (e) {
    if (e instanceof Refusal) return e.problem;
    throw e;
  }
  return assert.fail("expected a refusal");
}

const Params = struct("Params", {
  currency: required(string),
  rates: required(map(i64)),
  tags: optional(sequence(string), () => []),
  cap: optional(option(u32), () => null),
  strict: optional(boolean, () => false),
});
const read = (json) => readParams("pricing", json, Params);
const message = (json) => refusal(() => read(json)).message;

test("a refusal is the contract's problem", () => {
  assert.deepEqual(problem("x", "why"), { code: "x", message: "why", field: null });
  const refused = new Refusal("unknown_code", "no such code", "discount_code");
  assert.deepEqual(refused.problem, { code: "unknown_code", message: "no such code", field: "discount_code" });
  // answer: a refusal thrown as its problem, shaped as the world wants it; a bug rethrown.
  const thrown = (decide, shape) => {
    try {
      answer(decide, shape);
    } catch (e) {
      return e;
    }
    return assert.fail("expected a throw");
  };
  assert.deepEqual(thrown(() => { throw refused; }), refused.problem);
  assert.deepEqual(thrown(() => { throw refused; }, (p) => [p]), [refused.problem]);
  assert.ok(thrown(() => { throw new TypeError("bug"); }) instanceof TypeError);
  assert.equal(answer(() => 42), 42);
});

test("the parameters are read as serde reads them", () => {
  const p = read('{"currency": "USD", "rates": {"b": 1, "a": 9007199254740993, "b": 3}}');
  assert.equal(p.currency, "USD");
  assert.deepEqual([...p.rates], [["a", 9007199254740993n], ["b", 3n]]); // sorted; the later b wins
  assert.deepEqual([p.tags, p.cap, p.strict], [[], null, false]);
  assert.equal(read('{"currency": "USD", "rates": {}, "cap": 7}').cap, 7n);
  // Keys sorted by code point, as Rust sorts them, not by UTF-16 unit.
  const keys = [...read('{"currency": "", "rates": {"\\uff5e": 1, "\\ud83d\\ude00": 2}}').rates.keys()];
  assert.deepEqual(keys, ["\uff5e", "\u{1f600}"]);
  for (const [json, why] of [
    ['{"currency": "USD"}', "missing field `rates`"],
    [
      '{"currency": "USD", "rates": {}, "x": 1}',
      "unknown field `x`, expected one of `currency`, `rates`, `tags`, `cap`, `strict`",
    ],
    ['{"currency": "USD", "currency": "USD", "rates": {}}', "duplicate field `currency`"],
    ['{"currency": 5, "rates": {}}', "invalid type: integer `5`, expected a string"],
    ['{"currency": "USD", "rates": {"a": 5.0}}', "invalid type: floating point `5.0`, expected i64"],
    ['{"currency": "USD", "rates": {"a": 1e3}}', "invalid type: floating point `1000.0`, expected i64"],
    [
      '{"currency": "USD", "rates": {"a": 9223372036854775808}}',
      "invalid value: integer `9223372036854775808`, expected i64",
    ],
    ['{"currency": "USD", "rates": {}, "cap": -1}', "invalid value: integer `-1`, expected u32"],
    ['{"currency": "USD", "rates": []}', "invalid type: sequence, expected a map"],
    ['{"currency": "USD", "rates": {}, "tags": "a"}', 'invalid type: string "a", expected a sequence'],
    ['{"currency": "USD", "rates": {}, "strict": null}', "invalid type: null, expected a boolean"],
    ["[]", "invalid type: sequence, expected struct Params"],
  ]) {
    assert.equal(message(json), `pricing params: ${why}`, json);
  }
  const notJson = refusal(() => read("{"));
  assert.equal(notJson.code, "invalid_params");
  assert.match(notJson.message, /^pricing params: .* at character 1$/);
});

test("configured once, before any decision", () => {
  const rules = configured((json) => readParams("pricing", json, Params));
  assert.equal(rules.peek(), null);
  assert.equal(refusal(() => rules.params()).code, "not_configured");
  assert.equal(refusal(() => rules.configure("{}")).code, "invalid_params");
  assert.equal(rules.peek(), null); // a refused configure configures nothing
  rules.configure('{"currency": "EUR", "rates": {}}');
  assert.equal(rules.params().currency, "EUR");
  assert.equal(refusal(() => rules.configure('{"currency": "USD", "rates": {}}')).code, "already_configured");
  assert.equal(rules.params().currency, "EUR");
});

test("money is exact, and an amount beyond an s64 is refused", () => {
  const I64_MAX = 2n ** 63n - 1n;
  assert.equal(checked(I64_MAX), I64_MAX);
  assert.equal(refusal(() => checked(I64_MAX + 1n)).code, "amount_overflow");
  assert.equal(refusal(() => checked(-I64_MAX - 2n)).code, "amount_overflow");
  assert.equal(applyBp(10n, 5000n), 5n);
  assert.equal(applyBp(1n, 5000n), 1n); // 0.5 → 1
  assert.equal(applyBp(-3n, 5000n), -2n); // -1.5 → -2
  assert.equal(applyBp(3n, 1666n), 0n);
  assert.equal(applyBp(2n ** 60n, 10000n), 2n ** 60n);
  // The bindings' Numbers: taken only when exact, given back only when exact.
  assert.equal(s64(9007199254740991), 9007199254740991n);
  assert.equal(s64(-5n), -5n);
  assert.equal(refusal(() => s64(2 ** 60)).code, "amount_overflow");
  assert.equal(toS64(4352n), 4352);
  assert.equal(refusal(() => toS64(2n ** 53n)).code, "amount_overflow");
});

test("log lines go to the host's log once it is handed over", () => {
  const lines = [];
  logTo((level, line) => lines.push([level, line]));
  log.debug("d");
  log.info("code SAVE10 applied");
  log.warn("w");
  log.error("e");
  assert.deepEqual(lines, [["debug", "d"], ["info", "code SAVE10 applied"], ["warn", "w"], ["error", "e"]]);
});
