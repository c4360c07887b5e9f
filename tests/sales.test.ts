// Flash sales on the real stack: the gate's answers, a spike sold exactly, the same across a Redis flush,
// and a hold whose order never got published (the edge died between the gate and the publish).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { eq } from "drizzle-orm";
import { Redis } from "ioredis";
import { sweepHolds } from "../actors/gate/sweeper";
import { createDb, orders } from "../db";
import { gate, PLACEMENT_WINDOW_MS, saleKeys } from "../domain/sale";
import { type Data, envelope, jetstreamOf, logger, publishEnvelope, uuidv7 } from "../nats";
import { accounts } from "../scripts/lib/accounts";
import { client, eventually, type Res } from "./client";
import { admin, extraEdge, stack } from "./harness";

let api: ReturnType<typeof client>;
let env: Record<string, string>;
let seller: Awaited<ReturnType<typeof api.user>>;
let adminToken: string;
let redis: Redis;

beforeAll(async () => {
  const s = await stack();
  env = s.env;
  api = client(s.edgeUrl);
  seller = await api.user("seller");
  adminToken = await api.login(admin.email, admin.password);
  redis = new Redis(env.REDIS_URL!);
});
afterAll(() => redis?.disconnect());

const iso = (msFromNow: number) => new Date(Date.now() + msFromNow).toISOString();

async function makeSale(
  quantity: number,
  o: { stock?: number; startsIn?: number; endsIn?: number; perUserLimit?: number } = {},
) {
  const p = await api.product(seller.token, 10_000, o.stock ?? quantity * 2);
  const r = await api.call("POST", "/v1/sales", {
    token: seller.token,
    body: {
      productId: p.id,
      price: 5_000,
      quantity,
      startsAt: iso(o.startsIn ?? -1000),
      ...(o.endsIn ? { endsAt: iso(o.endsIn) } : {}),
      ...(o.perUserLimit ? { perUserLimit: o.perUserLimit } : {}),
    },
  });
  expect(r.status).toBe(201);
  return { sale: r.body, product: p };
}

const buy = (saleId: string, token: string, body: Record<string, unknown> = {}, key?: string, via = api) =>
  via.call("POST", `/v1/sales/${saleId}/purchase`, { token, body, headers: key ? { "idempotency-key": key } : {} });
const audit = async (saleId: string) =>
  (await api.call("GET", `/v1/ops/sales/${saleId}/audit`, { token: adminToken })).body;

/** Waits until nothing of the sale is pending, then returns its audit. */
const quietAudit = (saleId: string, ms = 30_000) =>
  eventually(
    async () => {
      const a = await audit(saleId);
      return a.quiet ? a : undefined;
    },
    ms,
    "the sale's orders to settle",
  );

function expectGreen(a: { invariants: Record<string, { pass: boolean; detail: string }> }) {
  for (const [name, inv] of Object.entries(a.invariants))
    expect({ name, ...inv }).toEqual({ name, pass: true, detail: inv.detail });
}

/**
 * 2,000 purchase requests from 1,000 shoppers (each clicks twice, 20% pay with a card that is declined),
 * 200 in flight; then, while units come back from declined payments, shoppers who have not bought keep
 * trying (bounded) until the sale is sold out and settled.
 */
