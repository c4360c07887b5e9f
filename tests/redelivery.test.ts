// Every saga message delivered twice (a second copy under a new Nats-Msg-Id, so JetStream keeps it):
// the end state must be the same as with one delivery, with one charge and one notification per fact.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { inArray, sql } from "drizzle-orm";
import { createDb, type Db, notifications, orderHistory, payments, refunds } from "../db";
import { client } from "./client";
import { duplicateEverything } from "./duplicator";
import { stack } from "./harness";

let api: ReturnType<typeof client>;
let nc: NatsConnection;
let db: Db;
let dup: Awaited<ReturnType<typeof duplicateEverything>>;

beforeAll(async () => {
  const s = await stack();
  api = client(s.edgeUrl);
  db = createDb(s.env.DATABASE_URL!, { max: 2 });
  nc = await connect({ servers: s.env.NATS_URL });
  dup = await duplicateEverything(nc, ["orders.>", "inventory.>", "payments.>"]);
});

afterAll(async () => {
  await nc?.close();
  await db?.$client.end();
});

describe("redelivery", () => {
  test("every message twice: same end states, one charge, one notification each", async () => {
    const seller = await api.user("seller");
    const shopper = await api.user("shopper");
    const p = await api.product(seller.token, 1000, 20);
    const place = (paymentMethod: string, quantity = 1) =>
      api.call("POST", "/v1/orders", {
        token: shopper.token,
        body: { items: [{ productId: p.id, quantity }], paymentMethod },
      });

    const ok = (await place("card_ok", 2)).body.orderId as string;
    const declined = (await place("card_declined", 3)).body.orderId as string;
    const toCancel = (await place("card_ok", 4)).body.orderId as string;
    expect((await api.settled(shopper.token, ok)).status).toBe("CONFIRMED");
    expect((await api.settled(shopper.token, declined)).reason).toBe("PAYMENT_DECLINED");
    expect((await api.settled(shopper.token, toCancel)).status).toBe("CONFIRMED");
    expect((await api.call("POST", `/v1/orders/${toCancel}/cancel`, { token: shopper.token })).status).toBe(202);
    for (;;) {
      const o = (await api.call("GET", `/v1/orders/${toCancel}`, { token: shopper.token })).body;
      if (o.status === "CANCELLED") break;
      await Bun.sleep(50);
    }
    await Bun.sleep(1000); // let the late copies drain

    expect(dup.copies()).toBeGreaterThan(15);
    expect((await api.call("GET", `/v1/products/${p.id}`)).body.stock).toBe(18);
    const ids = [ok, declined, toCancel];
    const pays = await db.select().from(payments).where(inArray(payments.orderId, ids));
    expect(pays).toHaveLength(3);
    const byOrder = Object.fromEntries(pays.map((x) => [x.orderId, x]));
    expect(byOrder[ok]).toMatchObject({ status: "APPROVED", refunded: 0 });
    expect(byOrder[declined]).toMatchObject({ status: "DECLINED", refunded: 0 });
    expect(byOrder[toCancel]).toMatchObject({ status: "APPROVED", refunded: 4000 });
    expect(await db.select().from(refunds).where(inArray(refunds.orderId, ids))).toHaveLength(1);
    const notes = await db
      .select({ orderId: notifications.orderId, kind: notifications.kind })
      .from(notifications)
      .where(inArray(notifications.orderId, ids));
    expect(
      notes.map((n) => `${n.orderId === ok ? "ok" : n.orderId === declined ? "declined" : "cancel"}:${n.kind}`).sort(),
    ).toEqual(["cancel:cancelled", "cancel:confirmed", "declined:cancelled", "ok:confirmed"]);
    const history = await db
      .select({ orderId: orderHistory.orderId, n: sql<number>`count(*)::int` })
      .from(orderHistory)
      .where(inArray(orderHistory.orderId, ids))
      .groupBy(orderHistory.orderId);
    expect(Object.fromEntries(history.map((h) => [h.orderId, h.n]))).toEqual({ [ok]: 2, [declined]: 2, [toCancel]: 3 });
  });
});
