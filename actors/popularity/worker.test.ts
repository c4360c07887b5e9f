// The popularity handler and its flush on real Postgres and Redis: a batch marks the products it touches and a
// flush sets their scores from Postgres, never added, so a batch handled twice (a redelivery) writes the same
// figures; a failed flush keeps its marks; old likes and orders cancelled after confirmation do
// not count; a score that falls to 0 leaves the set; a rebuild agrees with what the events wrote.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { Redis } from "ioredis";
import { createDb, type Db, likes, orderHistory, orderItems, orders, products } from "../../db";
import { POPULAR_KEY, rebuildPopularity, scoresFromPostgres } from "../../domain/popularity";
import { envelope, uuidv7 } from "../../nats";
import { stack } from "../../tests/harness";
import type { Incoming } from "../lib/worker";
import { flushPopularity, popularityHandler } from "./worker";

let db: Db;
let redis: Redis;
beforeAll(async () => {
  const s = await stack();
  db = createDb(s.env.DATABASE_URL!, { max: 4 });
  redis = new Redis(s.env.REDIS_URL!);
});
afterAll(async () => {
  redis?.disconnect();
  await db?.$client.end();
});

const DAY = 86_400_000;
async function product() {
  const id = uuidv7();
  await db.insert(products).values({ id, sellerId: uuidv7(), name: "Ranked", price: 1000 });
  return id;
}
async function like(productId: string, agoMs = 0) {
  await db.insert(likes).values({ id: uuidv7(), userId: uuidv7(), productId, createdAt: new Date(Date.now() - agoMs) });
}
/** An order of `quantity` units of the product, confirmed `agoMs` ago, now in `status`. */
async function order(productId: string, quantity: number, status: "CONFIRMED" | "CANCELLED" | "DELIVERED", agoMs = 0) {
  const id = uuidv7();
  await db.insert(orders).values({ id, userId: uuidv7(), status, total: 1000 * quantity, paymentMethod: "card_ok" });
  await db.insert(orderItems).values({ id: uuidv7(), orderId: id, productId, quantity, price: 1000 });
  await db.insert(orderHistory).values({ orderId: id, status: "CONFIRMED", at: new Date(Date.now() - agoMs) });
  return id;
}
const score = async (id: string) => {
  const v = await redis.zscore(POPULAR_KEY, id);
  return v === null ? null : Number(v);
};

describe("popularity handler", () => {
  test("scores come from Postgres: a batch handled twice writes the same; old and cancelled do not count", async () => {
    const [a, b] = [await product(), await product()];
    await like(a);
    await like(a);
    await like(a, 8 * DAY); // outside the window
    await like(b);
    const confirmed = await order(a, 2, "DELIVERED");
    await order(a, 5, "CONFIRMED", 8 * DAY); // confirmed too long ago
    const cancelled = await order(b, 4, "CANCELLED"); // confirmed, then cancelled
    const batch: Incoming[] = [
      { env: envelope("catalog.evt.liked", { productId: a, userId: uuidv7() }) },
      { env: envelope("orders.evt.confirmed", { orderId: confirmed, userId: uuidv7(), total: 2000 }) },
      { env: envelope("orders.evt.cancelled", { orderId: cancelled, userId: uuidv7(), reason: "CANCELLED_BY_USER" }) },
    ];
    const marks = new Set<string>();
    const handle = popularityHandler(marks);
    for (let i = 0; i < 2; i++) {
      expect(await db.transaction((tx) => handle(tx, batch, () => {}))).toEqual([]);
      expect([...marks].sort()).toEqual([a, b].sort());
      if (i === 0) expect([await score(a), await score(b)]).toEqual([null, null]); // marked, not yet flushed
      await flushPopularity(db, redis, marks);
      expect(marks.size).toBe(0);
      expect([await score(a), await score(b)]).toEqual([4, 1]);
    }
    expect(await scoresFromPostgres(db, [a, b])).toEqual([
      { productId: a, score: 4 },
      { productId: b, score: 1 },
    ]);
  });

  test("a score that falls to 0 leaves the set; a rebuild agrees with the events", async () => {
    const [a, b] = [await product(), await product()];
    await like(a);
    await order(b, 3, "CONFIRMED");
    const marks = new Set<string>();
    const handle = popularityHandler(marks);
    const touched = (id: string): Incoming => ({
      env: envelope("catalog.evt.liked", { productId: id, userId: uuidv7() }),
    });
    await db.transaction((tx) => handle(tx, [touched(a), touched(b)], () => {}));
    await flushPopularity(db, redis, marks);
    expect([await score(a), await score(b)]).toEqual([1, 3]);
    await db.delete(likes).where(eq(likes.productId, a));
    await db.transaction((tx) =>
      handle(tx, [{ env: envelope("catalog.evt.unliked", { productId: a, userId: uuidv7() }) }], () => {}),
    );
    await flushPopularity(db, redis, marks);
    expect(await score(a)).toBeNull();
    await redis.zadd(POPULAR_KEY, 99, b); // a stale figure: the rebuild sets it from Postgres again
    expect(await rebuildPopularity(db, redis)).toBe(true);
    expect([await score(a), await score(b)]).toEqual([null, 3]);
  });

  test("a flush Redis refuses keeps its marks for the next one", async () => {
    const a = await product();
    await like(a);
    const marks = new Set([a]);
    const down = new Redis({ port: 1, lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false });
    down.on("error", () => {});
    await expect(flushPopularity(db, down, marks)).rejects.toThrow();
    down.disconnect();
    expect([...marks]).toEqual([a]);
    await flushPopularity(db, redis, marks);
    expect(await score(a)).toBe(1);
  });
});
