// The opening seconds of a sale on a stack with the default limits and one edge process per core: a login storm,
// shoppers behind one address, forged tokens from one address.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import postgres from "postgres";
import { accounts, adminAccount } from "../scripts/lib/accounts";
import { type PrivateStack, root } from "../scripts/lib/private-stack";
import { client, eventually } from "./client";
import { ownStack } from "./harness";

let s: PrivateStack;
let api: ReturnType<typeof client>;

beforeAll(async () => {
  s = await ownStack({
    name: `burst_${process.pid}`,
    logFile: join(root, ".data", `test-burst-${process.pid}.log`),
    // each test shopper sends its own address, trusted from loopback as behind a load balancer
    env: { TRUSTED_PROXIES: "127.0.0.1/32", EDGE_PROCESSES: "2", LOG_LEVEL: "warn" },
  });
  api = client(s.edgeUrl);
});
afterAll(() => s?.stop());

/** Runs `jobs` with at most `width` at once. */
async function pool<T>(jobs: (() => Promise<T>)[], width: number): Promise<T[]> {
  const out: T[] = new Array(jobs.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      for (let i = next++; i < jobs.length; i = next++) out[i] = await jobs[i]!();
    }),
  );
  return out;
}

const timed = async <T>(f: () => Promise<T>) => {
  const t = performance.now();
  const r = await f();
  return { ...(r as object), ms: performance.now() - t } as T & { ms: number };
};

