// The popularity actor: keeps the Redis ranking (domain/popularity) from like events and from orders confirmed
// or cancelled. A batch only marks the products it touches; the marked products are recomputed from Postgres
// together once per `POPULARITY_FLUSH_MS`, so a product bought ten thousand times in a sale is recomputed once a
// second, not once per batch (each recompute reads all its confirmed units of the window). A timer rebuilds the
// whole set, so likes and sales older than the window leave it, a Redis that lost it gets it back, and marks a
// crash lost (at most one flush's worth) are made good.
import { sql } from "drizzle-orm";
import { type Db, orderItems } from "../../db";
import { rebuildPopularity, updatePopularity } from "../../domain/popularity";
import type { RedisClient } from "../../domain/redis";
import { type Data, type Logger, repeat } from "../../nats";
import type { BatchHandler } from "../lib/worker";

export function popularityHandler(marks: Set<string>): BatchHandler {
  return async (tx, batch) => {
    const orderIds: string[] = [];
    for (const { env } of batch) {
      if (env.type === "catalog.evt.liked" || env.type === "catalog.evt.unliked")
        marks.add((env.data as Data<"catalog.evt.liked">).productId);
      if (env.type === "orders.evt.confirmed" || env.type === "orders.evt.cancelled")
        orderIds.push((env.data as Data<"orders.evt.confirmed">).orderId);
    }
    if (orderIds.length) {
      const items = await tx
        .selectDistinct({ productId: orderItems.productId })
        .from(orderItems)
        .where(sql`${orderItems.orderId} = any(${sql.param(orderIds)}::uuid[])`);
      for (const i of items) marks.add(i.productId);
    }
    return [];
  };
}

/** Recomputes the marked products' scores into Redis; on failure they stay marked for the next flush. */
export async function flushPopularity(db: Db, redis: RedisClient, marks: Set<string>): Promise<void> {
  if (!marks.size) return;
  const ids = [...marks];
  marks.clear();
  try {
    await db.transaction((tx) => updatePopularity(tx, redis, ids));
  } catch (err) {
    for (const id of ids) marks.add(id);
    throw err;
  }
}

/** Flushes the marks every `flushMs` and rebuilds the whole ranking every `sweepMs` (and once at start). */
export function startPopularity(o: {
  db: Db;
  redis: RedisClient;
  log: Logger;
  marks: Set<string>;
  flushMs: number;
  sweepMs: number;
}): () => Promise<void> {
  const stops = [
    repeat(
      o.flushMs,
      () => flushPopularity(o.db, o.redis, o.marks),
      (err) => o.log.warn("popularity flush failed", { err }),
    ),
    repeat(
      o.sweepMs,
      () => rebuildPopularity(o.db, o.redis),
      (err) => o.log.warn("popularity rebuild failed", { err }),
    ),
  ];
  return async () => {
    await Promise.all(stops.map((stop) => stop()));
  };
}
