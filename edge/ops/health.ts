// Liveness, readiness (Postgres, Redis, NATS reachable) and Prometheus metrics.
import { sql } from "drizzle-orm";
import { Hono } from "hono";
import type { Deps, Env } from "../deps";

const within = <T>(p: PromiseLike<T>, ms: number) =>
  Promise.race([p, new Promise<never>((_, r) => setTimeout(() => r(new Error("timeout")), ms))]);

export function healthRoutes(d: Deps) {
  const app = new Hono<Env>();
  app.get("/healthz", (c) => c.json({ status: "ok" }));
  app.get("/readyz", async (c) => {
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
  app.get("/metrics", (c) => {
    c.header("content-type", "text/plain; version=0.0.4");
    return c.body(d.metrics.render());
  });
  return app;
}