async function spike(
  saleId: string,
  people: { id: string; token: string }[],
  during?: (sent: number) => Promise<void>,
  edgeFor: () => typeof api = () => api,
) {
  const declines = new Set(people.filter((_, i) => i % 5 === 0).map((p) => p.id));
  const method = (id: string) => (declines.has(id) ? "card_declined" : "card_ok");
  const requests = people.flatMap((p) => [p, p]).sort(() => Math.random() - 0.5);
  const answers: Record<string, number> = {};
  const accepted: { orderId: string; token: string }[] = [];
  let sent = 0;
  const fire = async (p: { id: string; token: string }) => {
    const r = await buy(saleId, p.token, { paymentMethod: method(p.id) }, undefined, edgeFor()).catch(() => undefined);
    if (!r) {
      answers["no answer"] = (answers["no answer"] ?? 0) + 1;
      return;
    }
    const key = r.status === 202 ? "202" : `${r.status} ${r.body?.code}`;
    answers[key] = (answers[key] ?? 0) + 1;
    if (r.status === 202) accepted.push({ orderId: r.body.orderId, token: p.token });
  };
  const queue = [...requests];
  await Promise.all(
    Array.from({ length: 200 }, async () => {
      for (let p = queue.shift(); p; p = queue.shift()) {
        await fire(p);
        if (++sent % 500 === 0) await during?.(sent);
      }
    }),
  );
  // demand remains: shoppers with a working card who hold nothing retry while units come back
  const until = Date.now() + 20_000;
  for (let round = 0; Date.now() < until; round++) {
    const a = await audit(saleId);
    if (a.quiet && a.remaining === 0) break;
    // the next 50 shoppers with a working card, round and round (units can come back late: a hold given up)
    const paying = people.filter((p) => !declines.has(p.id));
    await Promise.all(Array.from({ length: 50 }, (_, i) => paying[(round * 50 + i) % paying.length]!).map(fire));
    await Bun.sleep(100);
  }
  return { answers, accepted };
}

