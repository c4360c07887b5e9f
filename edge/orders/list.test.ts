// GET /v1/orders reads a page with one query per table (orders, items, history), however long the page,
// and answers each order with exactly its own items and history, in order.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { drizzle } from "drizzle-orm/postgres-js";
import { Hono } from "hono";
import postgres from "postgres";
import { createDb, type Db, orderHistory, orderItems, orders } from "../../db";
import * as schema from "../../db/schema";
import { uuidv7 } from "../../nats";
import { stack } from "../../tests/harness";
import type { Claims } from "../auth/tokens";
import { loadConfig } from "../config";
import type { Deps, Env } from "../deps";
import { renderError } from "../errors";
import { orderRoutes } from "./routes";

let db: Db;
let counted: Db;
let queries = 0;
beforeAll(async () => {
  const url = (await stack()).env.DATABASE_URL!;
  db = createDb(url, { max: 2 });
  // postgres.js calls `debug` once per query sent; its own type lookup on each new connection is not counted
  const client = postgres(url, {
    max: 4,
    onnotice: () => {},
    debug: (_c, q) => void (q.includes("pg_catalog.pg_type") || queries++),
  });
  counted = Object.assign(drizzle(client, { schema }), { $client: client });
}, 60_000);
afterAll(async () => {
  await db?.$client.end();
  await counted?.$client.end();
});

function app(user: Claims) {
  const a = new Hono<Env>();
  a.use((c, next) => {
    c.set("user", user);
    return next();
  });
  a.route("/", orderRoutes({ db: counted, config: loadConfig({}) } as Deps));
  a.onError(renderError);
  return a;
}

describe("GET /v1/orders", () => {
  test("100 orders with items, history and refunds: one query per table, each order with exactly its own rows", async () => {
    const userId = uuidv7();
    const placed = Array.from({ length: 101 }, (_, n) => ({ id: uuidv7(), n }));
    await db.insert(orders).values(
      placed.map((o) => ({
        id: o.id,
        userId,
        total: 1000 * (o.n + 1),
        paymentMethod: "card_ok",
        status: "CONFIRMED" as const,
      })),
    );
    await db.insert(orderItems).values(
      placed.flatMap((o) => [
        { id: uuidv7(), orderId: o.id, productId: uuidv7(), quantity: 1, price: 1000 * (o.n + 1) },
        { id: uuidv7(), orderId: o.id, productId: uuidv7(), quantity: 2, price: 0 },
      ]),
    );
    await db.insert(orderHistory).values(placed.map((o) => ({ orderId: o.id, status: "PENDING" as const })));
    await db.insert(orderHistory).values(placed.map((o) => ({ orderId: o.id, status: "CONFIRMED" as const })));

    const api = app({ sub: userId, role: "shopper", jti: "j", fam: "f", exp: 0 });
    queries = 0;
    const res = await api.request("/v1/orders?limit=100");
    const used = queries;
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      items: {
        id: string;
        total: number;
        items: { quantity: number; price: number }[];
        history: { status: string }[];
      }[];
      nextCursor: string | null;
    };
    process.stderr.write(`GET /v1/orders?limit=100: ${used} queries\n`);
    // orders, their items, their history, their refunds
    expect(used).toBeLessThanOrEqual(4);

    const newest = [...placed].reverse();
    expect(body.items.map((o) => o.id)).toEqual(newest.slice(0, 100).map((o) => o.id));
    expect(body.nextCursor).toBe(newest[99]!.id);
    for (const [i, o] of body.items.entries()) {
      const n = newest[i]!.n;
      expect(o.total).toBe(1000 * (n + 1));
      expect(o.items.map((it) => [it.quantity, it.price])).toEqual([
        [1, 1000 * (n + 1)],
        [2, 0],
      ]);
      expect(o.history.map((h) => h.status)).toEqual(["PENDING", "CONFIRMED"]);
      expect((o as { refunded?: number }).refunded).toBe(0);
    }

    queries = 0;
    const rest = (await (await api.request(`/v1/orders?limit=100&cursor=${body.nextCursor}`)).json()) as typeof body;
    expect(rest.items.map((o) => o.id)).toEqual([placed[0]!.id]);
    expect(rest.nextCursor).toBeNull();
    expect(queries).toBeLessThanOrEqual(4);

    // another user sees none of them
    const stranger = (await (
      await app({ sub: uuidv7(), role: "shopper", jti: "j", fam: "f", exp: 0 }).request("/v1/orders")
    ).json()) as typeof body;
    expect(stranger.items).toEqual([]);
  });
});
