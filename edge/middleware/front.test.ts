// The front layer alone, with a bucket and tokens of the test's own: CORS on every answer, admission under
// the deadline, and a token revoked while its bucket decision was awaited.
import { describe, expect, test } from "bun:test";
import { Hono } from "hono";
import { cors } from "hono/cors";
import { logger } from "../../nats";
import type { Claims } from "../auth/tokens";
import type { Env } from "../deps";
import { AppError, renderError } from "../errors";
import { createMetrics } from "../metrics";
import type { Decision } from "../rate-limit";
import { type FrontOptions, front } from "./front";

const claims: Claims = { sub: "u1", role: "shopper", jti: "j1", fam: "f1", exp: Math.floor(Date.now() / 1000) + 900 };
const admitted: Decision = { success: true, limit: 100, remaining: 99, reset: Date.now() + 1000, degraded: false };
const refused: Decision = { ...admitted, success: false, remaining: 0 };

function app(o: Partial<FrontOptions>) {
  const a = new Hono<Env>();
  a.use(
    front({ log: logger({ test: "front" }), metrics: createMetrics(), trustedProxies: "", onError: renderError, ...o }),
  );
  a.get("/me", (c) => c.json({ sub: c.get("user")?.sub ?? null }));
  a.onError(renderError);
  return a;
}
const site = "https://shop.example";
const withCors = { cors: cors({ origin: [site], exposeHeaders: ["X-Request-Id", "Retry-After"] }) };
const env = { server: { requestIP: () => ({ address: "127.0.0.1", family: "IPv4", port: 1 }) } };

describe("front layer", () => {
  test("CORS headers reach the front layer's own refusals, and a preflight is answered without the bucket", async () => {
    let calls = 0;
    const a = app({
      ...withCors,
      limit: () => {
        calls++;
        return refused;
      },
    });
    const limited = await a.request("/me", { headers: { origin: site } }, env);
    expect([
      limited.status,
      limited.headers.get("access-control-allow-origin"),
      limited.headers.get("retry-after"),
    ]).toEqual([429, site, "1"]);
    const notBearer = await app({
      ...withCors,
      limit: () => admitted,
      tokens: { peek: () => undefined, seen: () => false, verify: async () => claims },
    }).request("/me", { headers: { origin: site, authorization: "Basic abc" } }, env);
    expect([notBearer.status, notBearer.headers.get("access-control-allow-origin")]).toEqual([401, site]);
    const before = calls;
    const preflight = await a.request(
      "/me",
      { method: "OPTIONS", headers: { origin: site, "access-control-request-method": "GET" } },
      env,
    );
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-origin")).toBe(site);
    expect(preflight.headers.get("x-request-id")).toBeString();
    expect(preflight.headers.get("x-content-type-options")).toBe("nosniff");
    expect(calls).toBe(before);
  });

  test("a token revoked while its bucket decision was awaited is refused", async () => {
    let revoked = false;
    const tokens = {
      peek: () => (revoked ? undefined : claims),
      seen: () => true,
      verify: async () => {
        if (revoked) throw new AppError("UNAUTHENTICATED", "token revoked");
        return claims;
      },
    };
    const a = app({
      tokens,
      limit: async () => {
        revoked = true;
        return admitted;
      },
    });
    const res = await a.request("/me", { headers: { authorization: "Bearer t1" } }, env);
    expect([res.status, ((await res.json()) as { detail: string }).detail]).toEqual([401, "token revoked"]);
  });

  test("the deadline covers admission too: a bucket that hangs answers 504", async () => {
    const a = app({ timeoutMs: 150, limit: () => Bun.sleep(600).then(() => admitted) });
    const started = performance.now();
    const res = await a.request("/me", {}, env);
    expect(res.status).toBe(504);
    expect(performance.now() - started).toBeLessThan(450);
  });
});

describe("signature checks per address", () => {
  test("forged tokens spend the address's budget, then are refused 429 without a check; expired ones of ours do not", async () => {
    let checks = 0;
    const forged = app({
      checks: { capacity: 20, refillPerS: 1 },
      tokens: {
        peek: () => undefined,
        seen: () => false,
        verify: async () => {
          checks++;
          throw new AppError("UNAUTHENTICATED", "invalid token");
        },
      },
    });
    const answers = await Promise.all(
      Array.from({ length: 60 }, (_, i) => forged.request("/me", { headers: { authorization: `Bearer f${i}` } }, env)),
    );
    expect(checks).toBeLessThanOrEqual(21);
    expect(answers.filter((r) => r.status === 429).length).toBe(60 - checks);
    expect(answers.find((r) => r.status === 429)!.headers.get("retry-after")).toBe("1");

    // tokens we signed that have expired cost a check that proves them ours: no budget is spent on them
    let expiredChecks = 0;
    const expired = app({
      checks: { capacity: 20, refillPerS: 1 },
      tokens: {
        peek: () => undefined,
        seen: () => false,
        verify: async () => {
          expiredChecks++;
          throw new AppError("TOKEN_EXPIRED");
        },
      },
    });
    const late = await Promise.all(
      Array.from({ length: 60 }, (_, i) => expired.request("/me", { headers: { authorization: `Bearer e${i}` } }, env)),
    );
    expect(late.map((r) => r.status)).toEqual(Array(60).fill(401));
    expect(expiredChecks).toBe(60);
  });
});
