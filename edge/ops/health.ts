// Liveness, readiness (Postgres, Redis, NATS reachable) and Prometheus metrics.
import { sql } from "drizzle-orm";
import { Hono } from "hono";
import { z } from "zod";
import type { Deps, Env } from "../deps";
import { openapi } from "../openapi";

const within = <T>(p: PromiseLike<T>, ms: number) =>
  Promise.race([p, new Promise<never>((_, r) => setTimeout(() => r(new Error("timeout")), ms))]);

export function healthRoutes(d: Deps) {
  const app = new Hono<Env>();
  // probes are mounted before the rate limiter: a load balancer must never be throttled
  const probe = { tags: ["ops"], rateLimited: false } as const;
  app.get("/healthz", openapi({ ...probe, summary: "Liveness: the process is up", responses: { 200: z.object({ status: z.literal("ok") }) } }), (c) =>
    c.json({ status: "ok" }),
  );
  const readiness = z.object({ status: z.enum(["ready", "unavailable"]), checks: z.record(z.string(), z.string()) });
  app.get("/readyz", openapi({ ...probe, summary: "Readiness: Postgres, Redis and NATS reachable (503 when not)", responses: { 200: readiness } }), async (c) => {
    const checks: Record<string, () => PromiseLike<unknown>> = {
      postgres: () => d.db.execute(sql`select 1`),
      redis: () => d.redis.ping(),
      nats: () => d.bus.nc.flush(),
    };
    const results = await Promise.all(
      Object.entries(checks).map(async ([name, check]) => {
        try {
          await within(check(), 1000);
          return [name, "ok"] as const;
        } catch (err) {
          return [name, String(err instanceof Error ? err.message : err)] as const;
        }
      }),
    );
    const ready = results.every(([, r]) => r === "ok");
    return c.json({ status: ready ? "ready" : "unavailable", checks: Object.fromEntries(results) }, ready ? 200 : 503);
  });
  app.get("/metrics", openapi({ ...probe, summary: "Prometheus metrics", responses: { 200: { description: "Prometheus text format", contentType: "text/plain" } } }), (c) => {
    c.header("content-type", "text/plain; version=0.0.4");
    return c.body(d.metrics.render());
  });
  return app;
}
