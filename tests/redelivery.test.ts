// Every saga message delivered twice (a second copy under a new Nats-Msg-Id, so JetStream keeps it):
// the end state must be the same as with one delivery, with one charge and one notification per fact.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { inArray, sql } from "drizzle-orm";
import { createDb, type Db, notifications, orderHistory, payments, refunds } from "../db";
import { client, eventually } from "./client";
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
    await eventually(
      async () =>
        (await api.call("GET", `/v1/orders/${toCancel}`, { token: shopper.token })).body.status === "CANCELLED" ||
        undefined,
      15_000,
      "the cancel",
    );
    // the end state, read as one object so a failure shows all of it
    const ids = [ok, declined, toCancel];
    const name = (id: string | null) => (id === ok ? "ok" : id === declined ? "declined" : "cancel");
    const endState = async () => {
      const pays = await db.select().from(payments).where(inArray(payments.orderId, ids));
      const notes = await db
        .select({ orderId: notifications.orderId, kind: notifications.kind })
        .from(notifications)
        .where(inArray(notifications.orderId, ids));
      const history = await db
        .select({ orderId: orderHistory.orderId, n: sql<number>`count(*)::int` })
        .from(orderHistory)
        .where(inArray(orderHistory.orderId, ids))
        .groupBy(orderHistory.orderId);
      return {
        stock: (await api.call("GET", `/v1/products/${p.id}`)).body.stock,
        payments: Object.fromEntries(
          pays.map((x) => [name(x.orderId), { status: x.status as string, refunded: x.refunded }]),
        ),
        refunds: (await db.select().from(refunds).where(inArray(refunds.orderId, ids))).length,
        notes: notes.map((n) => `${name(n.orderId)}:${n.kind}`).sort(),
        history: Object.fromEntries(history.map((h) => [name(h.orderId), h.n])),
      };
    };
    const expected = {
      stock: 18,
      payments: {
        cancel: { status: "APPROVED", refunded: 4000 },
        declined: { status: "DECLINED", refunded: 0 },
        ok: { status: "APPROVED", refunded: 0 },
      },
      refunds: 1,
      notes: ["cancel:cancelled", "cancel:confirmed", "declined:cancelled", "ok:confirmed"],
      history: { cancel: 3, declined: 2, ok: 2 },
    };
    // the last effects (the cancel's notification) land a moment after the order reads CANCELLED, later on a
    // busy machine: wait for the expected state, then give the late copies time and check it again exactly
    await eventually(
      async () => (Bun.deepEquals(await endState(), expected) ? true : undefined),
      15_000,
      "the end state",
    ).catch(() => undefined);
    await Bun.sleep(1000);
    expect(dup.copies()).toBeGreaterThan(15);
    expect(await endState()).toEqual(expected);
  });
});
