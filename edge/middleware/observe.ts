// Request id, trace context, one structured log line for slow or failed requests, and metrics for every
// request. It runs on every request, so what it needs per route is built once and kept.
import type { MiddlewareHandler } from "hono";
import { getConnInfo } from "hono/bun";
import { traceIdOf, uuidv7, type Fields, type Logger } from "../../nats";
import type { Env } from "../deps";
import type { Metrics } from "../metrics";
import { clientIp, parseCidrs } from "./client-ip";

const REQUEST_ID = /^[\w.-]{1,128}$/;
const MAX_SERIES = 2_000;

/** A random W3C trace id (randomUUID draws from a buffered pool: cheap). */
function newTraceId(): string {
  const a = crypto.randomUUID();
  return `${a.slice(0, 8)}${a.slice(9, 13)}${a.slice(14, 18)}${a.slice(19, 23)}${a.slice(24)}`;
}

/** The request's logger; the child logger with its fields is only built when something is logged. */
class RequestLog implements Logger {
  #child?: Logger;
  constructor(
    private readonly base: Logger,
    private readonly fields: Fields,
  ) {}
  get #log() {
    return (this.#child ??= this.base.child(this.fields));
  }
  debug(msg: string, f?: Fields) {
    this.#log.debug(msg, f);
  }
  info(msg: string, f?: Fields) {
    this.#log.info(msg, f);
  }
  warn(msg: string, f?: Fields) {
    this.#log.warn(msg, f);
  }
  error(msg: string, f?: Fields) {
    this.#log.error(msg, f);
  }
  child(f: Fields) {
    return this.#log.child(f);
  }
}

export function observe(opts: { log: Logger; metrics: Metrics; trustedProxies: string }): MiddlewareHandler<Env> {
  const trusted = parseCidrs(opts.trustedProxies);
  // keyed by the router's own path strings, whose hashes the engine keeps: no key is built per request
  // by status too, so latency can be read per outcome (a sale's 202s and 409s are different paths)
  type Series = { count: () => void; time: (s: number) => void };
  const series = new Map<string, Map<number, Series>>();
  const seriesOf = (method: string, route: string, status: number) => {
    const key = method === "GET" ? route : `${method} ${route}`;
    let byStatus = series.get(key);
    if (!byStatus) {
      byStatus = new Map();
      if (series.size < MAX_SERIES) series.set(key, byStatus);
    }
    let s = byStatus.get(status);
    if (!s) {
      const labels = { method, route, status: String(status) };
      byStatus.set(status, (s = { count: opts.metrics.counter("http_requests_total", labels), time: opts.metrics.histogram("http_request_duration_seconds", labels) }));
    }
    return s;
  };

  return async function observe(c, next) {
    const started = performance.now();
    const given = c.req.header("x-request-id");
    const requestId = given && REQUEST_ID.test(given) ? given : uuidv7();
    const incoming = c.req.header("traceparent");
    let traceId = incoming ? traceIdOf(incoming) : undefined;
    // the span id: the random tail of the request id when it is ours, else of a fresh one
    const span = requestId === given ? uuidv7() : requestId;
    const traceparent = traceId ? incoming! : `00-${(traceId = newTraceId())}-${span.slice(19, 23)}${span.slice(24)}-01`;
    let ip: string | undefined;
    c.set("requestId", requestId);
    c.set("traceparent", traceparent);
    c.set("clientIp", () => (ip ??= clientIp(getConnInfo(c).remote.address ?? "0.0.0.0", trusted.length ? c.req.header("x-forwarded-for") : undefined, trusted)));
    c.set("log", new RequestLog(opts.log, { requestId, traceId }));
    c.header("X-Request-Id", requestId);
    await next();
    const method = c.req.method;
    const route = c.req.routePath || "unmatched";
    const status = c.res.status;
    const s = seriesOf(method, route, status);
    s.count();
    const seconds = (performance.now() - started) / 1000;
    s.time(seconds);
    if (status >= 500 || seconds > 1) c.get("log").warn("request", { method, path: c.req.path, status, ms: seconds * 1000 });
  };
}
