// Discovery over HTTP against the whole stack: the sales and coupons lists, search through the edge, likes
// (idempotent, live on every product view despite the catalog cache), and the popularity ranking kept by
// its actor from like and order events, rebuilt from Postgres once Redis lost it.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Redis } from "ioredis";
import { couponKeys } from "../domain/coupon";
import { POPULAR_BUILT_KEY, POPULAR_KEY } from "../domain/popularity";
import { saleKeys } from "../domain/sale";
import { type Account, accounts, adminAccount } from "../scripts/lib/accounts";
import { client, eventually, type Json, type Res } from "./client";
import { stack } from "./harness";

let api: ReturnType<typeof client>;
let redis: Redis;
let seller: Account, admin: Account;
let shoppers: Account[];

beforeAll(async () => {
  const s = await stack();
  api = client(s.edgeUrl);
  redis = new Redis(s.env.REDIS_URL!);
  [seller] = (await accounts(s.env, "seller", 1)) as [Account];
  shoppers = await accounts(s.env, "shopper", 4);
  admin = await adminAccount(s.env);
});
afterAll(() => redis?.disconnect());

const iso = (msFromNow: number) => new Date(Date.now() + msFromNow).toISOString();
const product = async (name: string, o: { price?: number; stock?: number; description?: string } = {}) => {
  const r = await api.call("POST", "/v1/products", {
    token: seller.token,
    body: { name, price: o.price ?? 1000, stock: o.stock ?? 10, description: o.description },
  });
  expect(r.status).toBe(201);
  return r.body as { id: string; likes: number };
};
const expect400 = (r: Res, detail: string) => {
  expect({ status: r.status, code: r.body?.code }).toEqual({ status: 400, code: "VALIDATION_FAILED" });
  expect(r.body.detail).toContain(detail);
};

/** Every item of a list, walked page by page. */
async function walk(path: string, limit: number, token?: string) {
  const items: Json[] = [];
  let cursor: string | null = null;
  for (let pages = 0; pages < 200; pages++) {
    const sep = path.includes("?") ? "&" : "?";
    const r: Res<{ items: Json[]; nextCursor: string | null }> = await api.call(
      "GET",
      `${path}${sep}limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`,
      { token },
    );
    expect(r.status).toBe(200);
    items.push(...r.body.items);
    cursor = r.body.nextCursor;
    if (!cursor) break;
  }
  return items;
}

describe("GET /v1/sales", () => {
  test("scheduled and live by default, soonest first; each status on request; remaining from the gate or from Postgres", async () => {
    const p = await product("Sale list product", { stock: 100 });
    const sale = async (startsIn: number, quantity: number, endsIn?: number) => {
      const r = await api.call("POST", "/v1/sales", {
        token: seller.token,
        body: {
          productId: p.id,
          price: 500,
          quantity,
          startsAt: iso(startsIn),
          ...(endsIn ? { endsAt: iso(endsIn) } : {}),
        },
      });
      expect(r.status).toBe(201);
      return r.body.id as string;
    };
    const later = await sale(3_600_000, 5);
    const soon = await sale(600_000, 5);
    const live = await sale(-1000, 3);
    const soldOut = await sale(-2000, 1);
    const ended = await sale(-3000, 2, 1500);
    const bought = await api.call("POST", `/v1/sales/${soldOut}/purchase`, { token: shoppers[0]!.token, body: {} });
    expect(bought.status).toBe(202);
    await Bun.sleep(1600); // `ended` is over now
    const mine = new Set([later, soon, live, soldOut, ended]);
    const listed = async (query: string) => (await walk(`/v1/sales${query}`, 2)).filter((s) => mine.has(s.id));

    const byDefault = await listed("");
    expect(byDefault.map((s) => s.id)).toEqual([live, soon, later]); // soonest first
    expect(byDefault[0]).toMatchObject({
      productId: p.id,
      productName: "Sale list product",
      price: 500,
      quantity: 3,
      remaining: 3,
      perUserLimit: 1,
      status: "live",
    });
    expect(byDefault[1]).toMatchObject({ status: "scheduled", remaining: 5 });
    expect((await listed("?status=sold_out")).map((s) => [s.id, s.remaining, s.status])).toEqual([
      [soldOut, 0, "sold_out"],
    ]);
    expect((await listed("?status=ended")).map((s) => [s.id, s.status, typeof s.endsAt])).toEqual([
      [ended, "ended", "string"],
    ]);
    expect((await listed("?status=live,sold_out,ended,scheduled")).map((s) => s.id)).toEqual([
      ended,
      soldOut,
      live,
      soon,
      later,
    ]);

    // a loaded gate is what the list reads (here it says 2 where Postgres would say 3)
    expect(await redis.hget(saleKeys(live)[0], "remaining")).toBe("3");
    await redis.hset(saleKeys(live)[0], "remaining", 2);
    expect((await listed("?status=live")).map((s) => [s.id, s.remaining])).toEqual([[live, 2]]);
    await redis.hset(saleKeys(live)[0], "remaining", 3);

    // Redis lost the gates: what remains comes from Postgres (the order holds its unit), and the list rebuilds nothing
    await redis.del(...saleKeys(soldOut), ...saleKeys(live));
    const fromPostgres = await listed("?status=live,sold_out");
    expect(fromPostgres.map((s) => [s.id, s.remaining, s.status])).toEqual([
      [soldOut, 0, "sold_out"],
      [live, 3, "live"],
    ]);
    expect(await redis.exists(saleKeys(live)[0])).toBe(0);
  });

  test("bad input is a 400 with a clear detail", async () => {
    expect400(await api.call("GET", "/v1/sales?status=open"), "each one of scheduled, live, sold_out, ended");
    expect400(await api.call("GET", "/v1/sales?cursor=nope"), "cursor");
    expect400(await api.call("GET", "/v1/sales?limit=0"), "limit");
  });
});

