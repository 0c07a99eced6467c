// The exact JSON reader (json.js): JSON.parse's reading taken only where it is the exact one.

import assert from "node:assert/strict";
import { test } from "node:test";
import { JsonFloat, JsonObject, parseExactly, parseJson, parseNatively } from "../json.js";

// A workflow's parameters as the host hands them over: the standard price list.
const PARAMS = `{"currency":"USD","discounts":{"BLACKFRIDAY":{"percent_bp":2500,
  "valid_from":1795737600000,"valid_until":1796083200000},"FIVEOFF":{"fixed":500,
  "min_subtotal":2500}},"shipping":{"free_methods":["standard"],"free_over":5000,
  "rates":{"express":1499,"standard":599}},"tax":[{"country":"US","rate_bp":725,"region":"CA"}]}`;

test("JSON.parse's reading is taken only where it is the exact one", () => {
  const fast = [
    PARAMS,
    '{"a": [1, -2, 0, 9007199254740991], "b": {"c": null, "d": true, "e": "x\\":1.5e3"}}',
    '{"code \\u0041": {"fixed": 500}, "s": "\\\\", "n": -9007199254740991}',
    "[]",
    '"text"',
  ];
  for (const text of fast) {
    const native = parseNatively(text);
    assert.notEqual(native, null, text);
    assert.deepStrictEqual(native, parseExactly(text), text);
    assert.deepStrictEqual(parseJson(text), parseExactly(text), text);
  }
  const exactOnly = [
    '{"a": 1, "a": 2}', // a repeated key: JSON.parse keeps the last only
    '{"a": {"b": 1}, "c": {"b": 2, "b": 3}}',
    '{"a": 5.0}', // a float, refused where an integer is wanted
    '{"a": 1e3}',
    '{"a": -0}',
    '{"a": 9007199254740993}', // beyond 2^53: JSON.parse would round it
    '{"a": -9007199254740992}',
    '{"10": 1, "2": 2}', // index-like keys: a JS object reorders them
    '{"a": 1', // not JSON: the exact reader says where
  ];
  for (const text of exactOnly) {
    assert.equal(parseNatively(text), null, text);
  }
  assert.deepStrictEqual(parseJson('{"a": 1, "a": 2}').entries, [["a", 1n], ["a", 2n]]);
  assert.equal(parseJson('{"a": 9007199254740993}').entries[0][1], 9007199254740993n);
  assert.throws(() => parseJson('{"a": 1'), SyntaxError);
});

test("integers are BigInts, other numbers JsonFloats, objects their entries in order", () => {
  const value = parseExactly('{"b": [1, 2.5, -0, 1e3], "a": {"x": null, "y": "s\\n"}}');
  assert.ok(value instanceof JsonObject);
  assert.deepStrictEqual(
    value.entries.map(([key]) => key),
    ["b", "a"],
  );
  const [one, half, minusZero, thousand] = value.entries[0][1];
  assert.equal(one, 1n);
  assert.ok(half instanceof JsonFloat && half.value === 2.5);
  assert.ok(minusZero instanceof JsonFloat && Object.is(minusZero.value, -0));
  assert.ok(thousand instanceof JsonFloat && thousand.value === 1000);
  assert.deepStrictEqual(value.entries[1][1].entries, [["x", null], ["y", "s\n"]]);
});

test("what is not JSON is a SyntaxError saying where", () => {
  for (const [text, where] of [
    ["", "expected value at character 0"],
    ["{} x", "trailing characters at character 3"],
    ['{"a" 1}', "expected `:` at character 5"],
    ["[1,]", "expected value at character 3"],
    ["[".repeat(200), "nested too deeply"],
  ]) {
    assert.throws(() => parseExactly(text), (e) => e instanceof SyntaxError && e.message.includes(where), text);
  }
});
