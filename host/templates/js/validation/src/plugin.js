// The component's glue: the `validation` interface of the `validation-plugin` world
// (orderflow:plugins@0.5.0, wit/orderflow.wit), exported as the bindings of jco's QuickJS
// backend expect it (`export const validation`, one method per function), around the rules
// of rules.js. The component is built from src/component.js, which exports this with the
// host's `log` connected; the unit tests import this file. Validation refuses with a list:
// the problems are thrown as the `err` of the WIT result, a lone refusal (not configured)
// as a list of one.

import { answer, configured } from "@orderflow/sdk";
import { parseParams, validate } from "./rules.js";

/** One plugin instance: the `validation` interface, with its own configured rules. */
export function makePlugin() {
  const rules = configured(parseParams);
  return {
    configure(params) {
      answer(() => rules.configure(params));
    },
    validate(order, now) {
      const problems = answer(() => validate(rules.params(), order, now), (p) => [p]);
      if (problems.length > 0) throw problems;
    },
  };
}

export const validation = makePlugin();
