// The payment handler on real Postgres, a batch at a time, with a gateway that answers at once: one payment
// per order however often it is charged, one fact per settlement, and a settlement that outruns its charge.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { inArray } from "drizzle-orm";
import { createDb, type Db, payments } from "../../db";
import { breaker, type GatewayClient, type GatewayPayment } from "../../domain/payment";
import { envelope, uuidv7 } from "../../nats";
import { stack } from "../../tests/harness";
import type { Incoming } from "../lib/worker";
import { paymentHandler } from "./worker";

let db: Db;
beforeAll(async () => {
  db = createDb((await stack()).env.DATABASE_URL!, { max: 4 });
}, 60_000);
afterAll(async () => {
  await db?.$client.end();
});

/** The gateway's side of a charge: idempotent by order id, like the simulator. */
const charged = new Map<string, GatewayPayment>();
const gateway: GatewayClient = {
  breaker: breaker("test-gateway"),
  charge: async (p) => {
    const g = charged.get(p.orderId) ?? {
      id: `pay_${uuidv7()}`,
      orderId: p.orderId,
      amount: p.amount,
      method: p.method,
      status: "pending" as const,
      refunded: 0,
    };
    charged.set(p.orderId, g);
    return g;
  },
  get: async (id) => [...charged.values()].find((g) => g.id === id)!,
  refund: async (id) => [...charged.values()].find((g) => g.id === id)!,
};
const handle = paymentHandler(gateway);
const run = (batch: Incoming[]) => db.transaction((tx) => handle(tx, batch, () => {}));
const charge = (orderId: string, amount = 1000): Incoming => ({
  env: envelope("payments.cmd.charge", { orderId, amount, method: "card_ok" }),
});
const settle = (orderId: string, approved: boolean): Incoming => ({
  env: envelope("payments.cmd.settle", { orderId, gatewayPaymentId: charged.get(orderId)!.id, approved }),
});

describe("payment batch", () => {
  test("each order is charged once and recorded once, however often the charge comes", async () => {
    const ids = [uuidv7(), uuidv7(), uuidv7()];
    expect(await run([...ids.map((id, i) => charge(id, 1000 * (i + 1))), charge(ids[0]!)])).toEqual([]);
    expect(await run([charge(ids[1]!)])).toEqual([]);
    const rows = await db.select().from(payments).where(inArray(payments.orderId, ids));
    expect(rows.map((r) => [r.orderId, r.amount, r.status, r.gatewayPaymentId]).sort()).toEqual(
      ids.map((id, i) => [id, 1000 * (i + 1), "PENDING", charged.get(id)!.id]).sort(),
    );
  });

  test("settlements answer approved or declined in batch order, once per payment", async () => {
    const [a, b, c] = [uuidv7(), uuidv7(), uuidv7()];
    await run([charge(a, 500), charge(b, 700), charge(c, 900)]);
    const out = await run([settle(a, true), settle(b, false), settle(a, true), settle(c, true)]);
    expect(out.map((o) => o.msg)).toEqual([
      { type: "payments.evt.approved", data: { orderId: a, amount: 500 } },
      { type: "payments.evt.declined", data: { orderId: b } },
      { type: "payments.evt.approved", data: { orderId: c, amount: 900 } },
    ]);
    expect(out.map((o) => o.cause.env.data)).toEqual(
      [settle(a, true), settle(b, false), settle(c, true)].map((s) => s.env.data),
    );
    expect(await run([settle(c, true)])).toEqual([]); // settled before: no second fact
  });

  test("a settlement whose charge is not recorded yet fails its batch, to be retried", async () => {
    const early = uuidv7();
    await gateway.charge({ orderId: early, amount: 100, method: "card_ok" });
    await expect(run([settle(early, true)])).rejects.toThrow("settle before charge was recorded");
    await run([charge(early, 100)]);
    expect((await run([settle(early, true)])).map((o) => o.msg.type)).toEqual(["payments.evt.approved"]);
  });
});
