// The component's glue: the `lifecycle` interface of the `lifecycle-plugin` world
// (orderflow:plugins@0.3.0, wit/orderflow.wit), exported as the bindings of jco's QuickJS
// backend expect it (`export const lifecycle`, one camelCase method per function), around
// the rules of rules.js. The component is built from src/component.js, which exports this
// with the host's `log` connected; the unit tests import this file. `describe` before
// `configure` shows the machine of the default parameters.

import { answer, configured } from "@orderflow/sdk";
import { changePayment, changeStatus, create, describe, parseParams } from "./rules.js";

/** One plugin instance: the `lifecycle` interface, with its own configured rules. */
export function makePlugin() {
  const rules = configured(parseParams);
  return {
    configure(params) {
      answer(() => rules.configure(params));
    },
    describe() {
      return describe(rules.peek() ?? parseParams("{}"));
    },
    create(order, now) {
      return answer(() => create(rules.params(), order, now));
    },
    changeStatus(order, change, by, now) {
      return answer(() => changeStatus(rules.params(), order, change, by, now));
    },
    changePayment(order, change, by, now) {
      return answer(() => changePayment(rules.params(), order, change, by, now));
    },
  };
}

export const lifecycle = makePlugin();
