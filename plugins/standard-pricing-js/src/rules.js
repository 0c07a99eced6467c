// Standard pricing rules: a port of the Rust rule (plugins/standard-pricing/src/rules.rs,
// with the SDK's price.rs that it builds on), held to the same fixtures.
//
// Order of computation:
// 1. subtotal = Σ unit price × quantity (snapshot prices);
// 2. discount from the code, if any (percentage of the subtotal, or a fixed amount capped
//    at the subtotal), within its validity window and above its minimum subtotal;
// 3. tax = rate of (country, region), else of the country, else 0, applied to
//    subtotal − discount (shipping is not taxed);
// 4. shipping by method; the methods listed in `free_methods` cost nothing when
//    subtotal − discount reaches `free_over`;
// 5. total = subtotal + tax + shipping − discount.
//
// Money is integer minor units, and every amount here is a BigInt: a JS Number is a double,
// exact only to 2^53, so sums, products and the rounding below are done in BigInt and are
// exact; each result is checked against the range of the contract's s64, as the Rust rule
// checks its i64 arithmetic (`amount_overflow` instead of a wrap). An s64 the bindings hand
// over as a Number is taken only if it is a safe integer (|n| < 2^53), since a larger one
// may already have been rounded on its way in.
//
// Rounding rule: amounts are computed exactly and rounded once, half away from zero, to the
// minor unit (tax and percentage discounts are the only divisions): `applyBp`.
//
// The records are those of the WIT contract as JS bindings give them (camelCase fields,
// `null` for an absent option); a refusal is thrown as a `Refusal` carrying the problem.

// The refusal, exact money and the parameters' readers are the SDK's (@orderflow/sdk,
// plugins/sdk-js), as in the projects `orderflow plugin new --lang js` writes.
import {
  Refusal,
  applyBp,
  checked,
  i64,
  map,
  option,
  optional,
  readParams,
  required,
  s64,
  sequence,
  string,
  struct,
  u32,
} from "@orderflow/sdk";

export { Refusal, applyBp, s64 };

// Strings as Rust compares and changes them.

