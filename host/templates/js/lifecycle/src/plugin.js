// The component's glue: the `lifecycle` interface of the `lifecycle-plugin` world
// (orderflow:plugins@0.5.0, wit/orderflow.wit), exported as the bindings of jco's QuickJS
// backend expect it (`export const lifecycle`, one camelCase method per function), around
// the rules of rules.js. The component is built from src/component.js, which exports this
// with the host's `log` connected; the unit tests import this file. `describe` before
// `configure` shows the machine of the default parameters. The bindings give and take an
// s64 as a Number (a BigInt given back traps), so a refund's BigInt amounts go back as
// Numbers, exactly (`toS64`).

import { answer, configured, toS64 } from "@orderflow/sdk";
import { allowChange, changePayment, changeStatus, create, describe, parseParams, refund } from "./rules.js";

const money = ({ minor, currency }) => ({ minor: toS64(minor), currency });

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
    allowChange(order, change, by, now) {
      answer(() => allowChange(rules.params(), order, change, by, now));
    },
    refund(order, request, now) {
      return answer(() => {
        const r = refund(rules.params(), order, request, now);
        return {
          items: money(r.items),
          tax: money(r.tax),
          shipping: money(r.shipping),
          restockingFee: money(r.restockingFee),
          total: money(r.total),
        };
      });
    },
  };
}

export const lifecycle = makePlugin();
