// JSON for the workflow's parameters, read exactly: `JSON.parse` makes every number a
// double, so an amount beyond 2^53 would be silently rounded. Here an integer literal is a
// BigInt, any other number a `JsonFloat` (refused where an integer is wanted, as serde
// refuses `5.0` or `1e3` for an i64), and an object keeps its entries in order, duplicates
// included, so that the parameters are judged as the Rust rule's serde would judge them.
//
// Every instance reads its parameters once, before its decision, so reading them is part
// of every order's cost. The reader below, interpreted by QuickJS, took ~0.85 ms for the
// standard workflow's parameters; `JSON.parse` is native. So `parseJson` takes
// `JSON.parse`'s answer whenever it is provably the same (every number an integer literal
// exact as a double, no key repeated, no key an array index, which a JS object would
// reorder), and reads the text itself otherwise.

/** A number written with a fraction or an exponent (or `-0`, a float for serde_json). */
export class JsonFloat {
  constructor(value) {
    this.value = value;
  }
}

/** An object: its `[key, value]` entries in the order written. */
export class JsonObject {
  constructor(entries) {
    this.entries = entries;
  }
}

const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
const STRING = /"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/y;
const WHITESPACE = /[ \t\n\r]*/y;

// A string literal as JSON writes it (unrolled: the fastest form for a backtracking engine).
const STRINGS = /"[^"\\]*(?:\\.[^"\\]*)*"/g;
// Once the strings are blanked out: a key, and a number literal.
const KEYS = /""\s*:/g;
const NUMBERS = /-?[0-9][0-9.eE+-]*/g;
const INTEGER = /^-?(?:0|[1-9][0-9]*)$/;
const INDEX = /^(?:0|[1-9][0-9]*)$/;

/** Parses `text`, as {@link parseExactly} does; throws a `SyntaxError` if it is not JSON. */
export function parseJson(text) {
  return parseNatively(text) ?? parseExactly(text);
}

/**
 * `JSON.parse`'s reading of `text` in `parseExactly`'s form, or null when the two could
 * differ (or the text is not JSON: `parseExactly` then says where).
 */
export function parseNatively(text) {
  let value;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  const blanked = text.replace(STRINGS, '""');
  const numbers = blanked.match(NUMBERS) ?? [];
  const exact = (n) => INTEGER.test(n) && n !== "-0" && Number.isSafeInteger(Number(n));
  if (!numbers.every(exact)) return null;
  const written = (blanked.match(KEYS) ?? []).length;
  let keys = 0;
  const convert = (v) => {
    if (typeof v === "number") return BigInt(v);
    if (Array.isArray(v)) return v.map(convert);
    if (v === null || typeof v !== "object") return v;
    const entries = Object.entries(v);
    keys += entries.length;
    if (entries.some(([key]) => INDEX.test(key))) throw INDEX;
    return new JsonObject(entries.map(([key, item]) => [key, convert(item)]));
  };
  try {
    const converted = convert(value);
    // Fewer keys than written: one was repeated, and JSON.parse kept only the last.
    return keys === written ? converted : null;
  } catch (e) {
    if (e === INDEX) return null;
    throw e;
  }
}

/** Parses `text` token by token; throws a `SyntaxError` saying where it is not JSON. */
export function parseExactly(text) {
  let at = 0;
  const fail = (what) => {
    throw new SyntaxError(`${what} at character ${at}`);
  };
  const skip = () => {
    WHITESPACE.lastIndex = at;
    WHITESPACE.test(text);
    at = WHITESPACE.lastIndex;
  };
  const token = (pattern) => {
    pattern.lastIndex = at;
    const match = pattern.exec(text);
    if (match === null) return null;
    at = pattern.lastIndex;
    return match[0];
  };
  const literal = (word, value) => {
    if (text.startsWith(word, at)) {
      at += word.length;
      return value;
    }
    return fail("expected value");
  };
  const value = (depth) => {
    if (depth > 128) fail("nested too deeply");
    skip();
    const c = text[at];
    if (c === "{") {
      at += 1;
      const entries = [];
      skip();
      if (text[at] === "}") {
        at += 1;
        return new JsonObject(entries);
      }
      for (;;) {
        skip();
        const key = token(STRING);
        if (key === null) fail("expected a key");
        skip();
        if (text[at] !== ":") fail("expected `:`");
        at += 1;
        entries.push([JSON.parse(key), value(depth + 1)]);
        skip();
        if (text[at] === ",") {
          at += 1;
        } else if (text[at] === "}") {
          at += 1;
          return new JsonObject(entries);
        } else {
          fail("expected `,` or `}`");
        }
      }
    }
    if (c === "[") {
      at += 1;
      const items = [];
      skip();
      if (text[at] === "]") {
        at += 1;
        return items;
      }
      for (;;) {
        items.push(value(depth + 1));
        skip();
        if (text[at] === ",") {
          at += 1;
        } else if (text[at] === "]") {
          at += 1;
          return items;
        } else {
          fail("expected `,` or `]`");
        }
      }
    }
    if (c === '"') {
      const string = token(STRING);
      if (string === null) fail("invalid string");
      // JSON.parse of the one string token: its escapes, exactly as JSON has them.
      return JSON.parse(string);
    }
    if (c === "t") return literal("true", true);
    if (c === "f") return literal("false", false);
    if (c === "n") return literal("null", null);
    const number = token(NUMBER);
    if (number === null) fail("expected value");
    if (/[.eE]/.test(number) || number === "-0") return new JsonFloat(Number(number));
    return BigInt(number);
  };
  const result = value(0);
  skip();
  if (at !== text.length) fail("trailing characters");
  return result;
}
