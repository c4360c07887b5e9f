// FCFS coupons over HTTP against the real stack: the Redis decision (window, once per user, cap), claims
// persisted through JetStream, the rush of 2,000 claims for 100 coupons (also with the coupon actor killed
// mid-run), claims an edge won but never published, and expiry of an ended coupon's keys.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { eq } from "drizzle-orm";
import { Redis } from "ioredis";
import { createDb, type Db, userCoupons } from "../db";
import { claimCoupon, couponKeys } from "../domain/coupon";
import { uuidv7 } from "../nats";
import { type Account, accounts, adminAccount } from "../scripts/lib/accounts";
import { client, eventually } from "./client";
import { stack } from "./harness";

let s: Awaited<ReturnType<typeof stack>>;
let api: ReturnType<typeof client>;
let db: Db;
let redis: Redis;
let admin: Account;

beforeAll(async () => {
  s = await stack();
  api = client(s.edgeUrl);
  db = createDb(s.env.DATABASE_URL!, { max: 2 });
  redis = new Redis(s.env.REDIS_URL!);
  admin = await adminAccount(s.env);
});

afterAll(async () => {
  redis?.disconnect();
  await db?.$client.end();
});

const iso = (msFromNow: number) => new Date(Date.now() + msFromNow).toISOString();
async function newCoupon(
  o: {
    quantity?: number;
    startsIn?: number;
    endsIn?: number;
    discount?: { type: "amount" | "percent"; value: number };
  } = {},
) {
  const r = await api.call("POST", "/v1/coupons", {
    token: admin.token,
    body: {
      name: "Test coupon",
      discount: o.discount ?? { type: "amount", value: 1000 },
      quantity: o.quantity ?? 10,
      startsAt: iso(o.startsIn ?? -1000),
      endsAt: iso(o.endsIn ?? 3_600_000),
    },
  });
  expect(r.status).toBe(201);
  return r.body as { id: string; quantity: number; endsAt: string };
}
const claim = (token: string, couponId: string, headers: Record<string, string> = {}) =>
  api.call("POST", `/v1/coupons/${couponId}/claim`, { token, headers });
const persisted = (couponId: string) => db.select().from(userCoupons).where(eq(userCoupons.couponId, couponId));

describe("creating coupons", () => {
  test("an admin creates one; a shopper may not; bad input is refused", async () => {
    const [shopper] = (await accounts(s.env, "shopper", 1)) as [Account];
    const c = await newCoupon({ quantity: 5, discount: { type: "percent", value: 15 } });
    expect(c).toMatchObject({
      id: expect.any(String),
      name: "Test coupon",
      discount: { type: "percent", value: 15 },
      quantity: 5,
    });
    const body = {
      name: "x",
      discount: { type: "amount", value: 1 },
      quantity: 1,
      startsAt: iso(0),
      endsAt: iso(60_000),
    };
    expect((await api.call("POST", "/v1/coupons", { token: shopper.token, body })).status).toBe(403);
    for (const bad of [
      { ...body, discount: { type: "percent", value: 150 } },
      { ...body, discount: { type: "free", value: 1 } },
      { ...body, quantity: 0 },
      { ...body, endsAt: iso(-60_000), startsAt: iso(-120_000) },
      { ...body, startsAt: iso(60_000), endsAt: iso(30_000) },
    ]) {
      const r = await api.call("POST", "/v1/coupons", { token: admin.token, body: bad });
      expect(r.status).toBe(400);
      expect(r.body.code).toBe("VALIDATION_FAILED");
    }
  });
});

