// A plugin's fixtures run natively, under `node --test`, as orderflow's Rust plugin SDK runs
// a crate's (`orderflow_plugin_sdk::fixtures`): each fixture a test, through the plugin's
// glue called as jco's bindings call it (records with camelCase fields, an s64 as a
// Number). `orderflow plugin test` runs the same files through the built component.
// `import { testFixtures } from "@orderflow/sdk/testing"`, in a test file only: it needs
// Node's test runner, which a component does not have.

import assert from "node:assert/strict";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { test } from "node:test";

// The arguments of each call of the contract but `now` (which follows them, but for
// `describe`), in order: a fixture names them.
const ARGS = {
  validate: ["order"],
  price: ["order"],
  describe: [],
  create: ["order"],
  change_status: ["order", "change", "by"],
  change_payment: ["order", "change", "by"],
  allow_change: ["order", "change", "by"],
  refund: ["order", "request"],
};

const camel = (key) => key.replace(/_([a-z0-9])/g, (_, c) => c.toUpperCase());
const snake = (key) => key.replace(/([A-Z])/g, "_$1").replace(/([a-z])([0-9])/g, "$1_$2").toLowerCase();

/** `value` with its record fields renamed (the fixtures are snake_case, the bindings camelCase). */
function renamed(value, rename) {
  if (Array.isArray(value)) return value.map((v) => renamed(v, rename));
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [rename(k), renamed(v, rename)]));
  }
  return value;
}

/** An outcome as a fixture writes it: `{ok: value}`, or `{err: value}` for what the glue throws. */
function outcome(decide) {
  try {
    return { ok: renamed(decide() ?? null, snake) };
  } catch (e) {
    if (e instanceof Error) throw e; // a bug, which the component would trap on
    return { err: renamed(e, snake) };
  }
}

/**
 * A test of each fixture of the directory `dir` (a file URL ending in `/`; `params.json` in
 * it holds the parameters of every fixture that names none of its own): a fresh plugin of
 * `makePlugin()`, the glue's exports (`configure` and the calls of its world), configured
 * and asked the fixture's call, must answer what the fixture expects.
 */
export function testFixtures(dir, makePlugin) {
  /** A fixture's JSON. Its numbers reach the glue as the bindings give an s64: Numbers, exact. */
  const read = (name) =>
    JSON.parse(readFileSync(new URL(name, dir), "utf8"), (key, value) => {
      assert.ok(typeof value !== "number" || Number.isSafeInteger(value), `${name}: ${key} is not an exact integer`);
      return value;
    });
  const names = readdirSync(dir)
    .filter((name) => name.endsWith(".json") && name !== "params.json")
    .sort();
  const shared = new URL("params.json", dir);
  const sharedParams = existsSync(shared) ? readFileSync(shared, "utf8") : "{}";

  test("there are fixtures", () => {
    assert.ok(names.length > 0, `no fixtures in ${dir}`);
  });
  for (const name of names) {
    test(`fixture ${name}`, () => {
      const f = read(name);
      assert.ok(Object.hasOwn(ARGS, f.call), `${name}: no call \`${f.call}\``);
      const plugin = makePlugin();
      plugin.configure(f.params === undefined ? sharedParams : JSON.stringify(f.params));
      const args = ARGS[f.call].map((arg) => renamed(f.args[arg], camel));
      if (f.call !== "describe") args.push(f.now ?? 0);
      assert.deepEqual(outcome(() => plugin[camel(f.call)](...args)), f.expect);
    });
  }
}