/** Rust's `str::trim`: the characters of Unicode's White_Space property, at both ends. */
const WHITE_SPACE = /^[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+|[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+$/g;
const trim = (s) => s.replace(WHITE_SPACE, "");
/** ASCII letters only change case, as Rust's `to_ascii_uppercase` and friends. */
const asciiUpper = (s) => s.replace(/[a-z]+/g, (m) => m.toUpperCase());
const asciiLower = (s) => s.replace(/[A-Z]+/g, (m) => m.toLowerCase());
const eqIgnoreAsciiCase = (a, b) => asciiLower(a) === asciiLower(b);

// The parameters: the `[pricing.params]` table of a workflow, as JSON.

const absent = () => null;

const taxRate = struct("TaxRate", {
  country: required(string),
  // None: the rate for every region of the country without a rate of its own.
  region: optional(option(string), absent),
  // Basis points: 725 is 7.25 %.
  rate_bp: required(u32),
});

const shipping = struct("Shipping", {
  // Price per shipping method, in minor units.
  rates: required(map(i64)),
  // Subtotal after discount from which `free_methods` ship free.
  free_over: optional(option(i64), absent),
  free_methods: optional(sequence(string), () => ["standard"]),
});

const discount = struct("Discount", {
  // Basis points of the subtotal; exclusive with `fixed`.
  percent_bp: optional(option(u32), absent),
  // Minor units off, capped at the subtotal; exclusive with `percent_bp`.
  fixed: optional(option(i64), absent),
  min_subtotal: optional(i64, () => 0n),
  // Unix milliseconds (a TOML datetime in the workflow file).
  valid_from: optional(option(i64), absent),
  // Exclusive end of the validity window, Unix milliseconds.
  valid_until: optional(option(i64), absent),
});

const params = struct("Params", {
  // The one currency this price list is in.
  currency: required(string),
  shipping: required(shipping),
  tax: optional(sequence(taxRate), () => []),
  // Discount codes by code (matched case-insensitively).
  discounts: optional(map(discount), () => new Map()),
});

const badParams = (message) => new Refusal("invalid_params", message);

/**
 * The rules' parameters made of the workflow's JSON, checked; a refusal is an
 * `invalid_params` problem. Integers are BigInts; maps are `Map`s sorted as Rust's
 * `BTreeMap`.
 */
export function parseParams(json) {
  const parsed = readParams("pricing", json, params);
  check(parsed);
  return parsed;
}

function check(p) {
  // What every price list's parameters must be (the SDK's `check_price_list`).
  const { currency } = p;
  if (!/^[A-Z]{3}$/.test(currency)) {
    throw badParams(`currency \`${currency}\` is not ISO-4217`);
  }
  for (const [method, rate] of p.shipping.rates) {
    if (rate < 0n) throw badParams(`shipping rate of \`${method}\` is negative`);
  }
  const tooHigh = p.tax.find((t) => t.rate_bp > 10000n);
  if (tooHigh) throw badParams(`tax rate of ${tooHigh.country} exceeds 100 %`);
  for (const [code, d] of p.discounts) {
    const percent = d.percent_bp !== null && d.fixed === null && d.percent_bp <= 10000n;
    const fixed = d.percent_bp === null && d.fixed !== null && d.fixed >= 0n;
    if (!percent && !fixed) {
      throw badParams(
        `discount \`${code}\` needs exactly one of percent_bp (≤ 10000) or fixed (≥ 0)`,
      );
    }
  }
}

// The quote.

/**
 * The quote of `order` at `now` (Unix milliseconds) by the parameters `p` (made by
 * `parseParams`): `{subtotal, tax, shipping, discount, total, applied}`, every amount a
 * `{minor: BigInt, currency}`; or a thrown `Refusal`.
 */
export function price(p, order, now) {
  const currency = p.currency;
  const money = (minor) => ({ minor, currency });
  const applied = [];

  // 1. subtotal
  let subtotal = 0n;
  order.items.forEach((item, i) => {
    const unit = item.product.unitPrice;
    if (unit.currency !== currency) {
      throw new Refusal(
        "currency_not_supported",
        `this price list is in ${currency}, the item is priced in ${unit.currency}`,
        `items[${i}]`,
      );
    }
    const line = checked(s64(unit.minor) * BigInt(item.quantity));
    subtotal = checked(subtotal + line);
  });

  // 2. discount
  let discount = 0n;
  if (order.discountCode !== null && order.discountCode !== undefined) {
    const code = order.discountCode;
    discount = discountAmount(p, code, subtotal, s64(now));
    const shown = asciiUpper(code);
    applied.push({
      rule: `discount:${shown}`,
      description: `discount code ${shown}`,
      amount: money(discount),
    });
  }
  // Never negative nor beyond the i64 range: the discount is at most the subtotal.
  const discounted = subtotal - discount;

  // 3. tax
  let tax = 0n;
  const address = order.shippingAddress;
  const rate =
    p.tax.find((t) => t.country === address.country && t.region === address.state) ??
    p.tax.find((t) => t.country === address.country && t.region === null);
  if (rate) {
    tax = applyBp(discounted, rate.rate_bp);
    const place = rate.region === null ? rate.country : `${rate.country}-${rate.region}`;
    applied.push({
      rule: `tax:${place}`,
      description: `${place} tax at ${rate.rate_bp} bp`,
      amount: money(tax),
    });
  }

  // 4. shipping
  const method = order.shippingMethod;
  const rates = p.shipping.rates;
  if (!rates.has(method)) {
    throw new Refusal(
      "unknown_shipping_method",
      `shipping method \`${method}\` is not offered (offered: ${[...rates.keys()].join(", ")})`,
      "shipping_method",
    );
  }
  const free =
    p.shipping.free_over !== null &&
    discounted >= p.shipping.free_over &&
    p.shipping.free_methods.includes(method);
  const shippingCost = free ? 0n : rates.get(method);
  applied.push({
    rule: `shipping:${method}`,
    description: free ? `free ${method} shipping over the threshold` : `${method} shipping`,
    amount: money(shippingCost),
  });

  // 5. total
  const total = checked(checked(discounted + tax) + shippingCost);
  return {
    subtotal: money(subtotal),
    tax: money(tax),
    shipping: money(shippingCost),
    discount: money(discount),
    total: money(total),
    applied,
  };
}

function discountAmount(p, code, subtotal, now) {
  const field = "discount_code";
  const wanted = trim(code);
  let found = null;
  for (const [known, d] of p.discounts) {
    if (eqIgnoreAsciiCase(known, wanted)) {
      found = d;
      break;
    }
  }
  if (found === null) {
    throw new Refusal("unknown_discount_code", "this discount code does not exist", field);
  }
  if (found.valid_from !== null && now < found.valid_from) {
    throw new Refusal("discount_not_yet_valid", "this discount code is not valid yet", field);
  }
  if (found.valid_until !== null && now >= found.valid_until) {
    throw new Refusal("discount_expired", "this discount code has expired", field);
  }
  if (subtotal < found.min_subtotal) {
    throw new Refusal(
      "discount_minimum_not_met",
      `this discount code needs a subtotal of at least ${found.min_subtotal} minor units`,
      field,
    );
  }
  const amount = found.percent_bp !== null ? applyBp(subtotal, found.percent_bp) : found.fixed;
  return amount < subtotal ? amount : subtotal;
}
