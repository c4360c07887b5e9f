// Where /metrics is served: with METRICS_PORT on its own listener only (the public port has no such route);
// without it on the public port, to admins only.
import { afterAll, describe, expect, test } from "bun:test";
import { Hono } from "hono";
import type { Claims } from "../auth/tokens";
import { loadConfig } from "../config";
import type { Deps, Env } from "../deps";
import { AppError, problem, renderError } from "../errors";
import { createMetrics } from "../metrics";
import { healthRoutes, serveMetrics } from "./health";

const metrics = createMetrics();
metrics.inc("probe_total", { kind: "test" });

function publicApp(env: Record<string, string>, user?: Claims) {
  const app = new Hono<Env>();
  app.use((c, next) => {
    if (user) c.set("user", user);
    return next();
  });
  app.route("/", healthRoutes({ config: loadConfig(env), metrics } as Deps));
  app.notFound((c) => problem(c, new AppError("NOT_FOUND")));
  app.onError(renderError);
  return app;
}
const as = (role: Claims["role"]): Claims => ({ sub: crypto.randomUUID(), role, jti: "j", fam: "f", exp: 0 });

const internal = serveMetrics(metrics, { port: 0, hostname: "127.0.0.1" });
afterAll(() => internal.stop(true));

describe("/metrics", () => {
  test("without METRICS_PORT: admins only on the public port", async () => {
    expect((await publicApp({}).request("/metrics")).status).toBe(401);
    expect((await publicApp({}, as("shopper")).request("/metrics")).status).toBe(403);
    expect((await publicApp({}, as("seller")).request("/metrics")).status).toBe(403);
    const ok = await publicApp({}, as("admin")).request("/metrics");
    expect(ok.status).toBe(200);
    expect(await ok.text()).toContain('probe_total{kind="test"} 1');
  });

  test("with METRICS_PORT: not on the public port at all, for anyone; served by the internal listener", async () => {
    for (const user of [undefined, as("admin")])
      expect((await publicApp({ METRICS_PORT: "9100" }, user).request("/metrics")).status).toBe(404);
    const r = await fetch(`http://127.0.0.1:${internal.port}/metrics`);
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toStartWith("text/plain");
    expect(await r.text()).toContain('probe_total{kind="test"} 1');
    expect((await fetch(`http://127.0.0.1:${internal.port}/v1/me`)).status).toBe(404);
  });
});
