// The component's glue: the `pricing` interface of the `pricing-plugin` world
// (orderflow:plugins@0.5.0), exported as the bindings of jco's QuickJS backend
// (componentize-qjs) expect it, around the rules of rules.js; the component is built from
// component.js, which exports this with the host's `log` connected. It behaves as the Rust
// SDK's glue does: `configure` keeps the rules made of the workflow's parameters, once (a
// second call is refused as `already_configured`); a decision asked before `configure` is
// refused as `not_configured`, never a trap. A refusal is thrown as the `problem` record
// itself (the bindings make a thrown value the `err` of the WIT result); anything else
// thrown is a bug, and traps (a plugin fault for the host).
//
// The QuickJS bindings give and take an s64 as a Number (a BigInt given back traps), so a
// quote's amounts go back as Numbers: one beyond 2^53, which a Number cannot carry exactly,
// is refused as `amount_overflow` rather than rounded.
//
// Cost, measured with jco 1.35.0 (componentize-qjs 0.4.5) under `orderflow plugin test`: a
// price call takes ~470,000-790,000 fuel on the shared fixtures (the Rust rule 3,000-11,000),
// and each order line adds ~48,000, ~42,000 of which is the bindings lifting it into
// QuickJS. The 100,000,000 fuel a call the host gives a component carrying an interpreter
// therefore prices ~2,000 lines (the standard workflow's validation takes 100 at most).

import { Refusal, parseParams, price } from "./rules.js";
import { toS64 } from "@orderflow/sdk";

const money = ({ minor, currency }) => ({ minor: toS64(minor), currency });

/** One plugin instance: the `pricing` interface, with its own configured rules. */
export function makePricing() {
  let rules = null;
  const refusing = (decide) => {
    try {
      return decide();
    } catch (e) {
      if (e instanceof Refusal) throw e.problem;
      throw e;
    }
  };
  return {
    configure(params) {
      return refusing(() => {
        const made = parseParams(params);
        if (rules !== null) throw new Refusal("already_configured", "configure was called twice");
        rules = made;
      });
    },
    price(order, now) {
      return refusing(() => {
        if (rules === null) throw new Refusal("not_configured", "configure was not called");
        const quote = price(rules, order, now);
        return {
          subtotal: money(quote.subtotal),
          tax: money(quote.tax),
          shipping: money(quote.shipping),
          discount: money(quote.discount),
          total: money(quote.total),
          applied: quote.applied.map((a) => ({ ...a, amount: money(a.amount) })),
        };
      });
    },
  };
}

export const pricing = makePricing();
