// The k6 scenarios without k6: their scripts type-checked against @types/k6, and their request sequences
// (scripts/k6/lib, the same generators k6 drives) run once with fetch against the whole stack, asserting
// the statuses and checks the scenarios expect.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { cpSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Redis } from "ioredis";
import { BROWSE_KINDS, browse, browseKind, SEARCHES } from "../scripts/k6/lib/browse";
import { browseConfig, couponConfig, spikeConfig } from "../scripts/k6/lib/config";
import { claim, settleCoupon } from "../scripts/k6/lib/coupon";
import { answer, type Flow, type Reply, type Req, type Result, wire } from "../scripts/k6/lib/flow";
import { address, picked, setupBrowse, setupCoupon, setupSpike } from "../scripts/k6/lib/setup";
import { purchase, purchaseOutcome, settleSale } from "../scripts/k6/lib/spike";
import { summaryText } from "../scripts/k6/lib/summary";
import { root, stack } from "./harness";

async function send(base: string, r: Req) {
  const w = wire(base, r);
  const res = await fetch(w.url, { method: w.method, headers: w.headers, body: w.body });
  return answer(res.status, Object.fromEntries(res.headers), await res.text());
}

/** The fetch twin of scripts/k6/lib/k6.ts: a batch goes out at once, a pause sleeps. */
async function drive<T>(base: string, flow: Flow<T>): Promise<T> {
  let step = flow.next();
  while (!step.done) {
    const s = step.value;
    let reply: Reply;
    if ("waitMs" in s) await Bun.sleep(s.waitMs);
    else reply = Array.isArray(s) ? await Promise.all(s.map((r) => send(base, r))) : await send(base, s);
    step = flow.next(reply);
  }
  return step.value;
}

const failed = (r: Result) => r.checks.filter(([, ok]) => !ok).map(([name]) => name);

async function tsc(project: string) {
  const p = Bun.spawn(["bunx", "tsc", "-p", project], { cwd: root, stdout: "pipe", stderr: "pipe" });
  const out = (await new Response(p.stdout).text()) + (await new Response(p.stderr).text());
  return { code: await p.exited, out };
}

