// Crashes between commit and ack: a stack of its own whose order, inventory and payment processes each
// SIGKILL themselves once, right after committing a batch and before publishing what it caused and acking it
// (CHAOS_CRASH_AFTER_COMMIT). The restarted process publishes again what its kind recorded in its inbox rows,
// JetStream redelivers what the dead one never acked and the inbox, which has it, publishes its recorded
// messages again under the same ids: every order finishes, and nothing happens twice.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { inArray, isNull, sql } from "drizzle-orm";
import { createDb, type Db, notifications, orderHistory, outbox, payments, refunds, reservations } from "../db";
import { consumers } from "../nats";
import { type PrivateStack, root } from "../scripts/lib/private-stack";
import { client, eventually } from "./client";
import { ownStack } from "./harness";

const chaosDir = mkdtempSync(join(tmpdir(), "flashsale-chaos-"));
const crashing = ["order", "inventory", "payment"] as const;
let s: PrivateStack;
let api: ReturnType<typeof client>;
let db: Db;
let nc: NatsConnection;

beforeAll(async () => {
  s = await ownStack({
    name: `crash_${process.pid}`,
    logFile: join(root, ".data", `test-crash-${process.pid}.log`),
    env: {
      CHAOS_CRASH_AFTER_COMMIT: "order:2,inventory:1,payment:1",
      CHAOS_STATE_DIR: chaosDir,
      // past the 30 s ack wait: a settlement the dead payment process had taken comes back only then
      PAYMENT_DEADLINE_MS: "60000",
      // one shopper polls eight orders at once
      RATE_LIMIT_CAPACITY: "100000",
      RATE_LIMIT_REFILL_PER_S: "100000",
    },
  });
  api = client(s.edgeUrl);
  db = createDb(s.env.DATABASE_URL!, { max: 2 });
  nc = await connect({ servers: s.env.NATS_URL });
}, 60_000);
afterAll(async () => {
  await nc?.close();
  await db?.$client.end();
  await s?.stop();
  rmSync(chaosDir, { recursive: true, force: true });
});

describe("SIGKILL between commit and ack", () => {
  test("every order finishes with one reservation, one charge, one refund and one notification each", async () => {
    const seller = await api.user("seller");
    const shopper = await api.user("shopper");
    const p = await api.product(seller.token, 1000, 100);
    const methods = [
      "card_ok",
      "card_ok",
      "card_declined",
      "card_ok",
      "card_ok",
      "card_declined",
      "card_ok",
      "card_ok",
    ];
    const ids = await Promise.all(
      methods.map(async (paymentMethod, i) => {
        const r = await api.call("POST", "/v1/orders", {
          token: shopper.token,
          body: { items: [{ productId: p.id, quantity: 1 + (i % 3) }], paymentMethod },
        });
        expect(r.status).toBe(202);
        return r.body.orderId as string;
      }),
    );
    const quantity = (i: number) => 1 + (i % 3);

    const settled = await Promise.all(ids.map((id) => api.settled(shopper.token, id, 55_000)));
    // each kind was killed once, and its supervisor started a new process (after its backoff: the orders may
    // have settled before, when the kill came after the last commit)
    for (const kind of crashing) {
      expect(existsSync(join(chaosDir, `crashed-${kind}`))).toBe(true);
      const killed = readFileSync(join(chaosDir, `crashed-${kind}`), "utf8");
      await eventually(
        async () => (String(s.supervisor.running.get(kind)?.pid) !== killed ? true : undefined),
        10_000,
        `${kind} restarted`,
      );
    }
    for (const [i, o] of settled.entries()) expect(o.status).toBe(methods[i] === "card_ok" ? "CONFIRMED" : "CANCELLED");
    const confirmed = ids.filter((_, i) => methods[i] === "card_ok");
    const toCancel = confirmed[0]!;
    expect((await api.call("POST", `/v1/orders/${toCancel}/cancel`, { token: shopper.token })).status).toBe(202);
    await eventually(
      async () =>
        (await api.call("GET", `/v1/orders/${toCancel}`, { token: shopper.token })).body.status === "CANCELLED"
          ? true
          : undefined,
      30_000,
    );

    // what the dead processes never acked comes back after the ack wait (30 s) and is dropped by the inbox
    const jsm = await jetstreamManager(nc);
    await eventually(
      async () => {
        for (const spec of Object.values(consumers).flat()) {
          const info = await jsm.consumers.info(spec.stream, spec.durable);
          if (info.num_ack_pending || info.num_pending) return undefined;
        }
        const [unsent] = await db.select({ n: sql<number>`count(*)::int` }).from(outbox).where(isNull(outbox.sentAt));
        return unsent!.n === 0 ? true : undefined;
      },
      60_000,
      "every message acked and every outbox row sent",
    );
    await Bun.sleep(500);

    const kept = ids.filter((id, i) => methods[i] === "card_ok" && id !== toCancel);
    const sold = ids.reduce((n, id, i) => n + (kept.includes(id) ? quantity(i) : 0), 0);
    expect((await api.call("GET", `/v1/products/${p.id}`)).body.stock).toBe(100 - sold);
    const pays = await db.select().from(payments).where(inArray(payments.orderId, ids));
    expect(pays).toHaveLength(ids.length);
    expect(
      pays
        .filter((x) => x.status === "APPROVED")
        .map((x) => x.orderId)
        .sort(),
    ).toEqual([...confirmed].sort());
    expect(pays.find((x) => x.orderId === toCancel)!.refunded).toBe(pays.find((x) => x.orderId === toCancel)!.amount);
    expect(pays.filter((x) => x.orderId !== toCancel).every((x) => x.refunded === 0)).toBe(true);
    expect(await db.select().from(refunds).where(inArray(refunds.orderId, ids))).toHaveLength(1);
    const res = await db.select().from(reservations).where(inArray(reservations.orderId, ids));
    expect(res).toHaveLength(ids.length); // one item each, reserved once (declined ones released)
    const history = await db
      .select({ orderId: orderHistory.orderId, status: orderHistory.status })
      .from(orderHistory)
      .where(inArray(orderHistory.orderId, ids))
      .orderBy(orderHistory.seq);
    for (const [i, id] of ids.entries()) {
      const expected =
        id === toCancel
          ? ["PENDING", "CONFIRMED", "CANCELLED"]
          : methods[i] === "card_ok"
            ? ["PENDING", "CONFIRMED"]
            : ["PENDING", "CANCELLED"];
      expect(history.filter((h) => h.orderId === id).map((h) => h.status as string)).toEqual(expected);
    }
    const notes = await db.select().from(notifications).where(inArray(notifications.orderId, ids));
    expect(notes).toHaveLength(ids.length + 1); // one per order, and the cancelled confirmed order's second
  }, 150_000);
});