describe("flash sales", () => {
  test("a sale carves its units out of the product's stock; more than the stock is refused", async () => {
    const { sale, product } = await makeSale(30, { stock: 40 });
    expect(sale).toMatchObject({ quantity: 30, remaining: 30, status: "live", perUserLimit: 1 });
    expect((await api.call("GET", `/v1/products/${product.id}`)).body.stock).toBe(10);
    const tooMany = await api.call("POST", "/v1/sales", {
      token: seller.token,
      body: { productId: product.id, price: 1, quantity: 11, startsAt: iso(0) },
    });
    expect(tooMany.status).toBe(409);
    expect(tooMany.body.code).toBe("INSUFFICIENT_STOCK");
    const other = await api.user("seller");
    const notMine = await api.call("POST", "/v1/sales", {
      token: other.token,
      body: { productId: product.id, price: 1, quantity: 1, startsAt: iso(0) },
    });
    expect(notMine.status).toBe(403);
    const shopper = await api.user();
    expect(
      (
        await api.call("POST", "/v1/sales", {
          token: shopper.token,
          body: { productId: product.id, price: 1, quantity: 1, startsAt: iso(0) },
        })
      ).status,
    ).toBe(403);
  });

  test("the gate refuses before the start, after the end, and over the per-shopper limit", async () => {
    const shopper = await api.user();
    const early = await makeSale(5, { startsIn: 60_000 });
    expect(early.sale.status).toBe("scheduled");
    expect((await buy(early.sale.id, shopper.token)).body.code).toBe("NOT_STARTED");
    const late = await makeSale(5, { startsIn: -2000, endsIn: 1500 });
    await Bun.sleep(1600);
    const ended = await buy(late.sale.id, shopper.token);
    expect([ended.status, ended.body.code]).toEqual([409, "ENDED"]);
    const { sale } = await makeSale(5);
    const first = await buy(sale.id, shopper.token, {}, "click-1");
    expect(first.status).toBe(202);
    const orderId = first.body.orderId as string;
    expect(first.body).toEqual({ orderId, status: "PENDING", position: 1 });
    const replay = await buy(sale.id, shopper.token, {}, "click-1");
    expect(replay.status).toBe(202);
    expect(replay.body.orderId).toBe(orderId);
    expect(
      (await buy(sale.id, shopper.token, { quantity: 1, paymentMethod: "card_declined" }, "click-1")).body.code,
    ).toBe("IDEMPOTENCY_KEY_REUSED");
    const second = await buy(sale.id, shopper.token, {}, "click-2");
    expect([second.status, second.body.code]).toEqual([409, "LIMIT_REACHED"]);
    expect((await buy(sale.id, shopper.token, { quantity: 2 })).body.code).toBe("LIMIT_REACHED");
    const order = await api.settled(shopper.token, orderId);
    expect(order).toMatchObject({ status: "CONFIRMED", total: 5000, items: [{ quantity: 1, price: 5000 }] });
    expect((await api.call("GET", `/v1/sales/${sale.id}`)).body.remaining).toBe(4);
    expect((await buy(sale.id, shopper.token, { quantity: 0 })).status).toBe(400);
  });

  test("2,000 purchases for 50 units: exactly 50 confirmed, declines re-sold, nobody over the limit, audit green", async () => {
    const { sale } = await makeSale(50);
    const people = await accounts(env, "shopper", 1000);
    const { answers, accepted } = await spike(sale.id, people);
    const a = await quietAudit(sale.id);
    expect(answers["202"]).toBeGreaterThanOrEqual(50);
    expect(Object.keys(answers).every((k) => ["202", "409 SOLD_OUT", "409 LIMIT_REACHED"].includes(k))).toBe(true);
    expect(a).toMatchObject({ confirmed: 50, pending: 0, remaining: 0, perUserMax: 1 });
    expectGreen(a);
    // every accepted purchase settled, and the winners are exactly the confirmed ones
    const settled = await Promise.all(accepted.slice(0, 100).map((o) => api.settled(o.token, o.orderId)));
    expect(settled.every((o) => o.status === "CONFIRMED" || o.status === "CANCELLED")).toBe(true);
  });

  test("the same with Redis flushed in the middle: the gate is rebuilt from Postgres", async () => {
    const { sale } = await makeSale(50);
    const people = await accounts(env, "shopper", 1000);
    let flushed = false;
    await spike(sale.id, people, async (sent) => {
      if (sent >= 500 && !flushed) {
        flushed = true;
        await redis.flushall();
      }
    });
    expect(flushed).toBe(true);
    const a = await quietAudit(sale.id);
    expect(a).toMatchObject({ confirmed: 50, pending: 0, remaining: 0 });
    expect(a.perUserMax).toBeLessThanOrEqual(1);
    expectGreen(a);
  });

  test("the same with an edge killed (SIGKILL) in the middle of the spike", async () => {
    // a second edge instance takes every other request until it is killed; the first one carries on
    const s = await stack();
    const { url, proc: doomed } = await extraEdge(s, "doomed", {}, 20_000);
    const second = client(url);
    const { sale } = await makeSale(50);
    const people = await accounts(env, "shopper", 1000);
    let turn = 0;
    const { answers } = await spike(
      sale.id,
      people,
      async (sent) => {
        if (sent >= 500 && !doomed.killed) doomed.kill("SIGKILL");
      },
      () => (turn++ % 2 ? second : api),
    );
    await doomed.exited;
    expect(answers["no answer"]).toBeGreaterThan(0);
    // holds whose publish died with the edge are released after their grace, then sold again
    const a = await quietAudit(sale.id);
    expect(a).toMatchObject({ confirmed: 50, remaining: 0 });
    expect(a.perUserMax).toBeLessThanOrEqual(1);
    expectGreen(a);
  });

  test("a coupon the shopper holds lowers a sale purchase's total; one not held is refused and takes nothing", async () => {
    const { sale } = await makeSale(5);
    const shopper = await api.user();
    const coupon = await api.call("POST", "/v1/coupons", {
      token: adminToken,
      body: {
        name: "Sale coupon",
        discount: { type: "amount", value: 1000 },
        quantity: 5,
        startsAt: iso(-1000),
        endsAt: iso(3_600_000),
      },
    });
    expect(coupon.status).toBe(201);
    const notHeld = await buy(sale.id, shopper.token, { couponId: coupon.body.id });
    expect([notHeld.status, notHeld.body.code]).toEqual([404, "NOT_FOUND"]);
    expect((await api.call("GET", `/v1/sales/${sale.id}`)).body.remaining).toBe(5);
    expect((await api.call("POST", `/v1/coupons/${coupon.body.id}/claim`, { token: shopper.token })).status).toBe(201);
    await eventually(async () => {
      const mine = (await api.call("GET", "/v1/me/coupons", { token: shopper.token })).body.items as {
        couponId: string;
      }[];
      return mine.some((m) => m.couponId === coupon.body.id) ? true : undefined;
    });
    const r = await buy(sale.id, shopper.token, { couponId: coupon.body.id }, "with-coupon");
    expect(r.status).toBe(202);
    const order = await api.settled(shopper.token, r.body.orderId);
    expect(order).toMatchObject({ status: "CONFIRMED", total: 4000, discount: 1000 });
    const mine = (await api.call("GET", "/v1/me/coupons", { token: shopper.token })).body.items as {
      couponId: string;
      status: string;
    }[];
    expect(mine.find((m) => m.couponId === coupon.body.id)?.status).toBe("USED");
    // a retry of that request gets its first answer, though the coupon is used now (by that very order)
    const retry = await buy(sale.id, shopper.token, { couponId: coupon.body.id }, "with-coupon");
    expect([retry.status, retry.body.orderId]).toEqual([202, r.body.orderId]);
  });

  test("a keyed retry of a purchase the sweeper is giving up waits (503), then buys afresh", async () => {
    const { sale } = await makeSale(3, { startsIn: -120_000 });
    const [ghost] = await accounts(env, "shopper", 1);
    const g = gate(redis);
    const hash = createHash("sha256")
      .update(JSON.stringify({ quantity: 1, paymentMethod: "card_ok" }))
      .digest("base64url");
    // an edge admitted this keyed purchase and died before publishing it; the sweeper has begun giving it up
    const held = await g.purchase({
      saleId: sale.id,
      userId: ghost!.id,
      qty: 1,
      orderId: uuidv7(),
      itemId: uuidv7(),
      idemKey: "k1",
      requestHash: hash,
      now: Date.now() - 60_000,
    });
    expect(held.ok).toBe(true);
    expect(await g.mark(sale.id, "P", "A", [(held as { orderId: string }).orderId])).toBe(1);
    const busy = await buy(sale.id, ghost!.token, {}, "k1");
    expect([busy.status, busy.body.code]).toEqual([503, "UPSTREAM_UNAVAILABLE"]);
    // the sweeper finishes: tombstone, units back, the key forgotten; the retry is a new purchase
    await eventually(
      async () => ((await api.call("GET", `/v1/sales/${sale.id}`)).body.remaining === 3 ? true : undefined),
      15_000,
      "the hold to be released",
    );
    const again = await buy(sale.id, ghost!.token, {}, "k1");
    expect(again.status).toBe(202);
    expect(again.body.orderId).not.toBe((held as { orderId: string }).orderId);
    expect((await api.settled(ghost!.token, again.body.orderId)).status).toBe("CONFIRMED");
  });

  test("after Redis lost the sale, a keyed retry gets its first order again, not a second one", async () => {
    const { sale } = await makeSale(5, { perUserLimit: 2 });
    const [shopper] = await accounts(env, "shopper", 1);
    const first = await buy(sale.id, shopper!.token, { quantity: 1 }, "retry-1");
    expect(first.status).toBe(202);
    expect((await api.settled(shopper!.token, first.body.orderId)).status).toBe("CONFIRMED");
    await redis.del(...saleKeys(sale.id)); // the sale's counters, holds and keys are gone
    const retry = await buy(sale.id, shopper!.token, { quantity: 1 }, "retry-1");
    expect([retry.status, retry.body.orderId, retry.headers.get("idempotent-replayed")]).toEqual([
      202,
      first.body.orderId,
      "true",
    ]);
    const reused = await buy(sale.id, shopper!.token, { quantity: 2 }, "retry-1");
    expect([reused.status, reused.body.code]).toEqual([422, "IDEMPOTENCY_KEY_REUSED"]);
    // the shopper's one unit still counts against the limit of two
    expect((await buy(sale.id, shopper!.token, { quantity: 1 })).status).toBe(202);
    const over = await buy(sale.id, shopper!.token, { quantity: 1 });
    expect([over.status, over.body.code]).toEqual([409, "LIMIT_REACHED"]);
    expectGreen(await quietAudit(sale.id));
  });

  test("after the sale ended and Redis lost it, keyed retries still get their orders; a key with '|' is no trouble", async () => {
    const endsAt = Date.now() + 4_000;
    const { sale } = await makeSale(3, { endsIn: endsAt - Date.now() });
    const [a, b] = await accounts(env, "shopper", 2);
    const declined = await buy(sale.id, a!.token, { paymentMethod: "card_declined" }, "a|b");
    const paid = await buy(sale.id, b!.token, {}, "k-b");
    expect([declined.status, paid.status]).toEqual([202, 202]);
    expect((await api.settled(b!.token, paid.body.orderId)).status).toBe("CONFIRMED");
    // the declined unit comes back to the gate (its hold, with the key in it, is read by the release script)
    await eventually(
      async () => ((await api.call("GET", `/v1/sales/${sale.id}`)).body.remaining === 2 ? true : undefined),
      15_000,
      "the declined unit back",
    );
    await Bun.sleep(Math.max(0, endsAt - Date.now() + 100));
    await redis.del(...saleKeys(sale.id));
    const again = await buy(sale.id, b!.token, {}, "k-b");
    expect([again.status, again.body.orderId]).toEqual([202, paid.body.orderId]);
    const againA = await buy(sale.id, a!.token, { paymentMethod: "card_declined" }, "a|b");
    expect([againA.status, againA.body.orderId]).toEqual([202, declined.body.orderId]);
    const fresh = await buy(sale.id, b!.token, {}, "k-b-2");
    expect([fresh.status, fresh.body.code]).toEqual([409, "ENDED"]);
  });

  test("the hold sweeper leaves alone a hold whose order is still waiting in JetStream (order actor stalled)", async () => {
    const s = await stack();
    const { sale } = await makeSale(3);
    const [buyer] = await accounts(env, "shopper", 1);
    const orderActor = s.supervisor.running.get("order")!;
    orderActor.kill("SIGSTOP");
    let r: Res | undefined;
    try {
      r = await buy(sale.id, buyer!.token);
      expect(r.status).toBe(202);
      // past any grace: only the stalled pipeline keeps the hold
      const db = createDb(env.DATABASE_URL!, { max: 1 });
      const nc = await connect({ servers: env.NATS_URL });
      const jsm = await jetstreamManager(nc);
      expect(
        await sweepHolds(
          { db, gate: gate(redis), jsm, log: logger({ test: "sweeper" }), graceMs: 0 },
          Date.now() + 60_000,
        ),
      ).toBe(0);
      await Promise.all([db.$client.end(), nc.close()]);
    } finally {
      orderActor.kill("SIGCONT");
    }
    expect((await api.settled(buyer!.token, r!.body.orderId)).status).toBe("CONFIRMED");
  });

  test("a keyed retry past its hold's placement window waits (503) and publishes nothing; the sweeper settles it", async () => {
    const { sale } = await makeSale(3, { startsIn: -120_000 });
    const [ghost] = await accounts(env, "shopper", 1);
    const hash = createHash("sha256")
      .update(JSON.stringify({ quantity: 1, paymentMethod: "card_ok" }))
      .digest("base64url");
    // an edge admitted this keyed purchase a window ago and is still trying to publish it (or died): a retry
    // that published now could land after the sweeper gave the hold up, and its 202 would name a dropped order
    const orderId = uuidv7();
    const held = await gate(redis).purchase({
      saleId: sale.id,
      userId: ghost!.id,
      qty: 1,
      orderId,
      itemId: uuidv7(),
      idemKey: "late",
      requestHash: hash,
      now: Date.now() - PLACEMENT_WINDOW_MS,
    });
    expect(held.ok).toBe(true);
    const busy = await buy(sale.id, ghost!.token, {}, "late");
    expect([busy.status, busy.body.code]).toEqual([503, "UPSTREAM_UNAVAILABLE"]);
    await Bun.sleep(500);
    const db = createDb(env.DATABASE_URL!, { max: 1 });
    const placed = await db.select({ id: orders.id }).from(orders).where(eq(orders.id, orderId));
    await db.$client.end();
    expect(placed).toEqual([]);
    // given up once its grace has passed: the retry then buys afresh
    await eventually(
      async () => ((await api.call("GET", `/v1/sales/${sale.id}`)).body.remaining === 3 ? true : undefined),
      30_000,
      "the hold to be released",
    );
    const again = await buy(sale.id, ghost!.token, {}, "late");
    expect(again.status).toBe(202);
    expect(again.body.orderId).not.toBe(orderId);
  });

  test("a keyed retry past its hold's placement window, whose order is in Postgres, is answered with that order", async () => {
    const { sale } = await makeSale(3);
    const [buyer] = await accounts(env, "shopper", 1);
    const first = await buy(sale.id, buyer!.token, {}, "placed");
    expect(first.status).toBe(202);
    expect((await api.settled(buyer!.token, first.body.orderId)).status).toBe("CONFIRMED");
    // the hold is marked placed only by the sweeper, after its grace (or a failed-over primary forgot the mark):
    // here it is still unmarked, a window old
    const [holdsKey] = saleKeys(sale.id).slice(2);
    const hold = (await redis.hget(holdsKey!, first.body.orderId))!;
    const [, user, qty, , ...rest] = hold.split("|");
    const stale = ["P", user, qty, Date.now() - PLACEMENT_WINDOW_MS - 100, ...rest].join("|");
    await redis.hset(holdsKey!, first.body.orderId, stale);
    const again = await buy(sale.id, buyer!.token, {}, "placed");
    expect([again.status, again.body.orderId, again.headers.get("idempotent-replayed")]).toEqual([
      202,
      first.body.orderId,
      "true",
    ]);
  });

  test("a hold whose order was never published is released by the sweeper", async () => {
    const { sale } = await makeSale(3, { startsIn: -120_000 });
    const [ghost, buyer] = await accounts(env, "shopper", 2);
    // what an edge does before it dies: the gate admits, the publish never happens (a grace ago)
    const g = gate(redis);
    const held = await g.purchase({
      saleId: sale.id,
      userId: ghost!.id,
      qty: 1,
      orderId: uuidv7(),
      itemId: uuidv7(),
      now: Date.now() - 60_000,
    });
    expect(held.ok).toBe(true);
    expect((await api.call("GET", `/v1/sales/${sale.id}`)).body.remaining).toBe(2);
    await eventually(
      async () => ((await api.call("GET", `/v1/sales/${sale.id}`)).body.remaining === 3 ? true : undefined),
      15_000,
      "the hold to be released",
    );
    // the ghost may buy again: its count went back too
    expect((await buy(sale.id, ghost!.token)).status).toBe(202);
    expect((await buy(sale.id, buyer!.token)).status).toBe(202);
    const a = await quietAudit(sale.id);
    expect(a).toMatchObject({ confirmed: 2, remaining: 1, abandonedHolds: 1 });
    expectGreen(a);
  });
});