describe("claiming", () => {
  test("once per shopper, up to the quantity, inside the window; shown in /v1/me/coupons within a second", async () => {
    const shoppers = await accounts(s.env, "shopper", 3);
    const [a, b, c] = shoppers as [Account, Account, Account];
    const coupon = await newCoupon({ quantity: 2 });
    const won = await claim(a.token, coupon.id);
    const wonAt = Date.now();
    expect(won.status).toBe(201);
    expect(won.body).toEqual({ userCouponId: expect.any(String) });
    const mine = await eventually(async () => {
      const r = await api.call("GET", "/v1/me/coupons", { token: a.token });
      return r.body.items.length ? r.body.items : undefined;
    });
    expect(Date.now() - wonAt).toBeLessThan(1000);
    expect(mine).toEqual([
      {
        userCouponId: won.body.userCouponId,
        couponId: coupon.id,
        name: "Test coupon",
        discount: { type: "amount", value: 1000 },
        status: "AVAILABLE",
        claimedAt: expect.any(String),
      },
    ]);

    const again = await claim(a.token, coupon.id);
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ code: "ALREADY_CLAIMED", userCouponId: won.body.userCouponId });
    expect((await claim(b.token, coupon.id)).status).toBe(201);
    const late = await claim(c.token, coupon.id);
    expect(late.status).toBe(409);
    expect(late.body.code).toBe("SOLD_OUT");
    expect((await api.call("GET", "/v1/me/coupons", { token: c.token })).body.items).toEqual([]);
    await eventually(async () => ((await persisted(coupon.id)).length === 2 ? true : undefined));
  });

  test("not before it starts, not after it ends; an unknown coupon is 404", async () => {
    const [a] = (await accounts(s.env, "shopper", 1)) as [Account];
    const future = await newCoupon({ startsIn: 60_000 });
    const early = await claim(a.token, future.id);
    expect(early.status).toBe(409);
    expect(early.body.code).toBe("NOT_ACTIVE");
    const brief = await newCoupon({ endsIn: 300 });
    await Bun.sleep(400);
    expect((await claim(a.token, brief.id)).body.code).toBe("NOT_ACTIVE");
    expect((await claim(a.token, uuidv7())).status).toBe(404);
  });

  test("the same Idempotency-Key answers the first claim again", async () => {
    const [a] = (await accounts(s.env, "shopper", 1)) as [Account];
    const coupon = await newCoupon();
    const first = await claim(a.token, coupon.id, { "idempotency-key": "k-1" });
    const replay = await claim(a.token, coupon.id, { "idempotency-key": "k-1" });
    expect(replay.status).toBe(201);
    expect(replay.body.userCouponId).toBe(first.body.userCouponId);
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    expect((await claim(a.token, coupon.id, { "idempotency-key": "k-2" })).body.code).toBe("ALREADY_CLAIMED");
  });

  test("Redis forgets a coupon: it is primed again from Postgres, with the claims already recorded", async () => {
    const [a, b] = (await accounts(s.env, "shopper", 2)) as [Account, Account];
    const coupon = await newCoupon({ quantity: 1 });
    const won = await claim(a.token, coupon.id);
    await eventually(async () => ((await persisted(coupon.id)).length ? true : undefined));
    const k = couponKeys(coupon.id);
    await redis.del(k.meta, k.claims, k.unpublished);
    expect((await claim(a.token, coupon.id)).body).toMatchObject({
      code: "ALREADY_CLAIMED",
      userCouponId: won.body.userCouponId,
    });
    expect((await claim(b.token, coupon.id)).body.code).toBe("SOLD_OUT");
  });

  test("an ended coupon's keys expire: at its end plus the grace period", async () => {
    const [a] = (await accounts(s.env, "shopper", 1)) as [Account];
    const coupon = await newCoupon({ endsIn: 60_000 });
    expect((await claim(a.token, coupon.id)).status).toBe(201);
    const expected = Date.parse(coupon.endsAt) + 3600 * 1000;
    const k = couponKeys(coupon.id);
    expect(Number(await redis.call("PEXPIRETIME", k.meta))).toBe(expected);
    expect(Number(await redis.call("PEXPIRETIME", k.claims))).toBe(expected);
    // the unpublished set empties once JetStream has the claim; a key without members is gone
    await eventually(async () => ((await redis.exists(k.unpublished)) === 0 ? true : undefined), 5000, "published");
  });
});

describe("an edge that dies between the Redis decision and the publish", () => {
  test("its claim is published by the reconciler and recorded", async () => {
    const [a] = (await accounts(s.env, "shopper", 1)) as [Account];
    const coupon = await newCoupon({ quantity: 1 });
    // exactly what the edge does before it publishes, and then nothing: the process is gone
    const r = await claimCoupon(redis, { couponId: coupon.id, userId: a.id, userCouponId: uuidv7() });
    expect(r.outcome).toBe("OK");
    const userCouponId = r.outcome === "OK" ? r.claim.userCouponId : "";
    expect(await redis.zscore(couponKeys(coupon.id).unpublished, a.id)).not.toBeNull();
    const rows = await eventually(
      async () => {
        const rows = await persisted(coupon.id);
        return rows.length ? rows : undefined;
      },
      10_000,
      "the reconciler",
    );
    expect(rows.map((x) => [x.id, x.userId])).toEqual([[userCouponId, a.id]]);
    expect((await api.call("GET", "/v1/me/coupons", { token: a.token })).body.items[0].userCouponId).toBe(userCouponId);
    await eventually(
      async () => ((await redis.zscore(couponKeys(coupon.id).unpublished, a.id)) === null ? true : undefined),
      5000,
      "unpublished cleared",
    );
  });
});

