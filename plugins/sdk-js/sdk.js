// What every orderflow plugin needs whatever its rules, as orderflow's Rust plugin SDK has it:
// the refusal (the contract's `problem`, thrown), the workflow's parameters read as the SDK
// reads them (as serde does: unknown fields refused, integers exact and in range, nothing
// else taken for an integer), exact money, the state of the component's glue (`configure`
// once, before any decision) and the plugin's log lines. `import { … } from "@orderflow/sdk"`.

import { JsonFloat, JsonObject, parseJson } from "./json.js";

/** The contract's `problem`: a code, a message for people, the field it is about or null. */
export const problem = (code, message, field = null) => ({ code, message, field });

/** A refusal of the rules, thrown: `problem` is what the component answers as its `err`. */
export class Refusal extends Error {
  constructor(code, message, field = null) {
    super(`${code}: ${message}`);
    this.problem = problem(code, message, field);
  }
}

/**
 * `decide()`, a refusal thrown as its problem (shaped by `shape`, e.g. into a list of one):
 * jco's bindings make a thrown value the `err` of the WIT result. Anything else thrown is a
 * bug, and traps (a plugin fault for the host).
 */
export function answer(decide, shape = (p) => p) {
  try {
    return decide();
  } catch (e) {
    if (e instanceof Refusal) throw shape(e.problem);
    throw e;
  }
}

/**
 * The rules of one plugin instance, made of the workflow's parameters by `parse` (which
 * throws a `Refusal`). The host configures an instance once, before its one decision: a
 * second `configure` is refused (`already_configured`), as is a decision before it
 * (`not_configured`), never a trap.
 */
export function configured(parse) {
  let params = null;
  return {
    configure(json) {
      const made = parse(json);
      if (params !== null) throw new Refusal("already_configured", "configure was called twice");
      params = made;
    },
    /** The parameters, for a decision. */
    params() {
      if (params === null) throw new Refusal("not_configured", "configure was not called");
      return params;
    },
    /** The parameters, or null before `configure`. */
    peek: () => params,
  };
}

// The parameters: the `[<kind>.params]` table of a workflow, as JSON. Each reader takes a
// value of `parseJson` and returns it as the rules use it, or throws a `ParamError` worded
// as serde's.

class ParamError extends Error {}

/** The parameters `read` makes of `json`; a refusal is an `invalid_params` problem. */
export function readParams(kind, json, read) {
  try {
    return read(parseJson(json));
  } catch (e) {
    if (e instanceof ParamError || e instanceof SyntaxError) {
      throw new Refusal("invalid_params", `${kind} params: ${e.message}`);
    }
    throw e;
  }
}

/** How serde names a JSON value it did not expect. */
function unexpected(value) {
  if (value === null) return "null";
  if (typeof value === "boolean") return `boolean \`${value}\``;
  if (typeof value === "bigint") return `integer \`${value}\``;
  if (value instanceof JsonFloat) {
    const s = String(value.value);
    return `floating point \`${/[.e]/.test(s) || !Number.isFinite(value.value) ? s : `${s}.0`}\``;
  }
  if (typeof value === "string") return `string ${JSON.stringify(value)}`;
  if (Array.isArray(value)) return "sequence";
  return "map";
}

const invalidType = (value, expected) =>
  new ParamError(`invalid type: ${unexpected(value)}, expected ${expected}`);

export function string(value) {
  if (typeof value !== "string") throw invalidType(value, "a string");
  return value;
}

export function boolean(value) {
  if (typeof value !== "boolean") throw invalidType(value, "a boolean");
  return value;
}

/** An integer of `name`'s range, as a BigInt: exact at any size. */
function integer(name, min, max) {
  return (value) => {
    if (typeof value !== "bigint") throw invalidType(value, name);
    if (value < min || value > max) {
      throw new ParamError(`invalid value: integer \`${value}\`, expected ${name}`);
    }
    return value;
  };
}

export const I64_MIN = -(2n ** 63n);
export const I64_MAX = 2n ** 63n - 1n;
export const i64 = integer("i64", I64_MIN, I64_MAX);
export const u32 = integer("u32", 0n, 2n ** 32n - 1n);

/** A Rust `Option`: null is null, anything else as `read` reads it. */
export const option = (read) => (value) => (value === null ? null : read(value));

export function sequence(read) {
  return (value) => {
    if (!Array.isArray(value)) throw invalidType(value, "a sequence");
    return value.map(read);
  };
}