describe("GET /v1/coupons", () => {
  test("active and upcoming, soonest first, with the claims left (Redis, or Postgres once Redis lost them)", async () => {
    const make = async (startsIn: number, endsIn: number, quantity: number) => {
      const r = await api.call("POST", "/v1/coupons", {
        token: admin.token,
        body: {
          name: `List coupon ${startsIn}`,
          discount: { type: "amount", value: 500 },
          quantity,
          startsAt: iso(startsIn),
          endsAt: iso(endsIn),
        },
      });
      expect(r.status).toBe(201);
      return r.body.id as string;
    };
    const active = await make(-60_000, 3_600_000, 3);
    const upcoming = await make(600_000, 3_600_000, 7);
    const ending = await make(-60_000, 2000, 2);
    expect((await api.call("POST", `/v1/coupons/${active}/claim`, { token: shoppers[1]!.token })).status).toBe(201);
    await Bun.sleep(2100); // `ending` has ended
    const mine = new Set([active, upcoming, ending]);
    const listed = async (query: string) => (await walk(`/v1/coupons${query}`, 1)).filter((c) => mine.has(c.id));

    const all = await listed("");
    expect(all.map((c) => [c.id, c.status, c.quantity, c.remaining])).toEqual([
      [active, "active", 3, 2],
      [upcoming, "upcoming", 7, 7],
    ]);
    expect(all[0]).toMatchObject({ name: "List coupon -60000", discount: { type: "amount", value: 500 } });
    expect((await listed("?status=upcoming")).map((c) => c.id)).toEqual([upcoming]);

    // once the claim is recorded, Redis may lose the coupon: the count comes from Postgres
    await eventually(async () =>
      (await api.call("GET", "/v1/me/coupons", { token: shoppers[1]!.token })).body.items.length ? true : undefined,
    );
    await redis.del(...Object.values(couponKeys(active)));
    expect((await listed("?status=active")).map((c) => c.remaining)).toEqual([2]);
    expect400(await api.call("GET", "/v1/coupons?status=ended"), "each one of active, upcoming");
  });
});

