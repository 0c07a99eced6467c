// The validation rules, in plain JavaScript: unit-tested natively (`npm test`), run by the
// host through the glue (src/plugin.js) of the component built from src/component.js. Two
// rules to start from:
//
// - at most `max_quantity` units of a product per order;
// - only the `payment_methods` listed are accepted.
//
// Every violation is reported, not just the first, each with the path of the field it is
// about (`items[2].quantity`), so a client can mark every faulty field at once. Add your
// rules to `validate`, and a fixture for each in fixtures/.
//
// An order is the contract's `order-draft` as jco's bindings give it: camelCase fields
// (`order.paymentMethod`), `null` for an absent option, a u32 or an s64 as a Number.

import { Refusal, log, problem, readParams, required, sequence, string, struct, u32 } from "@orderflow/sdk";

/**
 * The `[validation.params]` table of a workflow using this plugin (fixtures/params.json for
 * the fixtures): `max_quantity`, the most units of one product an order may take (a BigInt);
 * `payment_methods`, those accepted, e.g. `["card", "invoice"]`.
 */
const params = struct("Params", {
  max_quantity: required(u32),
  payment_methods: required(sequence(string)),
});

/**
 * The parameters made of the workflow's JSON. Parameters the rules cannot work with are
 * refused here (a thrown `Refusal`): a workflow that gives them fails to load, rather than
 * failing its orders.
 */
export function parseParams(json) {
  const p = readParams("validation", json, params);
  if (p.max_quantity === 0n || p.payment_methods.length === 0) {
    throw new Refusal("invalid_params", "max_quantity and payment_methods must allow something");
  }
  return p;
}

/** Every problem of `order` (none: it may be placed). */
export function validate(p, order, _now) {
  const problems = [];
  order.items.forEach((item, i) => {
    if (BigInt(item.quantity) > p.max_quantity) {
      problems.push(
        problem(
          "too_many_units",
          `at most ${p.max_quantity} units of a product per order`,
          `items[${i}].quantity`,
        ),
      );
    }
  });
  const method = order.paymentMethod;
  if (!p.payment_methods.includes(method)) {
    problems.push(
      problem(
        "payment_method_not_accepted",
        `payment method \`${method}\` is not accepted (accepted: ${p.payment_methods.join(", ")})`,
        "payment_method",
      ),
    );
  }
  if (problems.length > 0) {
    log.info(`${problems.length} problems with ${order.items.length} lines paid by \`${method}\``);
  }
  return problems;
}