/**
 * A Rust `BTreeMap<String, _>`, as a `Map`: a later duplicate key replaces an earlier one,
 * and the keys are sorted by code point (UTF-8 bytes) as Rust sorts them, not by UTF-16
 * unit as `Array.prototype.sort` does.
 */
export function map(read) {
  const byCodePoint = ([a], [b]) => {
    const [x, y] = [[...a], [...b]];
    for (let i = 0; i < Math.min(x.length, y.length); i += 1) {
      const d = x[i].codePointAt(0) - y[i].codePointAt(0);
      if (d !== 0) return d;
    }
    return x.length - y.length;
  };
  return (value) => {
    if (!(value instanceof JsonObject)) throw invalidType(value, "a map");
    const entries = new Map(value.entries.map(([key, item]) => [key, read(item)]));
    return new Map([...entries].sort(byCodePoint));
  };
}

/** A field a struct must have. */
export const required = (read) => ({ read });
/** A field a struct may leave out (serde's `#[serde(default)]`): `fallback()` is its value. */
export const optional = (read, fallback) => ({ read, default: fallback });

/** serde's list of the fields it expected. */
function oneOf(names) {
  const quoted = names.map((n) => `\`${n}\``);
  if (quoted.length === 1) return quoted[0];
  if (quoted.length === 2) return `${quoted[0]} or ${quoted[1]}`;
  return `one of ${quoted.join(", ")}`;
}

/**
 * A `#[serde(deny_unknown_fields)]` struct called `name`, as an object: `fields` maps each
 * field to `required(reader)` or `optional(reader, fallback)`.
 */
export function struct(name, fields) {
  const names = Object.keys(fields);
  return (value) => {
    if (!(value instanceof JsonObject)) throw invalidType(value, `struct ${name}`);
    const result = {};
    for (const [key, item] of value.entries) {
      if (!Object.hasOwn(fields, key)) {
        throw new ParamError(`unknown field \`${key}\`, expected ${oneOf(names)}`);
      }
      if (Object.hasOwn(result, key)) throw new ParamError(`duplicate field \`${key}\``);
      result[key] = fields[key].read(item);
    }
    for (const key of names) {
      if (Object.hasOwn(result, key)) continue;
      if (!fields[key].default) throw new ParamError(`missing field \`${key}\``);
      result[key] = fields[key].default();
    }
    return result;
  };
}

// Exact money: amounts are BigInts, checked against the contract's s64.

const overflow = () => new Refusal("amount_overflow", "the order's amounts are too large");

/** `value`, which must fit an s64; else the order's amounts are too large. */
export function checked(value) {
  if (value < I64_MIN || value > I64_MAX) throw overflow();
  return value;
}

/**
 * An s64 of the contract as a BigInt. The bindings give it as a Number, which is taken only
 * if it is a safe integer (|n| < 2^53): a larger one may have been rounded on its way in.
 */
export function s64(value) {
  if (typeof value === "bigint") return checked(value);
  if (Number.isSafeInteger(value)) return BigInt(value);
  throw overflow();
}

/**
 * An amount as the bindings take an s64 back: a Number, exact. One beyond 2^53, which a
 * Number cannot carry exactly, is refused rather than rounded.
 */
export function toS64(minor) {
  const n = Number(minor);
  if (!Number.isSafeInteger(n)) throw overflow();
  return n;
}

/** `value × bp / 10000`, rounded half away from zero; exact. */
export function applyBp(value, bp) {
  const scaled = value * BigInt(bp);
  const magnitude = ((scaled < 0n ? -scaled : scaled) + 5000n) / 10000n;
  return checked(scaled < 0n ? -magnitude : magnitude);
}

// Lines for the people who run the plugin: `log.info("code SAVE10 applied")`. The host keeps
// them with the decision, within the workflow's `log_lines` and `log_bytes` (further lines
// are counted, not kept); `configure`'s are not kept. The component's entry (component.js)
// sends them to the host; under Node (the unit tests) they go to stderr.
let sink = (level, message) => console.error(`${level}: ${message}`);

/** Sends the lines to `hostLog(level, message)`, the host's `log` import. */
export const logTo = (hostLog) => {
  sink = hostLog;
};

export const log = {
  debug: (message) => sink("debug", message),
  info: (message) => sink("info", message),
  warn: (message) => sink("warn", message),
  error: (message) => sink("error", message),
};
