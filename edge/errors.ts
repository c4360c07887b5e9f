// The one error type of the edge: a closed set of codes, rendered once as RFC 9457 problem+json.
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import { redisUnavailable } from "../domain/redis";
import type { Logger } from "../nats";

export const codes = {
  VALIDATION_FAILED: [400, "Validation failed"],
  MALFORMED_JSON: [400, "Malformed JSON"],
  /** A mailed one-time token (email verification, password reset) that is unknown, used or expired. */
  TOKEN_INVALID: [400, "Token invalid"],
  /** A passkey registration the relying party does not accept (challenge, origin or attestation). */
  PASSKEY_INVALID: [400, "Passkey not accepted"],
  UNAUTHENTICATED: [401, "Authentication required"],
  TOKEN_EXPIRED: [401, "Token expired"],
  TOKEN_REUSED: [401, "Refresh token reused"],
  INVALID_CREDENTIALS: [401, "Invalid credentials"],
  BAD_SIGNATURE: [401, "Bad signature"],
  FORBIDDEN: [403, "Forbidden"],
  /** Orders, purchases and claims of an unverified account, when REQUIRE_VERIFIED_EMAIL is on. */
  EMAIL_NOT_VERIFIED: [403, "Email not verified"],
  NOT_FOUND: [404, "Not found"],
  EMAIL_TAKEN: [409, "Email already registered"],
  SOLD_OUT: [409, "Sold out"],
  ALREADY_CLAIMED: [409, "Already claimed"],
  NOT_ACTIVE: [409, "Not active"],
  LIMIT_REACHED: [409, "Limit reached"],
  NOT_STARTED: [409, "Not started"],
  ENDED: [409, "Ended"],
  INSUFFICIENT_STOCK: [409, "Insufficient stock"],
  NOT_CANCELLABLE: [409, "Not cancellable"],
  /** Ship or deliver asked of an order not in the status before it (CONFIRMED, SHIPPED). */
  INVALID_TRANSITION: [409, "Invalid status transition"],
  PAYLOAD_TOO_LARGE: [413, "Payload too large"],
  UNSUPPORTED_MEDIA_TYPE: [415, "Unsupported media type"],
  IDEMPOTENCY_KEY_REUSED: [422, "Idempotency key reused"],
  RATE_LIMITED: [429, "Too many requests"],
  INTERNAL: [500, "Internal error"],
  UPSTREAM_UNAVAILABLE: [503, "Upstream unavailable"],
  /** Work the edge sheds because it could not finish within the request deadline (password hashing). */
  BUSY: [503, "Busy"],
  TIMEOUT: [504, "Request timed out"],
} as const satisfies Record<string, readonly [number, string]>;

export type Code = keyof typeof codes;

export class AppError extends Error {
  constructor(
    readonly code: Code,
    readonly detail?: string,
    readonly extra?: Record<string, unknown>,
    /** Headers the answer carries (Retry-After on a 503 BUSY). */
    readonly headers?: Record<string, string>,
  ) {
    super(detail ?? codes[code][1]);
  }
  get status() {
    return codes[this.code][0];
  }
}

/** The problem+json text of an error; `instance` is the request id. */
export function problemBody(err: AppError, instance: string | undefined): string {
  const [status, title] = codes[err.code];
  return JSON.stringify({
    type: `https://flashsale.dev/problems/${err.code.toLowerCase().replaceAll("_", "-")}`,
    title,
    status,
    detail: err.detail ?? title,
    code: err.code,
    instance,
    ...err.extra,
  });
}

/** When a 503 that names no time of its own asks the client to come back (a failover takes a few seconds). */
export const RETRY_AFTER_S = 1;

export function problem(c: Context, err: AppError): Response {
  const status = codes[err.code][0];
  const body = problemBody(err, c.get("requestId") as string | undefined);
  c.header("content-type", "application/problem+json");
  if (status === 503) c.header("Retry-After", String(RETRY_AFTER_S));
  if (err.headers) for (const [k, v] of Object.entries(err.headers)) c.header(k, v);
  return c.body(body, status as never);
}

/** Any error as the answer: an AppError as itself, anything else as a 500 that leaks nothing (and is logged). */
export function renderError(err: unknown, c: Context): Response {
  if (err instanceof AppError) return problem(c, err);
  if (err instanceof HTTPException && err.status === 413) return problem(c, new AppError("PAYLOAD_TOO_LARGE"));
  // a Redis node lost, a primary failing over: nothing was decided, the same request may be sent again
  if (redisUnavailable(err)) {
    (c.get("log") as Logger | undefined)?.warn("redis unavailable", { err: (err as Error).message, path: c.req.path });
    return problem(
      c,
      new AppError(
        "UPSTREAM_UNAVAILABLE",
        "a data store is unavailable for a moment; retry after the time in Retry-After",
      ),
    );
  }
  // the path, never the query string or headers; the logger strips the error's query parameters, hashes
  // and tokens (nats/log.ts), so a failed insert does not copy a password hash or an email into the log
  (c.get("log") as Logger | undefined)?.error("unhandled error", { err, path: c.req.path });
  return problem(c, new AppError("INTERNAL", "something went wrong; the request id identifies it"));
}
