// Request id, trace context, one structured log line and metrics for every request.
import type { MiddlewareHandler } from "hono";
import { getConnInfo } from "hono/bun";
import { newTraceparent, traceIdOf, uuidv7, type Logger } from "../../nats";
import type { Env } from "../deps";
import type { Metrics } from "../metrics";
import { clientIp, parseCidrs } from "./client-ip";

export function observe(opts: { log: Logger; metrics: Metrics; trustedProxies: string }): MiddlewareHandler<Env> {
  const trusted = parseCidrs(opts.trustedProxies);
  return async function observe(c, next) {
    const started = performance.now();
    const given = c.req.header("x-request-id");
    const requestId = given && /^[\w.-]{1,128}$/.test(given) ? given : uuidv7();
    const incoming = c.req.header("traceparent");
    const traceparent = traceIdOf(incoming) ? incoming! : newTraceparent();
    const peer = getConnInfo(c).remote.address ?? "0.0.0.0";
    c.set("requestId", requestId);
    c.set("traceparent", traceparent);
    c.set("clientIp", clientIp(peer, c.req.header("x-forwarded-for"), trusted));
    const log = opts.log.child({ requestId, traceId: traceIdOf(traceparent) });
    c.set("log", log);
    c.header("X-Request-Id", requestId);
    await next();
    const route = c.req.routePath || "unmatched";
    const status = String(c.res.status);
    const seconds = (performance.now() - started) / 1000;
    opts.metrics.inc("http_requests_total", { method: c.req.method, route, status });
    opts.metrics.observe("http_request_duration_seconds", { method: c.req.method, route, status }, seconds);
    if (c.res.status >= 500 || seconds > 1) log.warn("request", { method: c.req.method, path: c.req.path, status, ms: seconds * 1000 });
    else log.debug("request", { method: c.req.method, path: c.req.path, status, ms: seconds * 1000 });
  };
}