describe("k6 scripts", () => {
  test("type-check against @types/k6", async () => {
    expect(await tsc("scripts/k6")).toEqual({ code: 0, out: "" });
  });

  test("the check refuses a wrong use of the k6 API", async () => {
    // a copy under .data (which finds node_modules/@types by walking up) with one bad line added
    const dir = join(root, ".data", `k6-check-${process.pid}`);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    try {
      cpSync(join(root, "scripts/k6"), dir, { recursive: true });
      writeFileSync(join(dir, "wrong.ts"), 'import http from "k6/http";\nhttp.get(42);\n');
      const r = await tsc(dir);
      expect(r.code).not.toBe(0);
      expect(r.out).toContain("wrong.ts");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("k6 scenario pieces", () => {
  test("shares are spread exactly: 1 in 5 pays with a declined card, 3 in 10 click twice", () => {
    const n = 1000;
    expect(Array.from({ length: n }, (_, i) => picked(i, 0.2)).filter(Boolean).length).toBe(200);
    expect(Array.from({ length: n }, (_, i) => picked(i, 0.3)).filter(Boolean).length).toBe(300);
    expect(Array.from({ length: n }, (_, i) => picked(i, 0)).some(Boolean)).toBe(false);
  });

  test("the read mix is about 30/20/25/15/10 and each account has its own address", () => {
    const counts = Object.fromEntries(BROWSE_KINDS.map((k) => [k, 0]));
    for (let n = 0; n < 20_000; n++) counts[browseKind(n)]!++;
    expect(Object.values(counts).map((v) => Math.round(v / 1000))).toEqual([6, 4, 5, 3, 2]);
    const addrs = new Set(Array.from({ length: 70_000 }, (_, i) => address(i)));
    expect(addrs.size).toBe(70_000);
    expect(address(2)).toBe("198.18.0.2");
  });

  test("answers outside 202/409 count as errors; a summary has a line per outcome", () => {
    const res = (status: number, body: unknown) => answer(status, {}, JSON.stringify(body));
    expect(purchaseOutcome(res(202, { orderId: "x", status: "PENDING" }))).toBe("accepted");
    expect(purchaseOutcome(res(409, { code: "LIMIT_REACHED" }))).toBe("limit_reached");
    expect(purchaseOutcome(res(409, { code: "ENDED" }))).toBe("other_409");
    expect(purchaseOutcome(res(429, { code: "RATE_LIMITED" }))).toBe("rate_limited");
    expect(purchaseOutcome(res(503, { code: "UPSTREAM_UNAVAILABLE" }))).toBe("error");
    const text = summaryText(
      "spike",
      {
        metrics: {
          purchase_accepted: { values: { count: 500 } },
          "http_req_duration{name:purchase}": {
            values: { med: 2, "p(95)": 9.5, "p(99)": 20, max: 40 },
            thresholds: { "p(95)<500": { ok: true } },
          },
          checks: { values: { passes: 10, fails: 1 }, thresholds: { "rate>0.99": { ok: false } } },
        },
        state: { testRunDurationMs: 11_000 },
      },
      ["purchase_accepted", "purchase_error"],
      ["http_req_duration{name:purchase}"],
    );
    expect(text).toMatch(/purchase_accepted\s+500\n/);
    expect(text).toMatch(/purchase_error\s+0\n/);
    expect(text).toContain("9.5 ms");
    expect(text).toContain("FAIL checks: rate>0.99");
  });

  test("settings: defaults, and a readable refusal", () => {
    expect(spikeConfig({})).toMatchObject({
      baseUrl: "http://127.0.0.1:3000",
      peak: 1000,
      durationS: 10,
      shoppers: 200,
      quantity: 500,
    });
    expect(spikeConfig({ DURATION: "30s", PEAK: "5000" })).toMatchObject({ durationS: 30, peak: 5000 });
    expect(() => couponConfig({ SHOPPERS: "lots" })).toThrow("SHOPPERS=lots");
  });
});

describe("k6 scenarios against the stack", () => {
  let base: string;
  let redis: Redis;

  /**
   * The test stack's edge trusts no proxy, so the scenarios' per-account X-Forwarded-For does not count and
   * every login here counts against 127.0.0.1's login bucket (10 a minute), which the other whole-stack
   * tests of this process share. Each setup gets a full bucket, and leaves one behind.
   */
  const freeLogins = async () => {
    const keys = await redis.keys("rl:login-ip:*");
    if (keys.length) await redis.del(...keys);
  };

  beforeAll(async () => {
    const s = await stack();
    base = s.edgeUrl;
    redis = new Redis(s.env.REDIS_URL!);
  });
  afterAll(async () => {
    await freeLogins();
    redis?.disconnect();
  });

  test("spike-purchase: setup, then each answer the checks accept, duplicate clicks, and a green audit", async () => {
    await freeLogins();
    const c = spikeConfig({ BASE_URL: base, SHOPPERS: "5", QUANTITY: "2" });
    const d = await drive(base, setupSpike(c));
    expect(d.shoppers.map((s) => [s.method, s.doubleClick])).toEqual([
      ["card_ok", false],
      ["card_ok", false],
      ["card_ok", false],
      ["card_ok", true],
      ["card_declined", false],
    ]);
    expect(
      (await send(base, { method: "GET", path: `/v1/sales/${d.saleId}`, name: "sale", expect: [200] })).body,
    ).toMatchObject({ quantity: 2, remaining: 2, status: "live" });

    // shopper 3 clicks twice: one order; shopper 4 buys with a card that will be declined
    const twice = await drive(base, purchase(d, 3));
    expect([twice.outcomes, failed(twice)]).toEqual([["accepted", "duplicate"], []]);
    const declined = await drive(base, purchase(d, 4));
    expect([declined.outcomes, failed(declined)]).toEqual([["accepted"], []]);
    // shopper 3 again with a new key (iteration 8): over the per-shopper limit, both clicks
    const again = await drive(base, purchase(d, 8));
    expect([again.outcomes, failed(again)]).toEqual([["limit_reached", "limit_reached"], []]);
    // shopper 0: sold out, unless the declined payment already gave its unit back
    const late = await drive(base, purchase(d, 0));
    expect(failed(late)).toEqual([]);
    expect(["sold_out", "accepted"]).toContain(late.outcomes[0]!);

    const audit = await drive(base, settleSale(d, 30));
    expect(failed(audit)).toEqual([]);
    expect(audit.checks.length).toBeGreaterThan(5);
    // how many confirm depends on payments (a slow machine may time one out); the invariants do not
    expect(audit.lines[0]).toMatch(/quantity 2, .*pending 0/);
  });

  test("coupon-rush: setup, claimed once per shopper, duplicate clicks, sold out, recorded claims", async () => {
    await freeLogins();
    const c = couponConfig({ BASE_URL: base, SHOPPERS: "5", QUANTITY: "2" });
    const d = await drive(base, setupCoupon(c));
    expect(d.quantity).toBe(2);
    const twice = await drive(base, claim(d, 3));
    expect([twice.outcomes, failed(twice)]).toEqual([["claimed", "duplicate"], []]);
    const again = await drive(base, claim(d, 8));
    expect([again.outcomes, failed(again)]).toEqual([["already_claimed", "already_claimed"], []]);
    const second = await drive(base, claim(d, 4));
    expect([second.outcomes, failed(second)]).toEqual([["claimed"], []]);
    const late = await drive(base, claim(d, 0));
    expect([late.outcomes, failed(late)]).toEqual([["sold_out"], []]);

    const settled = await drive(base, settleCoupon(d, 15));
    expect([settled.recorded, failed(settled)]).toEqual([2, []]);
  });

  test("browse-mix: setup, then each kind of read with its shape", async () => {
    await freeLogins();
    const c = browseConfig({ BASE_URL: base, SHOPPERS: "2", PRODUCTS: "5", PAGE_SIZE: "2", PAGES: "3" });
    const d = await drive(base, setupBrowse(c));
    expect(d.productIds).toHaveLength(5);
    for (const kind of BROWSE_KINDS) {
      const r = await drive(base, browse(d, 1, kind));
      expect([kind, failed(r)]).toEqual([kind, []]);
      if (kind === "search") expect(r.outcomes.length).toBeGreaterThan(0);
      expect(r.outcomes).toEqual(
        kind === "products_list" ? [kind, kind, kind] : kind === "search" ? r.outcomes.map(() => kind) : [kind],
      );
    }
    // each query of the mix under each sort passes its checks, and finds products setup made for it
    for (let n = 0; n < SEARCHES.length * 5; n++) {
      const r = await drive(base, browse(d, n, "search"));
      expect([n, failed(r)]).toEqual([n, []]);
    }
    for (const q of SEARCHES) {
      const r = await send(base, {
        method: "GET",
        path: `/v1/products?q=${encodeURIComponent(`${d.run} ${q}`)}`,
        name: "search",
        expect: [200],
      });
      expect([q, r.body.items.length > 0]).toEqual([q, true]);
    }
  });
});
