// Liveness, readiness (Postgres, Redis, NATS reachable) and Prometheus metrics (internal listener or admins).
import { sql } from "drizzle-orm";
import { Hono } from "hono";
import { z } from "zod";
import type { Deps, Env } from "../deps";
import type { Metrics } from "../metrics";
import { requireRole } from "../middleware/auth";
import { openapi } from "../openapi";

const within = <T>(p: PromiseLike<T>, ms: number) =>
  Promise.race([p, new Promise<never>((_, r) => setTimeout(() => r(new Error("timeout")), ms))]);

export function healthRoutes(d: Deps) {
  const app = new Hono<Env>();
  // probes are mounted before the rate limiter: a load balancer must never be throttled
  const probe = { tags: ["ops"], rateLimited: false } as const;
  app.get(
    "/healthz",
    openapi({
      ...probe,
      summary: "Liveness: the process is up",
      responses: { 200: z.object({ status: z.literal("ok") }) },
    }),
    (c) => c.json({ status: "ok" }),
  );
  const readiness = z.object({ status: z.enum(["ready", "unavailable"]), checks: z.record(z.string(), z.string()) });
  app.get(
    "/readyz",
    openapi({
      ...probe,
      summary: "Readiness: Postgres, Redis and NATS reachable (503 when not)",
      responses: { 200: readiness },
    }),
    async (c) => {
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
      return c.json(
        { status: ready ? "ready" : "unavailable", checks: Object.fromEntries(results) },
        ready ? 200 : 503,
      );
    },
  );
  // with METRICS_PORT the metrics have a listener of their own (serveMetrics), and the public port has no such
  // route; without it they are for admins: route names, rates and breaker states help whoever plans an attack
  if (d.config.METRICS_PORT === undefined)
    app.get(
      "/metrics",
      requireRole("admin"),
      openapi({
        tags: ["ops"],
        summary: "Prometheus metrics (admins; with METRICS_PORT set, only on that internal listener)",
        responses: { 200: { description: "Prometheus text format", contentType: "text/plain" } },
      }),
      () => metricsAnswer(d.metrics),
    );
  return app;
}

const metricsAnswer = (metrics: Metrics) =>
  new Response(metrics.render(), { headers: { "content-type": "text/plain; version=0.0.4" } });

/** The internal listener of METRICS_PORT: /metrics and nothing else, for the scraper on a private network. */
export function serveMetrics(metrics: Metrics, o: { port: number; hostname: string }) {
  return Bun.serve({
    port: o.port,
    hostname: o.hostname,
    routes: { "/metrics": { GET: () => metricsAnswer(metrics) } },
    fetch: () => new Response("not found", { status: 404 }),
  });
}
