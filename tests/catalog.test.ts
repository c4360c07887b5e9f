// The catalog over HTTP: the Redis read cache never outlives a write that returned, stock is always the
// live figure, who may change what, and cursor pagination.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { and, desc, isNull } from "drizzle-orm";
import { Redis } from "ioredis";
import { createDb, type Db, products } from "../db";
import { type Account, accounts, adminAccount } from "../scripts/lib/accounts";
import { client, eventually, type Res } from "./client";
import { stack } from "./harness";

let api: ReturnType<typeof client>;
let db: Db;
let redis: Redis;
let seller: Account, otherSeller: Account, shopper: Account, admin: Account;

beforeAll(async () => {
  const s = await stack();
  api = client(s.edgeUrl);
  db = createDb(s.env.DATABASE_URL!, { max: 2 });
  redis = new Redis(s.env.REDIS_URL!);
  [seller, otherSeller] = (await accounts(s.env, "seller", 2)) as [Account, Account];
  [shopper] = (await accounts(s.env, "shopper", 1)) as [Account];
  admin = await adminAccount(s.env);
});

afterAll(async () => {
  redis?.disconnect();
  await db?.$client.end();
});

const get = (id: string) => api.call("GET", `/v1/products/${id}`);
const patch = (token: string, id: string, body: unknown) => api.call("PATCH", `/v1/products/${id}`, { token, body });
/** The cache entry of a product stored under the current generation, once the edge has stored it (it does not wait). */
async function cached(id: string) {
  return eventually(
    async () => {
      const gen = (await redis.get("{catalog}:gen")) ?? "0";
      const key = `{catalog}:product:${id}`;
      const stored = await redis.get(key);
      return stored?.startsWith(`${gen}:`) ? { key, gen, value: stored.slice(gen.length + 1) } : undefined;
    },
    2000,
    "the cache entry",
  );
}

describe("catalog read cache", () => {
  test("reads are served from the cache, and a write that returned is never hidden by it", async () => {
    const p = await api.product(seller.token, 1000, 5);
    expect((await get(p.id)).body.price).toBe(1000);
    const entry = await cached(p.id);
    expect(JSON.parse(entry.value)).toMatchObject({ id: p.id, price: 1000 });
    expect(JSON.parse(entry.value).stock).toBeUndefined(); // stock is never cached
    // proof that reads come from the cache: a planted entry is what the edge answers
    await redis.set(
      entry.key,
      `${entry.gen}:${JSON.stringify({ ...JSON.parse(entry.value), name: "planted" })}`,
      "EX",
      60,
    );
    expect((await get(p.id)).body.name).toBe("planted");

    const changed = await patch(seller.token, p.id, { price: 2500, name: "Renamed" });
    expect(changed.status).toBe(200);
    expect(changed.body).toMatchObject({ price: 2500, name: "Renamed", stock: 5 });
    expect((await get(p.id)).body).toMatchObject({ price: 2500, name: "Renamed" });
    const list = await api.call("GET", "/v1/products?limit=100");
    expect(list.body.items.find((i: { id: string }) => i.id === p.id)).toMatchObject({ price: 2500, name: "Renamed" });

    expect((await api.call("DELETE", `/v1/products/${p.id}`, { token: seller.token })).status).toBe(204);
    expect((await get(p.id)).status).toBe(404);
    const after = await api.call("GET", "/v1/products?limit=100");
    expect(after.body.items.some((i: { id: string }) => i.id === p.id)).toBe(false);
  });

  test("reads racing with writes: every read that starts after a write returned sees it", async () => {
    const p = await api.product(seller.token, 100, 1);
    let stop = false;
    const seen: { start: number; price: number }[] = [];
    const readers = Array.from({ length: 16 }, async () => {
      while (!stop) {
        const start = performance.now();
        const r = await get(p.id);
        seen.push({ start, price: r.body.price });
      }
    });
    const returned: { at: number; price: number }[] = [];
    for (let price = 101; price <= 110; price++) {
      expect((await patch(seller.token, p.id, { price })).status).toBe(200);
      returned.push({ at: performance.now(), price });
      await Bun.sleep(20);
    }
    stop = true;
    await Promise.all(readers);
    expect(seen.length).toBeGreaterThan(50);
    for (const w of returned) {
      const stale = seen.filter((r) => r.start > w.at && r.price < w.price);
      expect(stale).toEqual([]);
    }
  });

  test("stock is the live figure, even while the product's fields are cached", async () => {
    const p = await api.product(seller.token, 1000, 10);
    expect((await get(p.id)).body.stock).toBe(10);
    const before = await cached(p.id);
    const o = await api.call("POST", "/v1/orders", {
      token: shopper.token,
      body: { items: [{ productId: p.id, quantity: 3 }] },
    });
    expect((await api.settled(shopper.token, o.body.orderId)).status).toBe("CONFIRMED");
    expect((await get(p.id)).body.stock).toBe(7);
    expect((await cached(p.id)).value).toBe(before.value); // no write happened: the entry is still the one served
  });
});