describe("flash sales: contract v1.1", () => {
  test("replaying POST /v1/sales after Redis lost its data rebuilds the gate from Postgres, never from the request", async () => {
    const p = await api.product(seller.token, 10_000, 10);
    const body = { productId: p.id, price: 5_000, quantity: 5, perUserLimit: 1, startsAt: iso(-1000) };
    const create = () =>
      api.call("POST", "/v1/sales", { token: seller.token, body, headers: { "idempotency-key": "sale-replay" } });
    const made = await create();
    expect(made.status).toBe(201);
    const saleId = made.body.id as string;
    const buyers = await accounts(env, "shopper", 4);
    for (const b of buyers.slice(0, 3)) {
      const r = await buy(saleId, b.token);
      expect(r.status).toBe(202);
      expect((await api.settled(b.token, r.body.orderId)).status).toBe("CONFIRMED");
    }
    await redis.flushall();
    const replay = await create();
    expect([replay.status, replay.body.id]).toEqual([201, saleId]);
    // the gate knows its buyers and its units again
    const again = await buy(saleId, buyers[0]!.token);
    expect([again.status, again.body.code]).toEqual([409, "LIMIT_REACHED"]);
    expect((await api.call("GET", `/v1/sales/${saleId}`)).body.remaining).toBe(2);
    const fourth = await buy(saleId, buyers[3]!.token);
    expect(fourth.status).toBe(202);
    const a = await quietAudit(saleId);
    expect(a).toMatchObject({ confirmed: 4, remaining: 1, perUserMax: 1 });
    expectGreen(a);
  });

  test("a purchase whose amount would not fit the money columns is a 400 before the gate decides", async () => {
    const p = await api.product(seller.token, 1_000_000_000, 10);
    const made = await api.call("POST", "/v1/sales", {
      token: seller.token,
      body: { productId: p.id, price: 800_000_000, quantity: 5, perUserLimit: 3, startsAt: iso(-1000) },
    });
    expect(made.status).toBe(201);
    const [shopper] = await accounts(env, "shopper", 1);
    for (const key of [undefined, "too-much"]) {
      const r = await buy(made.body.id, shopper!.token, { quantity: 3 }, key);
      expect([r.status, r.body.code]).toEqual([400, "VALIDATION_FAILED"]);
    }
    expect((await api.call("GET", `/v1/sales/${made.body.id}`)).body.remaining).toBe(5);
    // what fits is bought as usual, and the shopper's limit was not spent by the refusals
    const fits = await buy(made.body.id, shopper!.token, { quantity: 2 });
    expect(fits.status).toBe(202);
    expect(await api.settled(shopper!.token, fits.body.orderId)).toMatchObject({
      status: "CONFIRMED",
      total: 1_600_000_000,
    });
    expectGreen(await quietAudit(made.body.id));
  });

  test("a placement that went to the dead-letter queue fails the sale's audit", async () => {
    const { sale, product } = await makeSale(3);
    const [shopper] = await accounts(env, "shopper", 1);
    // a placement the order actor can never write (an amount past its columns)
    const orderId = uuidv7();
    const nc = await connect({ servers: env.NATS_URL });
    try {
      const data = {
        orderId,
        userId: shopper!.id,
        items: [{ itemId: uuidv7(), productId: product.id, quantity: 3, price: 800_000_000 }],
        total: 2_400_000_000,
        discount: 0,
        saleId: sale.id,
        paymentMethod: "card_ok",
      } as Data<"orders.cmd.place">;
      await publishEnvelope(jetstreamOf(nc), envelope("orders.cmd.place", data, orderId));
    } finally {
      await nc.close();
    }
    await eventually(
      async () => {
        const dlq = await api.call("GET", "/v1/ops/dlq?limit=100", { token: adminToken });
        return (dlq.body.items as { orderId?: string }[]).some((l) => l.orderId === orderId) ? true : undefined;
      },
      60_000,
      "the placement to be dead-lettered",
    );
    const a = await audit(sale.id);
    expect(a.deadLetteredPlacements).toBe(1);
    expect(a.invariants.noPlacementDeadLettered).toMatchObject({ pass: false });
  }, 90_000);
});