describe("search through the edge", () => {
  test("Korean and English, filters and sorts; the plain list is unchanged", async () => {
    const tag = `zq${Date.now().toString(36)}`;
    const a = await product(`나이키운동화 ${tag}`, { price: 5000, stock: 0 });
    const b = await product(`${tag} 운동화 끈`, { price: 1000 });
    const c = await product(`Running ${tag}`, { price: 3000, description: "가벼운 러닝화" });
    const ids = async (query: string) =>
      (await api.call("GET", `/v1/products?${query}`)).body.items.map((i: { id: string }) => i.id);
    expect(await ids(`q=${encodeURIComponent(`${tag} 운동화`)}`)).toEqual([b.id, a.id]);
    expect(await ids(`q=${encodeURIComponent(`${tag} 러닝화`)}`)).toEqual([c.id]);
    expect(await ids(`q=${tag.slice(1)}&sort=price_asc`)).toEqual([b.id, c.id, a.id]); // a part of the word
    expect(await ids(`q=${tag}&sort=price_desc&inStock=true`)).toEqual([c.id, b.id]);
    expect(await ids(`q=${tag}&minPrice=2000&maxPrice=4000`)).toEqual([c.id]);
    expect(await ids(`q=${tag}&sellerId=${crypto.randomUUID()}`)).toEqual([]);
    const walked = (await walk(`/v1/products?q=${tag}&sort=new`, 1)).map((i) => i.id);
    expect(walked).toEqual([c.id, b.id, a.id]);
    const plain = await api.call("GET", "/v1/products?limit=2");
    expect(plain.body.nextCursor).toBe(plain.body.items[1].id); // the plain list's cursor is still the last id
  });

  test("an unknown sort, a negative or inverted price range, a 1,000-character query: 400 with a clear detail", async () => {
    expect400(
      await api.call("GET", "/v1/products?sort=cheapest"),
      "sort must be one of new, price_asc, price_desc, popular",
    );
    expect400(await api.call("GET", "/v1/products?minPrice=-5"), "minPrice must be 0 or more");
    expect400(await api.call("GET", "/v1/products?minPrice=9000&maxPrice=10"), "minPrice must not be above maxPrice");
    expect400(await api.call("GET", `/v1/products?q=${"가".repeat(1000)}`), "q: at most 200 characters");
    expect400(await api.call("GET", `/v1/products?sort=price_asc&cursor=${crypto.randomUUID()}`), "cursor");
    expect400(await api.call("GET", "/v1/products?cursor=nope"), "cursor");
  });
});

describe("likes", () => {
  test("liking twice counts once, unliking twice too; every view shows the count live, cached or not", async () => {
    const p = await product(`Likeable ${Date.now()}`);
    const like = (who: Account, method: "PUT" | "DELETE") =>
      api.call(method, `/v1/products/${p.id}/like`, { token: who.token });
    const view = async () => (await api.call("GET", `/v1/products/${p.id}`)).body.likes;
    expect(await view()).toBe(0); // now cached (the fields; likes are read live)
    expect((await like(shoppers[0]!, "PUT")).body).toEqual({ liked: true, likes: 1 });
    expect((await like(shoppers[0]!, "PUT")).body).toEqual({ liked: true, likes: 1 });
    expect(await view()).toBe(1);
    expect((await like(shoppers[1]!, "PUT")).body).toEqual({ liked: true, likes: 2 });
    const listed = (await api.call("GET", "/v1/products?limit=100")).body.items.find(
      (i: { id: string }) => i.id === p.id,
    );
    expect(listed.likes).toBe(2);
    const searched = (await api.call("GET", `/v1/products?q=${"Likeable"}&limit=100`)).body.items.find(
      (i: { id: string }) => i.id === p.id,
    );
    expect(searched.likes).toBe(2);
    expect((await like(shoppers[0]!, "DELETE")).body).toEqual({ liked: false, likes: 1 });
    expect((await like(shoppers[0]!, "DELETE")).body).toEqual({ liked: false, likes: 1 });
    expect(await view()).toBe(1);
    // at once from many clicks: still one like
    const burst = await Promise.all(Array.from({ length: 8 }, () => like(shoppers[2]!, "PUT")));
    expect(burst.every((r) => r.status === 200 && r.body.liked)).toBe(true);
    expect(await view()).toBe(2);
  });

  test("GET /v1/me/likes: newest like first, page by page; only shoppers like; unknown products are 404", async () => {
    const me = shoppers[3]!;
    const made = [await product("Liked one"), await product("Liked two"), await product("Liked three")];
    for (const p of made)
      expect((await api.call("PUT", `/v1/products/${p.id}/like`, { token: me.token })).status).toBe(200);
    const liked = await walk("/v1/me/likes", 2, me.token);
    expect(liked.map((i) => i.id)).toEqual(made.map((p) => p.id).reverse());
    expect(liked[0]).toMatchObject({ name: "Liked three", likes: 1, likedAt: expect.any(String), stock: 10 });
    expect((await api.call("DELETE", `/v1/products/${made[1]!.id}`, { token: seller.token })).status).toBe(204);
    expect((await walk("/v1/me/likes", 2, me.token)).map((i) => i.id)).toEqual([made[2]!.id, made[0]!.id]);
    expect((await api.call("PUT", `/v1/products/${made[1]!.id}/like`, { token: me.token })).status).toBe(404);
    expect((await api.call("PUT", `/v1/products/${crypto.randomUUID()}/like`, { token: me.token })).status).toBe(404);
    expect((await api.call("PUT", `/v1/products/${made[0]!.id}/like`, { token: seller.token })).status).toBe(403);
    expect((await api.call("PUT", `/v1/products/${made[0]!.id}/like`)).status).toBe(401);
  });
});

