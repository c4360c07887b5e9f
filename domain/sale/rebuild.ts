// Redis is a cache of truth: after it loses a sale's counters they are rebuilt from Postgres, which holds
// the sale's quantity and every order. One rebuilder at a time (a Redis lock); it first waits until the order
// consumer has drained, so every purchase admitted before the loss is an order row.
import type { JetStreamManager } from "@nats-io/jetstream";
import { eq, sql } from "drizzle-orm";
import { type Db, orderItems, orders, reservations, sales } from "../../db";
import type { Logger } from "../../nats";
import type { RedisClient } from "../redis";
import { type Gate, type GateLoad, saleKeys } from "./gate";
import { encodeHold, encodeIdem, idemField } from "./hold";

const DAY_MS = 86_400_000;
/** A rebuilder holds the sale's rebuild lock at most this long (it dies: the next one takes over). */
const REBUILD_LOCK_MS = 15_000;
/** How long a rebuild waits for the order consumer to drain before giving up for now (503). */
const DRAIN_WAIT_MS = 5_000;

/** A sale's keys live a day past its end; an open-ended sale's for a week from now (a rebuild extends it). */
export function expiryOf(sale: { endsAt: Date | null }, now = Date.now()) {
  return sale.endsAt ? sale.endsAt.getTime() + DAY_MS : now + 7 * DAY_MS;
}

export async function gateFromPostgres(db: Db, saleId: string): Promise<GateLoad | undefined> {
  const [sale] = await db.select().from(sales).where(eq(sales.id, saleId));
  if (!sale) return undefined;
  // an order holds units unless it is cancelled or its reservation was released already; given-back ones stay
  // listed as released holds, so every order of the sale has its hold
  const rows = await db
    .select({
      orderId: orders.id,
      userId: orders.userId,
      status: orders.status,
      at: orders.createdAt,
      itemId: orderItems.id,
      qty: orderItems.quantity,
      key: orders.idempotencyKey,
      hash: orders.requestHash,
      released: sql<boolean>`exists (select 1 from ${reservations} r where r.order_id = ${orders.id} and r.status = 'RELEASED')`,
    })
    .from(orders)
    .innerJoin(orderItems, eq(orderItems.orderId, orders.id))
    .where(eq(orders.saleId, saleId))
    .orderBy(orders.createdAt, orders.id);
  const users: Record<string, number> = {};
  const holds: Record<string, string> = {};
  // a keyed purchase's retry is answered with its order again, as before the loss
  const idem: Record<string, string> = {};
  let taken = 0;
  for (const r of rows) {
    const field = r.key && r.hash ? idemField(r.userId, r.key) : "";
    // a key's first order is its answer (a later one was refused as its duplicate: actors/order/sale-backing.ts)
    if (field && !idem[field]) idem[field] = encodeIdem({ orderId: r.orderId, itemId: r.itemId, requestHash: r.hash! });
    const given = r.released || r.status === "CANCELLED";
    holds[r.orderId] = encodeHold({
      state: given ? "R" : "S",
      userId: r.userId,
      qty: r.qty,
      at: r.at.getTime(),
      idem: field,
      itemId: r.itemId,
    });
    if (given) continue;
    taken += r.qty;
    users[r.userId] = (users[r.userId] ?? 0) + r.qty;
  }
  return {
    remaining: sale.quantity - taken,
    limit: sale.perUserLimit,
    quantity: sale.quantity,
    startsAt: sale.startsAt.getTime(),
    endsAt: sale.endsAt?.getTime() ?? 0,
    expireAt: expiryOf(sale),
    seq: rows.length,
    users,
    holds,
    idem,
  };
}

export async function rebuildGate(
  o: { db: Db; redis: RedisClient; gate: Gate; jsm?: JetStreamManager; log: Logger },
  saleId: string,
): Promise<boolean> {
  const [saleKey] = saleKeys(saleId);
  const lock = `${saleKey}:rebuild`;
  if ((await o.redis.set(lock, "1", "PX", REBUILD_LOCK_MS, "NX")) !== "OK") {
    // someone else rebuilds: wait for the counters to appear
    for (let i = 0; i < 100; i++) {
      if (await o.redis.exists(saleKey)) return true;
      await Bun.sleep(50);
    }
    return false;
  }
  try {
    // counted before the backlog is in Postgres, the gate would admit too many: better a 503 for now
    if (o.jsm && !(await ordersDrained(o.jsm))) {
      o.log.warn("sale gate not rebuilt: orders still in flight", { saleId });
      return false;
    }
    const load = await gateFromPostgres(o.db, saleId);
    if (!load) return false;
    // an ended sale is loaded too, for its keyed retries (the Lua answers ENDED to anything new); a day after
    // its end the keys expire at once and the sale is simply over
    await o.gate.load(saleId, load);
    o.log.warn("sale gate rebuilt from postgres", {
      saleId,
      remaining: load.remaining,
      holds: Object.keys(load.holds).length,
    });
    return true;
  } finally {
    await o.redis.del(lock);
  }
}

/**
 * Whether the order consumer has taken and committed every placement published so far (it acks only after
 * its commit), waiting up to `ms`. Unknown (the consumer or the stream cannot be read) counts as not drained.
 * The consumer's counts alone are not enough on a cluster: its leader counts what is pending in its own copy
 * of the stream, which can lag the stream's leader after a node's loss. So the last placement the stream's
 * leader holds must have been delivered too.
 */
export async function ordersDrained(jsm: JetStreamManager, ms = DRAIN_WAIT_MS): Promise<boolean> {
  const until = Date.now() + ms;
  for (;;) {
    const lastPlaced = await jsm.streams
      .getMessage("ORDERS", { last_by_subj: "orders.cmd.place" })
      .then((m) => m?.seq ?? 0)
      .catch(() => undefined);
    const info = await jsm.consumers.info("ORDERS", "order").catch(() => undefined);
    if (
      lastPlaced !== undefined &&
      info &&
      info.num_pending === 0 &&
      info.num_ack_pending === 0 &&
      info.delivered.stream_seq >= lastPlaced
    )
      return true;
    if (Date.now() >= until) return false;
    await Bun.sleep(100);
  }
}