describe("the rush: 2,000 claims from 1,000 shoppers for 100 coupons", () => {
  let shoppers: Account[];
  beforeAll(async () => {
    shoppers = await accounts(s.env, "shopper", 1000);
  });

  /** Every shopper claims twice at once; `during` runs once the first winners are answered. */
  async function rush(couponId: string, during?: () => void) {
    let wins = 0;
    const results = await Promise.all(
      shoppers.flatMap((sh) =>
        [0, 1].map(async () => {
          const r = await claim(sh.token, couponId);
          if (r.status === 201 && ++wins === 30) during?.();
          return {
            userId: sh.id,
            status: r.status,
            code: r.body?.code as string | undefined,
            userCouponId: r.body?.userCouponId as string | undefined,
          };
        }),
      ),
    );
    const winners = results.filter((r) => r.status === 201);
    expect(winners).toHaveLength(100);
    expect(new Set(winners.map((w) => w.userId)).size).toBe(100);
    const losers = results.filter((r) => r.status !== 201);
    expect(losers.every((l) => l.status === 409 && (l.code === "SOLD_OUT" || l.code === "ALREADY_CLAIMED"))).toBe(true);
    expect(await redis.hlen(couponKeys(couponId).claims)).toBe(100);
    return winners;
  }

  async function allPersisted(couponId: string, winners: { userId: string; userCouponId?: string }[], ms: number) {
    const rows = await eventually(
      async () => {
        const rows = await persisted(couponId);
        return rows.length >= 100 ? rows : undefined;
      },
      ms,
      "100 claims recorded",
    );
    await Bun.sleep(300); // nothing more arrives
    const again = await persisted(couponId);
    expect(again).toHaveLength(100);
    expect(new Set(again.map((r) => r.userId)).size).toBe(100);
    const byId = (xs: { id?: string; userCouponId?: string; userId: string }[]) =>
      xs.map((x) => `${x.id ?? x.userCouponId}:${x.userId}`).sort();
    expect(byId(again)).toEqual(byId(winners));
    return rows;
  }

  test("exactly 100 win, nobody twice, all 100 recorded", async () => {
    const coupon = await newCoupon({ quantity: 100 });
    const started = Date.now();
    const winners = await rush(coupon.id);
    const answeredIn = Date.now() - started;
    await allPersisted(coupon.id, winners, 5_000);
    console.info(`rush: 2000 claims answered in ${answeredIn} ms`);
  });

  test("the same with the coupon actor killed (SIGKILL) mid-run", async () => {
    const coupon = await newCoupon({ quantity: 100 });
    const victim = s.supervisor.running.get("coupon")!;
    const winners = await rush(coupon.id, () => victim.kill("SIGKILL"));
    expect(victim.killed || victim.exitCode !== null || victim.signalCode !== null).toBe(true);
    await eventually(
      async () => (s.supervisor.running.get("coupon") !== victim ? true : undefined),
      10_000,
      "the restart",
    );
    // messages the dead process had taken come back after the consumer's ack wait
    await allPersisted(coupon.id, winners, 45_000);
  }, 70_000);

  test("the edge killed (SIGKILL) mid-rush, between decisions and publishes: every granted claim is recorded", async () => {
    const coupon = await newCoupon({ quantity: 100 });
    const k = couponKeys(coupon.id);
    const edge = s.supervisor.running.get("edge")!;
    // kill the edge the moment Redis holds a claim it granted and the edge has not published yet
    let unpublishedAtDeath = 0;
    let rushing = true;
    const watcher = (async () => {
      while (rushing && !unpublishedAtDeath) {
        const n = await redis.zcard(k.unpublished);
        if (n > 0) {
          edge.kill("SIGKILL");
          unpublishedAtDeath = n;
        }
      }
    })();
    const answered = await Promise.all(
      shoppers.map((sh) =>
        claim(sh.token, coupon.id).then(
          (r) => r.status,
          () => 0,
        ),
      ), // 0: the connection died with the edge
    );
    rushing = false;
    await watcher;
    expect(unpublishedAtDeath).toBeGreaterThan(0);
    expect(answered.filter((x) => x === 0).length).toBeGreaterThan(0);
    await eventually(
      async () =>
        (await fetch(`${s.edgeUrl}/healthz`).then(
          (r) => r.ok,
          () => false,
        )) || undefined,
      15_000,
      "the edge back",
    );
    const granted = await redis.hgetall(k.claims);
    const expected = Object.entries(granted)
      .map(([userId, v]) => `${v.split("|")[0]}:${userId}`)
      .sort();
    expect(expected.length).toBeGreaterThan(0);
    const rows = await eventually(
      async () => {
        const rows = await persisted(coupon.id);
        return rows.length >= expected.length ? rows : undefined;
      },
      15_000,
      "every granted claim recorded",
    );
    expect(rows.map((r) => `${r.id}:${r.userId}`).sort()).toEqual(expected);
    // the reconciler takes a claim out of the set once JetStream has it, which can be after it is recorded
    await eventually(
      async () => ((await redis.zcard(k.unpublished)) === 0 ? true : undefined),
      5000,
      "nothing left unpublished",
    );
  }, 40_000);
});
