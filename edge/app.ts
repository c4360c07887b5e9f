// The edge application: one front layer, one router per domain, one error handler.
import { Hono } from "hono";
import { cors } from "hono/cors";
import { saleKeys } from "../domain/sale";
import { authRoutes } from "./auth/routes";
import { cartRoutes } from "./cart";
import { catalogRoutes } from "./catalog/routes";
import { couponRoutes } from "./coupons";
import type { Deps, Env } from "./deps";
import { AppError, problem, renderError } from "./errors";
import { front } from "./middleware/front";
import { openapiRoutes, operationOf } from "./openapi";
import { dlqRoutes } from "./ops/dlq";
import { healthRoutes } from "./ops/health";
import { opsOrderRoutes } from "./ops/orders";
import { opsStreamRoutes } from "./ops/stream";
import { orderEventRoutes } from "./orders/events";
import { fulfilmentRoutes } from "./orders/fulfilment";
import { orderRoutes } from "./orders/routes";
import { pageRoutes } from "./pages/routes";
import { webhookRoutes } from "./payments/webhook";
import { limiter } from "./rate-limit";
import { auditRoutes } from "./sales/audit";
import { saleBoard } from "./sales/board";
import { saleEventRoutes } from "./sales/events";
import { purchaseShortcut, salesRoutes } from "./sales/routes";
import { sellerRoutes } from "./seller/routes";

const MAX_BODY = 1024 * 1024;

export function createApp(d: Deps) {
  const app = new Hono<Env>();
  const origins = d.config.CORS_ORIGINS.split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  const perUser = limiter(d.redis, {
    name: "api",
    capacity: d.config.RATE_LIMIT_CAPACITY,
    refillPerInterval: d.config.RATE_LIMIT_REFILL_PER_S,
    intervalS: 1,
  });

  const board = saleBoard({
    db: d.db,
    bus: d.bus,
    flagMs: d.config.SOLD_OUT_FLAG_MS,
    remaining: (id) => d.redis.hget(saleKeys(id)[0], "remaining").then((v) => (v === null ? undefined : Number(v))),
  });

  // the paths whose operations say they are not rate limited (probes, the signed webhook), once routes exist
  const open = new Set<string>();
  const layer = front({
    log: d.log,
    metrics: d.metrics,
    trustedProxies: d.config.TRUSTED_PROXIES,
    onError: renderError,
    timeoutMs: d.config.REQUEST_TIMEOUT_MS,
    maxBodyBytes: MAX_BODY,
    limit: perUser,
    onDegraded: () => {
      d.metrics.inc("rate_limit_degraded_total", {});
      d.stats?.degrade();
    },
    onAnswer: d.stats?.answer,
    tokens: d.tokens,
    checks: { capacity: d.config.RATE_LIMIT_CAPACITY, refillPerS: d.config.RATE_LIMIT_REFILL_PER_S },
    shortcut: purchaseShortcut(board),
    open,
    cors: origins.length
      ? cors({
          origin: origins,
          exposeHeaders: ["X-Request-Id", "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset", "Retry-After"],
        })
      : undefined,
  });
  app.use(layer);
  // answers known in advance (a sold-out sale's purchases) go out before Hono builds a context for them
  const route = app.fetch;
  app.fetch = (req, env, ctx) => layer.early(req) ?? route(req, env, ctx);
  app.route("/", healthRoutes(d));
  app.route("/", webhookRoutes(d));
  app.route(
    "/",
    openapiRoutes(() => app.routes),
  );
  app.route("/", authRoutes(d));
  app.route("/", catalogRoutes(d));
  app.route("/", orderRoutes(d));
  app.route("/", cartRoutes(d));
  app.route("/", couponRoutes(d));
  app.route("/", orderEventRoutes(d));
  app.route("/", fulfilmentRoutes(d));
  app.route("/", sellerRoutes(d));
  app.route("/", dlqRoutes(d));
  app.route("/", opsOrderRoutes(d));
  app.route("/", salesRoutes(d, board));
  app.route("/", saleEventRoutes(d, board));
  app.route("/", auditRoutes(d));
  app.route("/", opsStreamRoutes(d));
  app.route("/", pageRoutes(d, board));

  app.notFound((c) => problem(c, new AppError("NOT_FOUND", `no route for ${c.req.method} ${c.req.path}`)));
  app.onError(renderError);
  for (const r of app.routes) {
    if (operationOf(r.handler)?.rateLimited !== false) continue;
    if (r.path.includes(":") || r.path.includes("*"))
      throw new Error(`an unlimited route must have a fixed path: ${r.path}`);
    open.add(r.path);
  }
  return app;
}
