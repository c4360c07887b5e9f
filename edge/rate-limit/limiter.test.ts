// Token buckets on a real (private) Redis: burst, refill, headers on every answer, the login brake, and
// the policy when Redis is down or hangs.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Hono } from "hono";
import { Redis } from "ioredis";
import { logger } from "../../nats";
import { freePort } from "../../scripts/lib/private-stack";
import { scratchRedis } from "../../tests/harness";
import { login } from "../auth/schemas";
import type { Env } from "../deps";
import { AppError, renderError } from "../errors";
import { createMetrics } from "../metrics";
import { type FrontOptions, front } from "../middleware/front";
import { loginThrottle } from "../middleware/login-throttle";
import { openapi } from "../openapi";
import { type Bucket, limiter } from "./limiter";

let server: Awaited<ReturnType<typeof scratchRedis>> | undefined;
let redis: Redis;
let n = 0;
/** A bucket with a name of its own, so tests never share keys. */
const bucket = (b: Omit<Bucket, "name">): Bucket => ({ name: `t${process.pid}-${Date.now()}-${n++}`, ...b });

beforeAll(async () => {
  server = await scratchRedis("ratelimit-test");
  redis = new Redis(server.port, "127.0.0.1", { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
  await new Promise((ok) => redis.once("ready", ok));
});

afterAll(async () => {
  redis?.disconnect();
  await server?.stop();
});

describe("token bucket on Redis", () => {
  test("a burst takes the capacity, then is refused until the next refill", async () => {
    const limit = onRedis(limiter(redis, bucket({ capacity: 5, refillPerInterval: 1, intervalS: 10 })));
    const burst = [];
    for (let i = 0; i < 6; i++) burst.push(await limit("user-1"));
    expect(burst.map((d) => d.success)).toEqual([true, true, true, true, true, false]);
    expect(burst.map((d) => d.remaining)).toEqual([4, 3, 2, 1, 0, 0]);
    expect(burst.every((d) => d.limit === 5 && !d.degraded)).toBe(true);
    expect(burst[5]!.reset).toBeGreaterThan(Date.now());
    expect(burst[5]!.reset).toBeLessThanOrEqual(Date.now() + 10_000);
    // one identity's burst does not touch another's bucket
    expect((await limit("user-2")).remaining).toBe(4);
  });

  test("tokens come back at the refill rate", async () => {
    const limit = onRedis(limiter(redis, bucket({ capacity: 2, refillPerInterval: 2, intervalS: 1 })));
    expect((await limit("u")).success).toBe(true);
    expect((await limit("u")).success).toBe(true);
    const refused = await limit("u");
    expect(refused.success).toBe(false);
    await Bun.sleep(Math.max(0, refused.reset - Date.now()) + 50);
    const after = await limit("u");
    expect(after.success).toBe(true);
    expect(after.remaining).toBe(1);
  });
});

describe("leases: a busy identity does not cost a Redis call per request", () => {
  const scriptCalls = async () => {
    const info = String(await redis.info("commandstats"));
    return [...info.matchAll(/cmdstat_(?:evalsha|eval):calls=(\d+)/g)].reduce((a, m) => a + Number(m[1]), 0);
  };

  test("a burst still takes exactly the capacity, with exact headers, in far fewer Redis calls", async () => {
    const limit = onRedis(limiter(redis, bucket({ capacity: 100, refillPerInterval: 1, intervalS: 60 })));
    const before = await scriptCalls();
    const burst = [];
    for (let i = 0; i < 101; i++) burst.push(await limit("busy"));
    const calls = (await scriptCalls()) - before;
    expect(burst.filter((d) => d.success)).toHaveLength(100);
    expect(burst[100]!.success).toBe(false);
    expect(burst.slice(0, 100).map((d) => d.remaining)).toEqual(Array.from({ length: 100 }, (_, i) => 99 - i));
    expect(calls).toBeLessThan(25);
    expect(calls).toBeGreaterThan(1);
  });

  test("two edges on one bucket never admit more than it holds", async () => {
    const b = bucket({ capacity: 100, refillPerInterval: 1, intervalS: 60 });
    const [a, c] = [onRedis(limiter(redis, b)), onRedis(limiter(redis, b))];
    const admitted = (await Promise.all(Array.from({ length: 150 }, (_, i) => (i % 2 ? a : c)("shared")))).filter(
      (d) => d.success,
    ).length;
    expect(admitted).toBe(100);
  });

  test("many concurrent requests of one identity share Redis calls and take the capacity", async () => {
    const limit = onRedis(limiter(redis, bucket({ capacity: 100, refillPerInterval: 1, intervalS: 60 })));
    const before = await scriptCalls();
    const all = await Promise.all(Array.from({ length: 64 }, () => limit("together")));
    expect(all.every((d) => d.success)).toBe(true);
    expect((await scriptCalls()) - before).toBeLessThan(20);
    expect(Math.min(...all.map((d) => d.remaining))).toBe(36);
  });
});

/**
 * The edge's own chain around a few routes (built once Redis is up), served for real so the client
 * address comes from the socket. Any answer from the local fallback fails the test: these are Redis's.
 */
function serve(
  routes: (app: Hono<Env>) => void,
  o: { trustedProxies?: string; limit?: () => FrontOptions["limit"] } = {},
) {
  let base = "";
  let s: ReturnType<typeof Bun.serve> | undefined;
  beforeAll(() => {
    const app = new Hono<Env>();
    app.use(
      front({
        log: logger({ test: "rate-limit" }),
        metrics: createMetrics(),
        trustedProxies: o.trustedProxies ?? "",
        onError: renderError,
        limit: o.limit?.(),
      }),
    );
    routes(app);
    app.notFound((c) => renderError(new AppError("NOT_FOUND"), c));
    app.onError(renderError);
    s = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: app.fetch });
    base = `http://127.0.0.1:${s.port}`;
  });
  afterAll(() => s?.stop(true));
  return (path: string, init?: RequestInit) => fetch(base + path, init);
}
const onRedis = (limit: ReturnType<typeof limiter>) => async (id: string) => {
  const d = await limit(id);
  if (d.degraded) throw new Error("answered by the local fallback, not Redis");
  return d;
};

