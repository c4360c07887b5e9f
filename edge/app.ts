// The edge application: one middleware chain, one router per domain, one error handler.
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { cors } from "hono/cors";
import { HTTPException } from "hono/http-exception";
import { secureHeaders } from "hono/secure-headers";
import { authRoutes } from "./auth/routes";
import { cartRoutes } from "./cart";
import { catalogRoutes } from "./catalog/routes";
import { couponRoutes } from "./coupons";
import type { Deps, Env } from "./deps";
import { AppError, problem } from "./errors";
import { authenticate } from "./middleware/auth";
import { deadline } from "./middleware/deadline";
import { observe } from "./middleware/observe";
import { openapiRoutes } from "./openapi";
import { rateLimit } from "./middleware/rate-limit";
import { healthRoutes } from "./ops/health";
import { orderRoutes } from "./orders/routes";
import { orderEventRoutes } from "./orders/events";
import { fulfilmentRoutes } from "./orders/fulfilment";
import { dlqRoutes } from "./ops/dlq";
import { opsOrderRoutes } from "./ops/orders";
import { sellerRoutes } from "./seller/routes";
import { auditRoutes } from "./sales/audit";
import { salesRoutes } from "./sales/routes";
import { webhookRoutes } from "./payments/webhook";
import { limiter } from "./rate-limit";

const MAX_BODY = 1024 * 1024;

export function createApp(d: Deps) {
  const app = new Hono<Env>();
  const origins = d.config.CORS_ORIGINS.split(",").map((s) => s.trim()).filter(Boolean);
  const perUser = limiter(d.redis, {
    name: "api",
    capacity: d.config.RATE_LIMIT_CAPACITY,
    refillPerInterval: d.config.RATE_LIMIT_REFILL_PER_S,
    intervalS: 1,
  });

  app.use(observe({ log: d.log, metrics: d.metrics, trustedProxies: d.config.TRUSTED_PROXIES }));
  // the headers that matter for a JSON API (OWASP's REST list); page-level and obsolete ones (X-XSS-Protection,
  // X-Download-Options, X-DNS-Prefetch-Control, ...) would cost every answer and protect nothing here
  app.use(
    secureHeaders({
      crossOriginOpenerPolicy: false,
      originAgentCluster: false,
      xDnsPrefetchControl: false,
      xDownloadOptions: false,
      xPermittedCrossDomainPolicies: false,
      xXssProtection: false,
      removePoweredBy: false,
    }),
  );
  if (origins.length) app.use(cors({ origin: origins, exposeHeaders: ["X-Request-Id", "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset", "Retry-After"] }));
  app.route("/", healthRoutes(d));
  app.use(deadline(d.config.REQUEST_TIMEOUT_MS));
  app.use(
    bodyLimit({
      maxSize: MAX_BODY,
      onError: () => {
        throw new AppError("PAYLOAD_TOO_LARGE", "the body is larger than 1 MB");
      },
    }),
  );
  app.route("/", webhookRoutes(d));
  // limit before verifying, so forged tokens are throttled per address before each costs a signature check
  app.use(rateLimit(perUser, d.tokens, () => d.metrics.inc("rate_limit_degraded_total", {})));
  app.use(authenticate(d.tokens));
  app.route("/", openapiRoutes(() => app.routes));
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
  app.route("/", salesRoutes(d));
  app.route("/", auditRoutes(d));

  app.notFound((c) => problem(c, new AppError("NOT_FOUND", `no route for ${c.req.method} ${c.req.path}`)));
  app.onError((err, c) => {
    if (err instanceof AppError) return problem(c, err);
    if (err instanceof HTTPException && err.status === 413) return problem(c, new AppError("PAYLOAD_TOO_LARGE"));
    c.get("log")?.error("unhandled error", { err, path: c.req.path });
    return problem(c, new AppError("INTERNAL", "something went wrong; the request id identifies it"));
  });
  return app;
}
