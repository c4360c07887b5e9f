// Two instances of every actor kind on one stack of its own (competing consumers), with a second copy of
// every saga message as it flows, so both instances race on the same orders: many orders at once, mixed
// payment outcomes and too little stock for all. Automatic delivery runs in both order processes too.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { inArray, sql } from "drizzle-orm";
import { createDb, type Db, notifications, orderHistory, payments, refunds, reservations } from "../db";
import { consumers } from "../nats";
import { accounts } from "../scripts/lib/accounts";
import { type PrivateStack, root } from "../scripts/lib/private-stack";
import { client, eventually } from "./client";
import { duplicateEverything } from "./duplicator";
import { ownStack } from "./harness";

let s: PrivateStack;
let api: ReturnType<typeof client>;
let db: Db;
let nc: NatsConnection;
let dup: Awaited<ReturnType<typeof duplicateEverything>>;

beforeAll(async () => {
  s = await ownStack({
    name: `replicas_${process.pid}`,
    logFile: join(root, ".data", `test-replicas-${process.pid}.log`),
    replicas: 2,
    env: {
      PAYMENT_DEADLINE_MS: "10000",
      AUTO_DELIVER_AFTER_MS: "1500",
      RATE_LIMIT_CAPACITY: "100000",
      RATE_LIMIT_REFILL_PER_S: "100000",
    },
  });
  api = client(s.edgeUrl);
  db = createDb(s.env.DATABASE_URL!, { max: 2 });
  nc = await connect({ servers: s.env.NATS_URL });
  dup = await duplicateEverything(nc, ["orders.cmd.>", "inventory.>", "payments.>"]);
}, 90_000);
afterAll(async () => {
  await nc?.close();
  await db?.$client.end();
  await s?.stop();
});

describe("two instances of every actor", () => {
  test("many concurrent orders with mixed payments: each settles once, stock and money add up", async () => {
    expect([...s.supervisor.running.keys()].filter((k) => k.startsWith("order-"))).toHaveLength(2);
    const seller = await api.user("seller");
    const STOCK = 150;
    const p = await api.product(seller.token, 1000, STOCK);
    const buyers = await accounts(s.env, "shopper", 40);
    const methods = ["card_ok", "card_ok", "card_ok", "card_declined", "card_ok", "card_no_answer"] as const;
    const orders = Array.from({ length: 120 }, (_, i) => ({
      buyer: buyers[i % buyers.length]!,
      method: methods[i % methods.length]!,
      quantity: 1 + (i % 3),
    }));
    const placed = await Promise.all(
      orders.map(async (o) => {
        const r = await api.call("POST", "/v1/orders", {
          token: o.buyer.token,
          body: { items: [{ productId: p.id, quantity: o.quantity }], paymentMethod: o.method },
        });
        expect(r.status).toBe(202);
        return { ...o, id: r.body.orderId as string };
      }),
    );
    const ids = placed.map((o) => o.id);
    const final = await Promise.all(placed.map((o) => api.settled(o.buyer.token, o.id, 60_000)));

    const outcomes = {
      card_ok: ["OUT_OF_STOCK"],
      card_declined: ["PAYMENT_DECLINED", "OUT_OF_STOCK"],
      card_no_answer: ["PAYMENT_TIMEOUT", "OUT_OF_STOCK"],
    };
    for (const [i, o] of final.entries()) {
      const method = placed[i]!.method;
      if (o.status === "CONFIRMED") expect(method).toBe("card_ok");
      else expect(outcomes[method]).toContain(o.reason);
    }
    const confirmed = placed.filter((_, i) => final[i]!.status === "CONFIRMED");
    const sold = confirmed.reduce((n, o) => n + o.quantity, 0);
    expect(confirmed.length).toBeGreaterThan(20);
    expect(final.some((o) => o.reason === "OUT_OF_STOCK")).toBe(true); // the stock ran out on the way

    // a seller ships a few; the scheduler in the order processes delivers them
    const shipped = confirmed.slice(0, 3);
    for (const o of shipped)
      expect((await api.call("POST", `/v1/orders/${o.id}/ship`, { token: seller.token })).status).toBe(202);
    for (const o of shipped)
      await eventually(
        async () =>
          (await api.call("GET", `/v1/orders/${o.id}`, { token: o.buyer.token })).body.status === "DELIVERED"
            ? true
            : undefined,
        15_000,
        "automatic delivery",
      );

    const jsm = await jetstreamManager(nc);
    await eventually(
      async () => {
        for (const spec of Object.values(consumers).flat()) {
          const info = await jsm.consumers.info(spec.stream, spec.durable);
          if (info.num_ack_pending || info.num_pending) return undefined;
        }
        return true;
      },
      30_000,
      "every message acked",
    );
    expect(dup.copies()).toBeGreaterThan(ids.length * 4);

    expect((await api.call("GET", `/v1/products/${p.id}`)).body.stock).toBe(STOCK - sold);
    const pays = await db.select().from(payments).where(inArray(payments.orderId, ids));
    expect(new Set(pays.map((x) => x.orderId)).size).toBe(pays.length);
    expect(
      pays
        .filter((x) => x.status === "APPROVED")
        .map((x) => x.orderId)
        .sort(),
    ).toEqual(confirmed.map((o) => o.id).sort());
    expect(pays.every((x) => x.refunded === 0)).toBe(true);
    expect(await db.select().from(refunds).where(inArray(refunds.orderId, ids))).toHaveLength(0);
    const reserved = await db.select().from(reservations).where(inArray(reservations.orderId, ids));
    expect(
      reserved
        .filter((r) => r.status === "RESERVED")
        .map((r) => r.orderId)
        .sort(),
    ).toEqual(confirmed.map((o) => o.id).sort());
    const history = await db
      .select({
        orderId: orderHistory.orderId,
        statuses: sql<string[]>`array_agg(${orderHistory.status}::text order by ${orderHistory.seq})`,
      })
      .from(orderHistory)
      .where(inArray(orderHistory.orderId, ids))
      .groupBy(orderHistory.orderId);
    const byId = Object.fromEntries(history.map((h) => [h.orderId, h.statuses]));
    for (const [i, o] of placed.entries()) {
      const expected = shipped.includes(o)
        ? ["PENDING", "CONFIRMED", "SHIPPED", "DELIVERED"]
        : ["PENDING", final[i]!.status];
      expect(byId[o.id]).toEqual(expected);
    }
    const notes = await db
      .select({ orderId: notifications.orderId })
      .from(notifications)
      .where(inArray(notifications.orderId, ids));
    expect(notes).toHaveLength(ids.length);
  }, 150_000);
});