describe("GET /v1/products/popular", () => {
  test("ranked by likes and confirmed units of the last 7 days, kept by the actor, rebuilt when Redis lost it", async () => {
    const [top, second, third] = [
      await product("Popular A", { stock: 50 }),
      await product("Popular B"),
      await product("Popular C"),
    ];
    const buyer = shoppers[0]!;
    // A: 1 like + 3 units confirmed = 4; B: 3 likes; C: 1 like, then taken back = 0
    const order = await api.call("POST", "/v1/orders", {
      token: buyer.token,
      body: { items: [{ productId: top.id, quantity: 3 }] },
    });
    expect((await api.settled(buyer.token, order.body.orderId)).status).toBe("CONFIRMED");
    const declined = await api.call("POST", "/v1/orders", {
      token: buyer.token,
      body: { items: [{ productId: third.id, quantity: 5 }], paymentMethod: "card_declined" },
    });
    expect((await api.settled(buyer.token, declined.body.orderId)).status).toBe("CANCELLED");
    await api.call("PUT", `/v1/products/${top.id}/like`, { token: shoppers[1]!.token });
    for (const s of shoppers.slice(0, 3)) await api.call("PUT", `/v1/products/${second.id}/like`, { token: s.token });
    await api.call("PUT", `/v1/products/${third.id}/like`, { token: shoppers[3]!.token });
    await api.call("DELETE", `/v1/products/${third.id}/like`, { token: shoppers[3]!.token });

    const mine = new Set([top.id, second.id, third.id]);
    const ranking = async () => {
      const r = await api.call("GET", "/v1/products/popular?limit=100");
      expect(r.status).toBe(200);
      return r.body.items
        .filter((i: { id: string }) => mine.has(i.id))
        .map((i: { id: string; score: number; likes: number }) => [i.id, i.score, i.likes]);
    };
    const want = [
      [top.id, 4, 1],
      [second.id, 3, 3],
    ];
    // the actor's doing: the set holds what the events changed
    await eventually(
      async () => (JSON.stringify(await ranking()) === JSON.stringify(want) ? true : undefined),
      15_000,
      "the ranking",
    );
    expect(Number(await redis.zscore(POPULAR_KEY, top.id))).toBe(4);
    expect(await redis.zscore(POPULAR_KEY, third.id)).toBeNull();

    // Redis lost it: the next read rebuilds the same ranking from Postgres
    await redis.del(POPULAR_KEY, POPULAR_BUILT_KEY);
    expect(await ranking()).toEqual(want);
    expect(await redis.exists(POPULAR_BUILT_KEY)).toBe(1);

    // a deleted product leaves the ranking
    expect((await api.call("DELETE", `/v1/products/${second.id}`, { token: seller.token })).status).toBe(204);
    expect(await ranking()).toEqual([want[0]]);
    expect400(await api.call("GET", "/v1/products/popular?limit=1000"), "limit");
  });
});
