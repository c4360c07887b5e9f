// Token-bucket limiting per user (per client address when anonymous), with the RateLimit-* headers on
// every answer and Retry-After on a 429. It runs before token verification: a token that this edge has
// already verified counts against its user; any other request counts against its address, so a flood of
// forged tokens is throttled before each one costs a signature check.
import type { Context, MiddlewareHandler } from "hono";
import type { TokenService } from "../auth/tokens";
import type { Env } from "../deps";
import { AppError } from "../errors";
import type { Decision } from "../rate-limit";
import { bearer } from "./auth";

export function setRateHeaders(c: Context, d: Decision) {
  const resetS = Math.max(0, Math.ceil((d.reset - Date.now()) / 1000));
  c.header("RateLimit-Limit", String(d.limit));
  c.header("RateLimit-Remaining", String(d.remaining));
  c.header("RateLimit-Reset", String(resetS));
  if (!d.success) c.header("Retry-After", String(Math.max(1, resetS)));
}

export function rateLimit(
  limit: (identity: string) => Promise<Decision>,
  tokens: Pick<TokenService, "peek">,
  onDegraded: () => void,
): MiddlewareHandler<Env> {
  return async function rateLimit(c, next) {
    const token = bearer(c.req.header("authorization"));
    c.set("bearer", token);
    const user = token ? tokens.peek(token) : undefined;
    const d = await limit(user ? `u:${user.sub}` : `ip:${c.get("clientIp")()}`);
    if (d.degraded) onDegraded();
    setRateHeaders(c, d);
    if (!d.success) throw new AppError("RATE_LIMITED", "slow down and retry after the time in Retry-After");
    await next();
  };
}
