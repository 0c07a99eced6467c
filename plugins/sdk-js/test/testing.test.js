// The fixture runner (testing.js) on fixtures of its own: a fixture per call, through a glue
// that answers as jco's bindings expect.

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after } from "node:test";
import { pathToFileURL } from "node:url";
import { testFixtures } from "../testing.js";

const dir = mkdtempSync(join(tmpdir(), "orderflow-sdk-fixtures-"));
after(() => rmSync(dir, { recursive: true }));
const write = (name, value) => writeFileSync(join(dir, name), JSON.stringify(value));
write("params.json", { fee: 5 });
write("01-price.json", {
  call: "price",
  now: 7,
  args: { order: { shipping_method: "standard" } },
  expect: { ok: { fee: 5, method: "standard", at: 7 } },
});
write("02-own-params.json", {
  call: "price",
  params: { fee: 9 },
  args: { order: { shipping_method: "express" } },
  expect: { ok: { fee: 9, method: "express", at: 0 } },
});
write("03-refused.json", {
  call: "change_status",
  args: { order: { status: "pending" }, change: { to: "shipped" }, by: { role: "user" } },
  expect: { err: { code: "not_allowed", message: "pending to shipped", field: null } },
});
write("04-describe.json", { call: "describe", args: {}, expect: { ok: { final_statuses: ["done"] } } });
write("05-allow-change.json", {
  call: "allow_change",
  now: 3,
  args: { order: { status: "pending" }, change: "return", by: { role: "user" } },
  expect: { ok: null },
});
write("06-refund.json", {
  call: "refund",
  now: 4,
  args: { order: { status: "delivered" }, request: { delivered_at: 1 } },
  expect: { ok: { restocking_fee: 3 } },
});

testFixtures(pathToFileURL(`${dir}/`), () => {
  let fee = null;
  return {
    configure(json) {
      fee = JSON.parse(json).fee;
    },
    price: (order, now) => ({ fee, method: order.shippingMethod, at: now }),
    changeStatus(order, change, by) {
      const field = by.role === "admin" ? "x" : null;
      throw { code: "not_allowed", message: `${order.status} to ${change.to}`, field };
    },
    describe: () => ({ finalStatuses: ["done"] }),
    allowChange(order, change, by, now) {
      if (`${order.status} ${change} ${by.role} ${now}` !== "pending return user 3") throw new Error(change);
    },
    refund: (order, request, now) => ({ restockingFee: now - request.deliveredAt }),
  };
});
