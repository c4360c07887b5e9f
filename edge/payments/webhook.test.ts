// The webhook's outbound re-read sits behind a circuit breaker with a timeout: a hanging gateway costs a
// timeout per call until the breaker opens, then the answer is 503 UPSTREAM_UNAVAILABLE at once.
import { afterAll, describe, expect, test } from "bun:test";
import { Hono } from "hono";
import { breaker, gatewayClient, signWebhook } from "../../domain/payment";
import { logger } from "../../nats";
import { loadConfig } from "../config";
import type { Deps, Env } from "../deps";
import { renderError } from "../errors";
import { createMetrics } from "../metrics";
import { front } from "../middleware/front";
import { webhookRoutes } from "./webhook";

// a gateway that accepts the connection and never answers
const hanging = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Promise<Response>(() => {}) });
const config = loadConfig({ WEBHOOK_SECRET: "a-webhook-secret-for-tests" });
const gateway = gatewayClient(
  `http://127.0.0.1:${hanging.port}`,
  100,
  breaker("payment_gateway", { failures: 2, openMs: 60_000, timeoutMs: 100 }),
);
// a gateway that knows no payment at all
const empty = Bun.serve({
  port: 0,
  hostname: "127.0.0.1",
  fetch: () => Response.json({ error: "not found" }, { status: 404 }),
});
const unknowing = gatewayClient(
  `http://127.0.0.1:${empty.port}`,
  1000,
  breaker("payment_gateway", { failures: 2, openMs: 60_000, timeoutMs: 1000 }),
);

function edge(gateway: ReturnType<typeof gatewayClient>) {
  const app = new Hono<Env>();
  app.use(
    front({ log: logger({ test: "webhook" }), metrics: createMetrics(), trustedProxies: "", onError: renderError }),
  );
  app.route("/", webhookRoutes({ config, gateway } as Deps));
  app.onError(renderError);
  return Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: app.fetch });
}
const server = edge(gateway);
const other = edge(unknowing);
afterAll(() => {
  for (const s of [server, other, hanging, empty]) s.stop(true);
});

const send = (body: string, signature = signWebhook(config.WEBHOOK_SECRET, body), to = server) =>
  fetch(`http://127.0.0.1:${to.port}/v1/payments/webhook`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-signature": signature },
    body,
  });
const note = JSON.stringify({ id: "pay_1", orderId: crypto.randomUUID(), status: "approved" });

describe("payment webhook", () => {
  test("a bad or stale signature is 401 BAD_SIGNATURE and never reaches the gateway", async () => {
    for (const sig of [
      "t=1,v1=00",
      signWebhook("another-secret-entirely", note),
      signWebhook(config.WEBHOOK_SECRET, note, Date.now() - 10 * 60_000),
      "",
    ]) {
      const r = await send(note, sig);
      expect(r.status).toBe(401);
      expect(((await r.json()) as { code: string }).code).toBe("BAD_SIGNATURE");
    }
    expect(gateway.breaker.state()).toBe("closed");
  });

  test("a signed webhook about a payment the gateway does not know is 404, and leaves the breaker closed", async () => {
    for (let i = 0; i < 5; i++) {
      const r = await send(
        JSON.stringify({ id: `pay_unknown_${i}`, orderId: crypto.randomUUID(), status: "approved" }),
        undefined,
        other,
      );
      expect({ status: r.status, code: ((await r.json()) as { code: string }).code }).toEqual({
        status: 404,
        code: "NOT_FOUND",
      });
    }
    expect(unknowing.breaker.state()).toBe("closed");
  });

  test("a hanging gateway: 503 after the timeout, then 503 at once while the breaker is open", async () => {
    const timed = async () => {
      const t = performance.now();
      const r = await send(note);
      return { ms: performance.now() - t, status: r.status, code: ((await r.json()) as { code: string }).code };
    };
    const first = await timed();
    const second = await timed();
    for (const r of [first, second]) expect(r).toMatchObject({ status: 503, code: "UPSTREAM_UNAVAILABLE" });
    expect(first.ms).toBeGreaterThanOrEqual(95);
    expect(gateway.breaker.state()).toBe("open");
    const third = await timed();
    expect(third).toMatchObject({ status: 503, code: "UPSTREAM_UNAVAILABLE" });
    expect(third.ms).toBeLessThan(50);
  });
});
