// The pricing rules, in plain JavaScript: unit-tested natively (`npm test`), run by the host
// through the glue (src/plugin.js) of the component built from src/component.js. A flat
// price list to start from:
//
// 1. subtotal = Σ unit price × quantity, at the prices the host fetched for the order;
// 2. tax = `tax_bp` of the subtotal (basis points: 825 is 8.25 %), rounded once, half away
//    from zero;
// 3. shipping = the price of the order's method; a method not offered is refused;
// 4. no discounts: an order with a discount code is refused, rather than priced as if the
//    code had applied;
// 5. total = subtotal + tax + shipping.
//
// The host checks every quote (total = subtotal + tax + shipping − discount, nothing
// negative, one currency). Add your rules here, and a fixture for each in fixtures/.
//
// Money is integer minor units, and every amount here is a BigInt: a JS Number is a double,
// exact only up to 2^53, so sums, products and rounding are done in BigInt, exactly, and
// each result is checked against the range of the contract's s64 (`amount_overflow`, never
// a wrap). No amount is ever a float.
//
// An order is the contract's `order-draft` as jco's bindings give it: camelCase fields
// (`order.shippingMethod`), `null` for an absent option, a u32 or an s64 as a Number.

import {
  Refusal,
  applyBp,
  checked,
  i64,
  log,
  map,
  readParams,
  required,
  s64,
  string,
  struct,
  u32,
} from "@orderflow/sdk";

/**
 * The `[pricing.params]` table of a workflow using this plugin (fixtures/params.json for
 * the fixtures): `currency`, the price list's (ISO-4217; an item priced in another is
 * refused); `tax_bp`, tax on the subtotal in basis points; `shipping`, the price of each
 * shipping method offered, in minor units (a Map, sorted by method).
 */
const params = struct("Params", {
  currency: required(string),
  tax_bp: required(u32),
  shipping: required(map(i64)),
});

/**
 * The parameters made of the workflow's JSON. Parameters the rules cannot work with are
 * refused here (a thrown `Refusal`): a workflow that gives them fails to load, rather than
 * failing its orders.
 */
export function parseParams(json) {
  const p = readParams("pricing", json, params);
  if (p.tax_bp > 10000n) {
    throw new Refusal("invalid_params", `tax_bp ${p.tax_bp} exceeds 100 %`);
  }
  for (const [method, rate] of p.shipping) {
    if (rate < 0n) throw new Refusal("invalid_params", `the \`${method}\` shipping rate is negative`);
  }
  return p;
}

/**
 * The quote of `order`: `{subtotal, tax, shipping, discount, total, applied}`, each amount
 * `{minor, currency}` with `minor` a BigInt; or a thrown `Refusal`.
 */
export function price(p, order, _now) {
  if (order.discountCode !== null) {
    // The refusal names the field; the log line, for whoever runs the shop, the code.
    log.info(`discount code \`${order.discountCode}\` refused: the flat list takes none`);
    throw new Refusal("discount_codes_not_accepted", "this price list takes no discount codes", "discount_code");
  }
  const money = (minor) => ({ minor, currency: p.currency });

  let subtotal = 0n;
  order.items.forEach((item, i) => {
    const unit = item.product.unitPrice;
    if (unit.currency !== p.currency) {
      throw new Refusal(
        "currency_not_supported",
        `this price list is in ${p.currency}, the item is priced in ${unit.currency}`,
        `items[${i}]`,
      );
    }
    subtotal = checked(subtotal + checked(s64(unit.minor) * BigInt(item.quantity)));
  });
  const tax = applyBp(subtotal, p.tax_bp);

  const method = order.shippingMethod;
  if (!p.shipping.has(method)) {
    throw new Refusal(
      "unknown_shipping_method",
      `shipping method \`${method}\` is not offered (offered: ${[...p.shipping.keys()].join(", ")})`,
      "shipping_method",
    );
  }
  const shipping = p.shipping.get(method);

  return {
    subtotal: money(subtotal),
    tax: money(tax),
    shipping: money(shipping),
    discount: money(0n),
    total: money(checked(checked(subtotal + tax) + shipping)),
    applied: [
      { rule: "tax", description: `tax at ${p.tax_bp} bp`, amount: money(tax) },
      { rule: `shipping:${method}`, description: `${method} shipping`, amount: money(shipping) },
    ],
  };
}
