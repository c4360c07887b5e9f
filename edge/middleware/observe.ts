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

/** W3C traceparent with random trace and span ids (randomUUID draws from a buffered pool: cheap). */
function newTraceparent(): string {
  const a = crypto.randomUUID();
  const b = crypto.randomUUID();
  return `00-${a.slice(0, 8)}${a.slice(9, 13)}${a.slice(14, 18)}${a.slice(19, 23)}${a.slice(24)}-${b.slice(0, 8)}${b.slice(9, 13)}${b.slice(14, 18)}-01`;
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
  const counts = new Map<string, () => void>();
  const durations = new Map<string, (s: number) => void>();
  const seriesFor = <T>(map: Map<string, T>, key: string, make: () => T) => {
    let s = map.get(key);
    if (!s) {
      s = make();
      if (map.size < MAX_SERIES) map.set(key, s);
    }
    return s;
  };

  return async function observe(c, next) {
    const started = performance.now();
    const given = c.req.header("x-request-id");
    const requestId = given && REQUEST_ID.test(given) ? given : uuidv7();
    const incoming = c.req.header("traceparent");
    const traceparent = incoming && traceIdOf(incoming) ? incoming : newTraceparent();
    const peer = getConnInfo(c).remote.address ?? "0.0.0.0";
    c.set("requestId", requestId);
    c.set("traceparent", traceparent);
    c.set("clientIp", clientIp(peer, c.req.header("x-forwarded-for"), trusted));
    c.set("log", new RequestLog(opts.log, { requestId, traceId: traceIdOf(traceparent) }));
    c.header("X-Request-Id", requestId);
    await next();
    const method = c.req.method;
    const route = c.req.routePath || "unmatched";
    const status = c.res.status;
    const seconds = (performance.now() - started) / 1000;
    seriesFor(counts, `${method} ${route} ${status}`, () => opts.metrics.counter("http_requests_total", { method, route, status: String(status) }))();
    seriesFor(durations, `${method} ${route}`, () => opts.metrics.histogram("http_request_duration_seconds", { method, route }))(seconds);
    if (status >= 500 || seconds > 1) c.get("log").warn("request", { method, path: c.req.path, status, ms: seconds * 1000 });
  };
}
