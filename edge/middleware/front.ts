// The one layer every request passes. In: request id and trace context, CORS when configured, a shortcut for
// answers known in advance (a sold-out sale; without CORS it answers before Hono, `early`), the body limit, the
// Bearer token, the token bucket (per user; per client address when anonymous), all of it and the handler under
// the request deadline. Out, on every answer, success or problem: X-Request-Id, RateLimit-* when a bucket was
// charged (Retry-After on a 429), the security headers, and the request's metrics (one log line when it failed
// or was slow).
//
// One layer, not one per concern: a Hono layer costs an async frame and a promise per request, and on a
// cached GET six of them cost more than the work. Steps that need no I/O stay synchronous: a token this
// edge has verified and a rate-limit lease with tokens left answer without awaiting anything.
import type { Context, MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { getConnInfo } from "hono/bun";
import { type Fields, type Logger, traceIdOf, uuidv7 } from "../../nats";
import type { Claims, TokenService } from "../auth/tokens";
import type { Env } from "../deps";
import { AppError, problemBody } from "../errors";
import type { Metrics } from "../metrics";
import type { Decision } from "../rate-limit";
import { bearer } from "./auth";
import { checkBudget } from "./check-budget";
import { clientIp, parseCidrs } from "./client-ip";
import { deadline } from "./deadline";

export type FrontOptions = {
  log: Logger;
  metrics: Metrics;
  trustedProxies: string;
  /** Renders an error as the answer (the app's error handler). */
  onError: (err: unknown, c: Context<Env>) => Response | Promise<Response>;
  /** A request still running after this long is answered 504 TIMEOUT. */
  timeoutMs?: number;
  /** Bodies larger than this are refused 413 PAYLOAD_TOO_LARGE. */
  maxBodyBytes?: number;
  /** The token bucket, per identity. */
  limit?: (identity: string) => Decision | Promise<Decision>;
  /** Called when the bucket answered from the local fallback (Redis slow or down). */
  onDegraded?: () => void;
  /** Bearer tokens: verified claims reach handlers as `c.get("user")`. */
  tokens?: Pick<TokenService, "peek" | "verify" | "seen">;
  /** Paths that skip the bucket and the Bearer token (probes, the signed webhook); read per request. */
  open?: ReadonlySet<string>;
  /** Hono's CORS middleware, run first: its headers reach every answer, and it answers preflights itself. */
  cors?: MiddlewareHandler<Env>;
  /** Signature checks per address for tokens not verified yet (see check-budget.ts); the bucket's shape by default. */
  checks?: { capacity: number; refillPerS: number };
  /**
   * Runs before the body, the token and the bucket: returns the answer (an error) when it can be given from memory
   * (a sold-out sale). Only requests of `method` are asked; `route` names its answers in the metrics.
   */
  shortcut?: { method: string; route: string; decide: (path: string, headers: Headers) => AppError | undefined };
  /** Told the status of every answer, the shortcut's included (the ops consoles' answers per second). */
  onAnswer?: (status: number) => void;
};

// the headers that matter for a JSON API (OWASP's REST list); page-level and obsolete ones
// (X-XSS-Protection, X-Download-Options, X-DNS-Prefetch-Control, ...) would cost every answer and protect nothing
const SECURITY_HEADERS: [string, string][] = [
  ["Strict-Transport-Security", "max-age=15552000; includeSubDomains"],
  ["X-Content-Type-Options", "nosniff"],
  ["X-Frame-Options", "SAMEORIGIN"],
  ["Referrer-Policy", "no-referrer"],
  ["Cross-Origin-Resource-Policy", "same-origin"],
];
const REQUEST_ID = /^[\w.-]{1,128}$/;
/** A sane X-Request-Id is kept, anything else replaced by a fresh id. */
const requestIdOf = (given: string | null | undefined) => (given && REQUEST_ID.test(given) ? given : uuidv7());
const MAX_SERIES = 2_000;
const NONE: ReadonlySet<string> = new Set();

/** The request's logger; the child logger with its fields is only built when something is logged. */
class RequestLog implements Logger {
  #child?: Logger;
  constructor(
    private readonly base: Logger,
    private readonly fields: Fields,
  ) {}
  get #log() {
    this.#child ??= this.base.child(this.fields);
    return this.#child;
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

export function front(
  o: FrontOptions,
): MiddlewareHandler<Env> & { early(req: Request): Response | undefined; pending(): number } {
  const trusted = parseCidrs(o.trustedProxies);
  const late = o.timeoutMs ? deadline(o.timeoutMs) : undefined;
  const limitBody = o.maxBodyBytes
    ? bodyLimit({
        maxSize: o.maxBodyBytes,
        onError: () => {
          throw new AppError("PAYLOAD_TOO_LARGE", `the body is larger than ${o.maxBodyBytes} bytes`);
        },
      })
    : undefined;
  const open = o.open ?? NONE;
  const checks = checkBudget(o.checks ?? { capacity: 100, refillPerS: 10 });
  const unauthenticated = () => {
    throw new AppError("UNAUTHENTICATED", "expected: Authorization: Bearer <token>");
  };
  const series = requestSeries(o.metrics);
  const shortcuts = o.metrics.counter("shortcut_answers_total", {});
  const checked = {
    valid: o.metrics.counter("token_checks_total", { result: "valid" }),
    invalid: o.metrics.counter("token_checks_total", { result: "invalid" }),
  };

  /**
   * The token, then the bucket: a valid token is limited per user, never per address (shoppers behind one
   * address do not share a bucket); anonymous requests per address, and tokens not verified yet under their
   * address's budget of checks. Throws the problem that answers the request instead. A promise only when
   * something has to be awaited (a Redis call for the bucket, a token not verified yet).
   */
  function admit(c: Context<Env>): void | Promise<void> {
    const token = o.tokens ? bearer(c.req.header("authorization")) : undefined;
    if (!token) {
      // anonymous, or not a Bearer token: limited per address
      const charged = charge(c, () => `ip:${c.get("clientIp")()}`);
      if (token === undefined) return charged;
      return charged ? charged.then(unauthenticated) : unauthenticated();
    }
    const known = o.tokens!.peek(token);
    if (known) return identified(c, token, known);
    return check(c, token);
  }

  /** A token this edge has not verified: checked under its address's budget of checks, then limited per user. */
  function check(c: Context<Env>, token: string): Promise<void> {
    const ip = c.get("clientIp")();
    const reserved = checks.reserve(ip);
    if (reserved && !(reserved instanceof Promise)) limited(c, reserved);
    return Promise.resolve(reserved).then((refused) => {
      if (refused) limited(c, refused);
      return o.tokens!.verify(token).then(
        (user) => {
          checks.settle(ip, true);
          checked.valid();
          return identified(c, token, user);
        },
        (err) => {
          // a token signed by us that has only expired, or was revoked, is no forgery: its check is given back
          checks.settle(ip, (err instanceof AppError && err.code === "TOKEN_EXPIRED") || o.tokens!.seen(token));
          checked.invalid();
          throw err;
        },
      );
    });
  }

  function identified(c: Context<Env>, token: string, user: Claims): void | Promise<void> {
    const charged = charge(c, () => `u:${user.sub}`);
    if (!charged) return void c.set("user", user);
    // a Redis call was awaited: the token may have been revoked meanwhile
    return charged.then(() => {
      if (!o.tokens!.peek(token)) throw new AppError("UNAUTHENTICATED", "token revoked");
      c.set("user", user);
    });
  }

  function charge(c: Context<Env>, identity: () => string): void | Promise<void> {
    if (!o.limit) return;
    const d = o.limit(identity());
    if (d instanceof Promise) return d.then((d) => limited(c, d));
    limited(c, d);
  }

  function limited(c: Context<Env>, d: Decision) {
    c.set("rate", d);
    if (d.degraded) o.onDegraded?.();
    if (!d.success) throw new AppError("RATE_LIMITED", "slow down and retry after the time in Retry-After");
  }

  /**
   * The answer to a request that is known in advance (a purchase of a sold-out sale), made before Hono sees the
   * request: no context, no routing, the problem and every header of the answer in one Response. Where CORS is
   * configured its layer must run first, so the middleware answers these itself.
   */
  function early(req: Request): Response | undefined {
    // the method first: reading a request's URL costs more than the rest of this check
    if (!o.shortcut || o.cors || req.method !== o.shortcut.method) return;
    const started = performance.now();
    const url = req.url;
    const from = url.indexOf("/", url.indexOf("//") + 2);
    const q = url.indexOf("?", from);
    const verdict = o.shortcut.decide(q < 0 ? url.slice(from) : url.slice(from, q), req.headers);
    if (!verdict) return;
    const requestId = requestIdOf(req.headers.get("x-request-id"));
    const res = new Response(problemBody(verdict, requestId), {
      status: verdict.status,
      headers: [["content-type", "application/problem+json"], ["X-Request-Id", requestId], ...SECURITY_HEADERS],
    });
    shortcuts();
    series(req.method, o.shortcut.route, verdict.status)((performance.now() - started) / 1000);
    o.onAnswer?.(verdict.status);
    return res;
  }

  const mw: MiddlewareHandler<Env> = async function front(c, next) {
    const started = performance.now();
    const given = c.req.header("x-request-id");
    const requestId = requestIdOf(given);
    c.set("requestId", requestId);
    const incoming = c.req.header("traceparent");
    let traceId = incoming ? traceIdOf(incoming) : undefined;
    let traceparent: string;
    if (traceId) traceparent = incoming!;
    else {
      // a new trace: its id is the request id's 128 bits when it is ours (else a fresh id's), the span id the random tail
      traceId = (requestId === given ? uuidv7() : requestId).replaceAll("-", "");
      traceparent = `00-${traceId}-${traceId.slice(16)}-01`;
    }
    let ip: string | undefined;
    c.set("traceparent", traceparent);
    c.set(
      "clientIp",
      () =>
        (ip ??= clientIp(
          getConnInfo(c).remote.address ?? "0.0.0.0",
          trusted.length ? c.req.header("x-forwarded-for") : undefined,
          trusted,
        )),
    );
    c.set("log", new RequestLog(o.log, { requestId, traceId }));
    // 0 working, 1 committing (the deadline waits for it), 2 answered by the deadline (nothing may commit)
    let phase = 0;
    c.set("deadlineAt", o.timeoutMs ? Date.now() + o.timeoutMs : Infinity);
    c.set("commit", () => {
      if (phase === 2) throw new AppError("TIMEOUT", `no answer within ${o.timeoutMs} ms`);
      phase = 1;
    });

    const work = async () => {
      if (o.cors) {
        const preflight = await o.cors(c, async () => {});
        if (preflight) {
          c.res = preflight;
          return;
        }
      }
      const verdict =
        o.cors && c.req.method === o.shortcut?.method ? o.shortcut.decide(c.req.path, c.req.raw.headers) : undefined;
      if (verdict) {
        c.set("shortcut", true);
        throw verdict;
      }
      if (limitBody && c.req.raw.body) await limitBody(c, async () => {});
      if (!open.has(c.req.path)) {
        const admission = admit(c);
        if (admission) await admission;
      }
      await next();
    };
    try {
      await (late
        ? late.race(work(), () => {
            if (phase === 1) return false;
            phase = 2;
            return true;
          })
        : work());
    } catch (err) {
      c.res = await o.onError(err, c);
    }
    let route: string | undefined;
    if (c.get("shortcut")) {
      shortcuts();
      route = o.shortcut!.route;
    }

    // appended, not set: nothing before this layer writes these headers (set would search for them first)
    const h = c.res.headers;
    h.append("X-Request-Id", requestId);
    const d = c.get("rate");
    if (d) {
      const resetS = Math.max(0, Math.ceil((d.reset - Date.now()) / 1000));
      h.append("RateLimit-Limit", String(d.limit));
      h.append("RateLimit-Remaining", String(d.remaining));
      h.append("RateLimit-Reset", String(resetS));
      if (!d.success) h.set("Retry-After", String(Math.max(1, resetS)));
    }
    for (const [k, v] of SECURITY_HEADERS) h.append(k, v);

    const method = c.req.method;
    const status = c.res.status;
    const seconds = (performance.now() - started) / 1000;
    series(method, route ?? (c.req.routePath || "unmatched"), status)(seconds);
    o.onAnswer?.(status);
    if (status >= 500 || seconds > 1)
      c.get("log").warn("request", { method, path: c.req.path, status, ms: seconds * 1000 });
  };
  return Object.assign(mw, { early, pending: () => late?.pending() ?? 0 });
}

/**
 * Request count and latency per method, route and status (a sale's 202s and 409s are different series).
 * Keyed by the router's own path strings, whose hashes the engine keeps: no key is built per request.
 */
function requestSeries(metrics: Metrics) {
  const series = new Map<string, Map<number, (seconds: number) => void>>();
  return (method: string, route: string, status: number) => {
    const key = method === "GET" ? route : `${method} ${route}`;
    let byStatus = series.get(key);
    if (!byStatus) {
      byStatus = new Map();
      if (series.size < MAX_SERIES) series.set(key, byStatus);
    }
    let observe = byStatus.get(status);
    if (!observe) {
      const labels = { method, route, status: String(status) };
      const count = metrics.counter("http_requests_total", labels);
      const time = metrics.histogram("http_request_duration_seconds", labels);
      observe = (seconds) => {
        count();
        time(seconds);
      };
      byStatus.set(status, observe);
    }
    return observe;
  };
}
