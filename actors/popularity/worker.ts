// The popularity actor: keeps the Redis ranking (domain/popularity.ts) from like events and from orders
// confirmed or cancelled, recomputing the products they touch from Postgres; and rebuilds the whole set on
// a timer, so likes and sales older than the window leave it and a Redis that lost it gets it back.
import { sql } from "drizzle-orm";
import type { RedisClient } from "../../domain/redis";
import { orderItems, type Db } from "../../db";
import { rebuildPopularity, updatePopularity } from "../../domain/popularity";
import { repeat, type Data, type Logger } from "../../nats";
import type { BatchHandler } from "../lib/worker";

export function popularityHandler(redis: RedisClient): BatchHandler {
  return async (tx, batch) => {
    const productIds: string[] = [];
    const orderIds: string[] = [];
    for (const { env } of batch) {
      if (env.type === "catalog.evt.liked" || env.type === "catalog.evt.unliked") productIds.push((env.data as Data<"catalog.evt.liked">).productId);
      if (env.type === "orders.evt.confirmed" || env.type === "orders.evt.cancelled") orderIds.push((env.data as Data<"orders.evt.confirmed">).orderId);
    }
    if (orderIds.length) {
      const items = await tx
        .selectDistinct({ productId: orderItems.productId })
        .from(orderItems)
        .where(sql`${orderItems.orderId} = any(${sql.param(orderIds)}::uuid[])`);
      productIds.push(...items.map((i) => i.productId));
    }
    await updatePopularity(tx, redis, productIds);
    return [];
  };
}

/** Rebuilds the ranking every `everyMs` (and once at start). */
export function startPopularitySweeper(o: { db: Db; redis: RedisClient; log: Logger; everyMs: number }): () => Promise<void> {
  return repeat(o.everyMs, () => rebuildPopularity(o.db, o.redis), (err) => o.log.warn("popularity rebuild failed", { err }));
}