describe("opening burst", () => {
  test("300 signups then 300 logins at once: no 504, every refusal 503 BUSY or 429 with Retry-After, none slower than 5 s, an account for every 201 and no other", async () => {
    const run = `${Date.now()}`;
    const people = Array.from({ length: 300 }, (_, i) => ({
      email: `storm-${run}-${i}@test.dev`,
      password: "Passw0rd!",
      ip: `198.18.${i >> 8}.${i & 255}`,
    }));
    const signups = await Promise.all(
      people.map((p) =>
        timed(() =>
          api.call("POST", "/v1/auth/signup", {
            body: { email: p.email, password: p.password, name: "storm" },
            headers: { "x-forwarded-for": p.ip },
          }),
        ),
      ),
    );
    const logins = await Promise.all(
      people.map((p) =>
        timed(() =>
          api.call("POST", "/v1/auth/login", {
            body: { email: p.email, password: p.password },
            headers: { "x-forwarded-for": p.ip },
          }),
        ),
      ),
    );
    for (const [what, answers] of [
      ["signup", signups],
      ["login", logins],
    ] as const) {
      const statuses = answers.map((a) => a.status);
      const counts: Record<number, number> = {};
      for (const st of statuses) counts[st] = (counts[st] ?? 0) + 1;
      process.stderr.write(
        `300 ${what}s at once: ${JSON.stringify(counts)}, slowest ${Math.max(...answers.map((a) => a.ms)).toFixed(0)} ms\n`,
      );
      expect(
        statuses.filter((st) => st !== (what === "signup" ? 201 : 200) && st !== 503 && st !== 429 && st !== 401),
      ).toEqual([]);
      for (const a of answers.filter((a) => a.status === 503 || a.status === 429)) {
        expect(a.body.code).toBe(a.status === 503 ? "BUSY" : "RATE_LIMITED");
        expect(Number(a.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
      }
      expect(Math.max(...answers.map((a) => a.ms))).toBeLessThan(5_000);
    }
    // a login of an account whose signup was refused is 401; of one that was created, 200 or a refusal
    const created = new Set(people.filter((_, i) => signups[i]!.status === 201).map((p) => p.email));
    for (const [i, p] of people.entries())
      expect(logins[i]!.status === 401).toBe(
        !created.has(p.email) && logins[i]!.status !== 503 && logins[i]!.status !== 429,
      );
    expect(created.size).toBeGreaterThan(0);
    expect(logins.some((l) => l.status === 200)).toBe(true);
    const sql = postgres(s.env.DATABASE_URL!, { max: 1, onnotice: () => {} });
    try {
      const [row] = await sql`select count(*)::int as n from identity.users where email like ${`storm-${run}-%`}`;
      expect(row!.n).toBe(created.size);
    } finally {
      await sql.end();
    }
  }, 60_000);

  test("1,000 shoppers behind one address, 10 attempts each, a 300-unit sale: sold out, nobody rate limited", async () => {
    const admin = await adminAccount(s.env);
    const product = await api.call("POST", "/v1/products", {
      token: admin.token,
      body: { name: "NAT sale", price: 1000, stock: 300 },
    });
    const sale = await api.call("POST", "/v1/sales", {
      token: admin.token,
      body: { productId: product.body.id, price: 900, quantity: 300, startsAt: new Date().toISOString() },
    });
    expect(sale.status).toBe(201);
    const shoppers = await accounts(s.env, "shopper", 1000);
    const statuses: Record<number, number> = {};
    for (let attempt = 0; attempt < 10; attempt++) {
      const answers = await pool(
        shoppers.map(
          (sh) => () =>
            api.call("POST", `/v1/sales/${sale.body.id}/purchase`, {
              token: sh.token,
              body: {},
              headers: { "x-forwarded-for": "203.0.113.7" },
            }),
        ),
        128,
      );
      for (const a of answers) statuses[a.status] = (statuses[a.status] ?? 0) + 1;
    }
    process.stderr.write(`10 x 1,000 purchases from one address: ${JSON.stringify(statuses)}\n`);
    expect(statuses[429]).toBeUndefined();
    expect(statuses[202]).toBe(300);
    expect(Object.keys(statuses).sort()).toEqual(["202", "409"]);
    const after = await api.call("GET", `/v1/sales/${sale.body.id}`);
    expect(after.body.remaining).toBe(0);
    const audit = await eventually(
      async () => {
        const a = await api.call("GET", `/v1/ops/sales/${sale.body.id}/audit`, { token: admin.token });
        return a.body.quiet ? a.body : undefined;
      },
      60_000,
      "the sale to settle",
    );
    const { invariants: checks, ...counts } = audit;
    process.stderr.write(`the sale settled: ${JSON.stringify(counts)}\n`);
    expect(audit.confirmed).toBe(300);
    expect(Object.entries(audit.invariants as Record<string, { pass: boolean }>).filter(([, v]) => !v.pass)).toEqual(
      [],
    );
  }, 120_000);

  test("2,000 forged tokens from one address cost at most the address's budget of signature checks, then 429 without one", async () => {
    const [shopper] = await accounts(s.env, "shopper", 1);
    const [h, p] = shopper!.token.split(".");
    const t = performance.now();
    const answers = await pool(
      Array.from(
        { length: 2000 },
        (_, i) => () =>
          api.call("GET", "/v1/me", {
            token: `${h}.${p}.${Buffer.from(`forged-${i}`.padEnd(64, "x")).toString("base64url")}`,
            headers: { "x-forwarded-for": "203.0.113.99" },
          }),
      ),
      64,
    );
    const seconds = (performance.now() - t) / 1000;
    const checked = answers.filter((a) => a.status === 401).length;
    const refused = answers.filter((a) => a.status === 429);
    expect(checked + refused.length).toBe(2000);
    // each edge process has its own budget: 100 tokens, 10 more a second
    expect(checked).toBeLessThanOrEqual(2 * (100 + Math.ceil(seconds * 10)));
    expect(refused.length).toBeGreaterThan(1000);
    expect(Number(refused[0]!.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    // a real shopper's new token from that address is checked again once the budget refills
    await Bun.sleep(1_100);
    expect(
      (await api.call("GET", "/v1/me", { token: shopper!.token, headers: { "x-forwarded-for": "203.0.113.99" } }))
        .status,
    ).toBe(200);
  }, 60_000);

  test("once a sale is sold out, every edge process answers SOLD_OUT from memory: no token is checked and no bucket is charged", async () => {
    const admin = await adminAccount(s.env);
    const product = await api.call("POST", "/v1/products", {
      token: admin.token,
      body: { name: "Tiny sale", price: 1000, stock: 1 },
    });
    const sale = await api.call("POST", `/v1/sales`, {
      token: admin.token,
      body: { productId: product.body.id, price: 900, quantity: 1, startsAt: new Date().toISOString() },
    });
    const [winner, loser] = await accounts(s.env, "shopper", 2);
    const buy = (token: string, headers: Record<string, string> = {}) =>
      api.call("POST", `/v1/sales/${sale.body.id}/purchase`, { token, body: {}, headers });
    expect((await buy(winner!.token, { "idempotency-key": "win-1" })).status).toBe(202);
    expect((await buy(loser!.token)).body.code).toBe("SOLD_OUT");
    // the flag reached both processes: a token no edge could verify is answered SOLD_OUT, not 401, on every connection
    const garbage = await Promise.all(
      Array.from({ length: 20 }, () =>
        fetch(`${s.edgeUrl}/v1/sales/${sale.body.id}/purchase`, {
          method: "POST",
          headers: { authorization: "Bearer not.a.token", connection: "close" },
        }),
      ),
    );
    for (const r of garbage) {
      expect(r.status).toBe(409);
      expect(((await r.json()) as { code: string }).code).toBe("SOLD_OUT");
      expect(r.headers.get("ratelimit-limit")).toBeNull();
    }
    // a keyed retry of the winning purchase is still answered with its order; a new key gets the gate's answer
    const replay = await buy(winner!.token, { "idempotency-key": "win-1" });
    expect(replay.status).toBe(202);
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    expect((await buy(winner!.token, { "idempotency-key": "win-2" })).body.code).toBe("LIMIT_REACHED");
    expect((await buy(loser!.token, { "idempotency-key": "lose-1" })).body.code).toBe("SOLD_OUT");
    expect((await buy("not.a.token", { "idempotency-key": "k" })).status).toBe(401);
    // the flag outlives SOLD_OUT_FLAG_MS while the sale stays sold out: each process renews it from Redis
    await Bun.sleep(2_500);
    expect((await buy("not.a.token")).body.code).toBe("SOLD_OUT");
  }, 60_000);

  test("a purchase of more units than remain is SOLD_OUT, but the one unit left is still sold: no flag stops its buyer", async () => {
    const admin = await adminAccount(s.env);
    const product = await api.call("POST", "/v1/products", {
      token: admin.token,
      body: { name: "Two units", price: 1000, stock: 2 },
    });
    const sale = await api.call("POST", `/v1/sales`, {
      token: admin.token,
      body: {
        productId: product.body.id,
        price: 900,
        quantity: 2,
        perUserLimit: 2,
        startsAt: new Date().toISOString(),
      },
    });
    const [a, b, c] = await accounts(s.env, "shopper", 3);
    const buy = (token: string, quantity: number) =>
      api.call("POST", `/v1/sales/${sale.body.id}/purchase`, { token, body: { quantity } });
    expect((await buy(a!.token, 1)).status).toBe(202);
    expect((await buy(b!.token, 2)).body.code).toBe("SOLD_OUT");
    // one unit remains: a request is not answered from memory
    expect(
      (await api.call("POST", `/v1/sales/${sale.body.id}/purchase`, { token: "not.a.token", body: {} })).status,
    ).toBe(401);
    expect((await buy(c!.token, 1)).status).toBe(202);
  }, 60_000);
});
