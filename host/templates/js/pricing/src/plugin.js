// The component's glue: the `pricing` interface of the `pricing-plugin` world
// (orderflow:plugins@0.5.0, wit/orderflow.wit), exported as the bindings of jco's QuickJS
// backend expect it (`export const pricing`, one method per function), around the rules of
// rules.js. The component is built from src/component.js, which exports this with the
// host's `log` connected; the unit tests import this file. The bindings give and take an
// s64 as a Number (a BigInt given back traps), so the quote's BigInt amounts go back as
// Numbers, exactly (`toS64`).

import { answer, configured, toS64 } from "@orderflow/sdk";
import { parseParams, price } from "./rules.js";

const money = ({ minor, currency }) => ({ minor: toS64(minor), currency });

/** One plugin instance: the `pricing` interface, with its own configured rules. */
export function makePlugin() {
  const rules = configured(parseParams);
  return {
    configure(params) {
      answer(() => rules.configure(params));
    },
    price(order, now) {
      return answer(() => {
        const q = price(rules.params(), order, now);
        return {
          subtotal: money(q.subtotal),
          tax: money(q.tax),
          shipping: money(q.shipping),
          discount: money(q.discount),
          total: money(q.total),
          applied: q.applied.map((a) => ({ ...a, amount: money(a.amount) })),
        };
      });
    },
  };
}

export const pricing = makePlugin();