describe("the rate-limit middleware", () => {
  const get = serve(
    (app) => {
      app.get("/ok", (c) => c.json({ ok: true }));
      app.get("/fails", () => {
        throw new AppError("FORBIDDEN");
      });
    },
    { limit: () => onRedis(limiter(redis, bucket({ capacity: 3, refillPerInterval: 1, intervalS: 60 }))) },
  );

  test("RateLimit-* on every answer (success, failure, unknown route); Retry-After and 429 once empty", async () => {
    const answers = [await get("/ok"), await get("/fails"), await get("/nowhere"), await get("/ok")];
    expect(answers.map((r) => r.status)).toEqual([200, 403, 404, 429]);
    expect(answers.map((r) => r.headers.get("ratelimit-limit"))).toEqual(["3", "3", "3", "3"]);
    expect(answers.map((r) => r.headers.get("ratelimit-remaining"))).toEqual(["2", "1", "0", "0"]);
    for (const r of answers) expect(Number(r.headers.get("ratelimit-reset"))).toBeWithin(0, 61);
    expect(answers.slice(0, 3).map((r) => r.headers.get("retry-after"))).toEqual([null, null, null]);
    const refused = answers[3]!;
    expect(Number(refused.headers.get("retry-after"))).toBeWithin(1, 61);
    expect(refused.headers.get("content-type")).toBe("application/problem+json");
    expect(await refused.json()).toMatchObject({ status: 429, code: "RATE_LIMITED" });
  });
});

describe("the login brake", () => {
  const post = serve(
    (app) => {
      const perIp = onRedis(limiter(redis, bucket({ capacity: 3, refillPerInterval: 3, intervalS: 60 })));
      const perEmail = onRedis(limiter(redis, bucket({ capacity: 3, refillPerInterval: 3, intervalS: 60 })));
      app.post(
        "/login",
        openapi({ summary: "login", body: login, responses: {} }),
        loginThrottle(perIp, perEmail),
        () => {
          throw new AppError("INVALID_CREDENTIALS");
        },
      );
    },
    { trustedProxies: "127.0.0.1/32" },
  );
  const attempt = (email: string, ip: string) =>
    post("/login", {
      method: "POST",
      headers: { "content-type": "application/json", "x-forwarded-for": ip },
      body: JSON.stringify({ email, password: "guess" }),
    });

  test("per email: a fourth attempt on one account is refused from any address", async () => {
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await attempt("victim@test.dev", `10.0.0.${i + 1}`)).status);
    expect(statuses).toEqual([401, 401, 401, 429]);
    const r = await attempt("victim@test.dev", "10.0.1.1");
    expect(r.status).toBe(429);
    expect(r.headers.get("retry-after")).not.toBeNull();
    expect(((await r.json()) as { code: string }).code).toBe("RATE_LIMITED");
    expect((await attempt("someone-else@test.dev", "10.0.1.2")).status).toBe(401);
  });

  test("per address: a fourth attempt from one address is refused whatever the email", async () => {
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await attempt(`spray-${i}@test.dev`, "192.0.2.7")).status);
    expect(statuses).toEqual([401, 401, 401, 429]);
    expect((await attempt("spray-9@test.dev", "192.0.2.8")).status).toBe(401);
  });
});

describe("when Redis is down or hangs", () => {
  test("a dead Redis: answers from the local bucket within the timeout, still limiting", async () => {
    const dead = new Redis(freePort(), "127.0.0.1", {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      lazyConnect: false,
    });
    dead.on("error", () => {});
    try {
      const limit = limiter(dead, bucket({ capacity: 3, refillPerInterval: 1, intervalS: 60 }), {
        timeoutMs: 100,
        retryAfterMs: 1_000,
      });
      const started = performance.now();
      const first = await limit("u");
      expect(performance.now() - started).toBeLessThan(150);
      expect(first).toMatchObject({ success: true, degraded: true, limit: 3, remaining: 2 });
      expect([(await limit("u")).success, (await limit("u")).success, (await limit("u")).success]).toEqual([
        true,
        true,
        false,
      ]);
    } finally {
      dead.disconnect();
    }
  });

  test("a hanging Redis costs one timeout, then the local bucket answers at once until Redis is back", async () => {
    const limit = limiter(redis, bucket({ capacity: 10, refillPerInterval: 1, intervalS: 60 }), {
      timeoutMs: 100,
      retryAfterMs: 600,
    });
    expect((await limit("u")).degraded).toBe(false);
    const admin = new Redis(redis.options.port!, "127.0.0.1");
    await admin.call("CLIENT", "PAUSE", "700", "ALL");
    try {
      let t = performance.now();
      const slow = await limit("u");
      expect(performance.now() - t).toBeWithin(90, 200);
      expect(slow).toMatchObject({ success: true, degraded: true });
      t = performance.now();
      expect((await limit("u")).degraded).toBe(true);
      expect(performance.now() - t).toBeLessThan(10);
      await Bun.sleep(800);
      expect((await limit("u")).degraded).toBe(false);
    } finally {
      admin.disconnect();
    }
  });
});
