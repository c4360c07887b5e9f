// Brute-force brake on login (and on password-reset mails): separate buckets per client address and per email,
// both far tighter than the general limit. Placed after the body is validated (it needs the email), before the work.
import type { MiddlewareHandler } from "hono";
import type { Env } from "../deps";
import { AppError } from "../errors";
import type { Decision } from "../rate-limit";

type Limit = (identity: string) => Decision | Promise<Decision>;

export function loginThrottle(
  perIp: Limit,
  perEmail: Limit,
  what = "login attempts",
): MiddlewareHandler<Env, string, { out: { json: { email: string } } }> {
  return async function loginThrottle(c, next) {
    const decisions = await Promise.all([perIp(c.get("clientIp")()), perEmail(c.req.valid("json").email)]);
    const refused = decisions.find((d) => !d.success);
    if (refused) {
      c.set("rate", refused); // its RateLimit-* and Retry-After are the answer's
      throw new AppError("RATE_LIMITED", `too many ${what}; retry later`);
    }
    await next();
  };
}