describe("what the cache may hold", () => {
  const catalogKeys = async () => (await redis.keys("{catalog}:*")).length;
  const usedMemory = async () => Number(/used_memory:(\d+)/.exec(await redis.info("memory"))![1]);

  test("pages after cursors the server never issued are not cached: anonymous reads cannot grow Redis", async () => {
    const long = "x".repeat(5000);
    for (let i = 0; i < 5; i++)
      expect(
        (
          await api.call("POST", "/v1/products", {
            token: seller.token,
            body: { name: "Long", description: long, price: 1, stock: 1 },
          })
        ).status,
      ).toBe(201);
    await api.call("GET", "/v1/products?limit=100");
    await Bun.sleep(100); // the edge stores what it read without waiting
    const [keys, memory] = [await catalogKeys(), await usedMemory()];
    // ids after every real one (UUIDv7 starts with the time), so each page is full
    const cursor = () => `ffffffff${crypto.randomUUID().slice(8)}`;
    for (let round = 0; round < 10; round++)
      await Promise.all(
        Array.from({ length: 20 }, async (_, i) => {
          const r = await api.call("GET", `/v1/products?limit=${1 + ((round * 20 + i) % 100)}&cursor=${cursor()}`);
          expect(r.status).toBe(200);
          expect(r.body.items.length).toBeGreaterThan(0);
        }),
      );
    await Bun.sleep(100);
    expect(await catalogKeys()).toBe(keys);
    expect((await usedMemory()) - memory).toBeLessThan(1024 * 1024);
  });

  test("Redis has a memory limit and evicts nothing (gates, claims and limits carry TTLs too)", async () => {
    const [, max] = (await redis.config("GET", "maxmemory")) as [string, string];
    const [, policy] = (await redis.config("GET", "maxmemory-policy")) as [string, string];
    expect(Number(max)).toBeGreaterThan(0);
    expect(policy).toBe("noeviction");
  });

  test("a full Redis refuses the cache's writes, and reads still answer from Postgres", async () => {
    const p = await api.product(seller.token, 1234, 3);
    const [, max] = (await redis.config("GET", "maxmemory")) as [string, string];
    await redis.config("SET", "maxmemory", "1");
    try {
      await expect(redis.set("{catalog}:probe", "x")).rejects.toThrow(/OOM/);
      for (let i = 0; i < 3; i++) {
        expect((await get(p.id)).body).toMatchObject({ id: p.id, price: 1234, stock: 3 });
        expect((await api.call("GET", "/v1/products?limit=5")).status).toBe(200);
      }
      expect(await redis.get(`{catalog}:product:${p.id}`)).toBeNull();
    } finally {
      await redis.config("SET", "maxmemory", max);
    }
  });
});

describe("who may change a product", () => {
  test("its seller and an admin may; another seller, a shopper and nobody may not", async () => {
    const p = await api.product(seller.token, 1000, 5);
    const del = (token?: string) => api.call("DELETE", `/v1/products/${p.id}`, { token });
    for (const [who, token, status, code] of [
      ["another seller", otherSeller.token, 403, "FORBIDDEN"],
      ["a shopper", shopper.token, 403, "FORBIDDEN"],
      ["nobody", undefined, 401, "UNAUTHENTICATED"],
    ] as const) {
      const r = await api.call("PATCH", `/v1/products/${p.id}`, { token, body: { price: 1 } });
      expect([who, r.status, r.body.code]).toEqual([who, status, code]);
      const d = await del(token);
      expect([who, d.status, d.body.code]).toEqual([who, status, code]);
    }
    expect(
      (await api.call("POST", "/v1/products", { token: shopper.token, body: { name: "x", price: 1, stock: 1 } }))
        .status,
    ).toBe(403);
    expect((await get(p.id)).body).toMatchObject({ price: 1000, name: "Test product" });

    expect((await patch(seller.token, p.id, { price: 1100 })).body.price).toBe(1100);
    const byAdmin = await patch(admin.token, p.id, { price: 1200, stock: 8 });
    expect(byAdmin.status).toBe(200);
    expect(byAdmin.body).toMatchObject({ price: 1200, stock: 8, sellerId: seller.id });
    expect((await get(p.id)).body).toMatchObject({ price: 1200, stock: 8 });
    expect((await del(admin.token)).status).toBe(204);
    expect((await patch(seller.token, p.id, { price: 1 })).status).toBe(404);
    expect((await patch(seller.token, crypto.randomUUID(), { price: 1 })).status).toBe(404);
  });

  test("bad input changes nothing", async () => {
    const p = await api.product(seller.token, 1000, 5);
    for (const body of [{}, { price: -1 }, { stock: 1.5 }, { name: "" }]) {
      const r = await patch(seller.token, p.id, body);
      expect(r.status).toBe(400);
      expect(r.body.code).toBe("VALIDATION_FAILED");
    }
    expect((await get(p.id)).body).toMatchObject({ price: 1000, stock: 5 });
  });
});

describe("pagination", () => {
  /** Every id of the list, walked page by page. */
  async function walk(limit: number) {
    const ids: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const r: Res<{ items: { id: string }[]; nextCursor: string | null }> = await api.call(
        "GET",
        `/v1/products?limit=${limit}${cursor ? `&cursor=${cursor}` : ""}`,
      );
      expect(r.status).toBe(200);
      expect(r.body.items.length).toBeLessThanOrEqual(limit);
      ids.push(...r.body.items.map((i) => i.id));
      cursor = r.body.nextCursor;
      pages++;
    } while (cursor && pages < 1000);
    return { ids, pages };
  }
  const live = async () =>
    (
      await db
        .select({ id: products.id })
        .from(products)
        .where(and(isNull(products.deletedAt)))
        .orderBy(desc(products.id))
    ).map((r) => r.id);

  test("a cursor walk over many pages has no duplicate and no gap, also after a delete", async () => {
    const mine = [];
    for (let i = 0; i < 7; i++) mine.push((await api.product(seller.token, 100 + i, 1)).id);
    const first = await walk(3);
    expect(first.pages).toBeGreaterThan(2);
    expect(new Set(first.ids).size).toBe(first.ids.length);
    expect(first.ids).toEqual(await live());
    expect(first.ids.slice(0, 7)).toEqual([...mine].reverse()); // newest first

    // the pages are cached now; a delete in the middle must not leave a gap or a ghost
    expect((await api.call("DELETE", `/v1/products/${mine[3]}`, { token: seller.token })).status).toBe(204);
    const second = await walk(3);
    expect(second.ids).toEqual(await live());
    expect(second.ids).not.toContain(mine[3]);
  });

  test("a bad cursor or limit is a 400", async () => {
    expect((await api.call("GET", "/v1/products?cursor=nope")).status).toBe(400);
    expect((await api.call("GET", "/v1/products?limit=0")).status).toBe(400);
    expect((await api.call("GET", "/v1/products?limit=101")).status).toBe(400);
  });
});
