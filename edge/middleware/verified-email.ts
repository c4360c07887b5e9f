// REQUIRE_VERIFIED_EMAIL: orders, purchases and claims of an account whose email is not verified answer 403
// EMAIL_NOT_VERIFIED. Verification is for good (nothing un-verifies an email), so a verified user is remembered
// by this edge and costs no query again; an unverified one is read each time, until the link is opened.
import { eq } from "drizzle-orm";
import type { MiddlewareHandler } from "hono";
import { users } from "../../db";
import type { Deps, Env } from "../deps";
import { AppError } from "../errors";

const REMEMBERED_MAX = 100_000;

export function verifiedEmail(o: {
  required: boolean;
  isVerified: (userId: string) => Promise<boolean>;
}): MiddlewareHandler<Env> {
  if (!o.required)
    return function verifiedEmail(_c, next) {
      return next();
    };
  const verified = new Set<string>();
  return async function verifiedEmail(c, next) {
    const userId = c.get("user")?.sub;
    if (!userId) throw new AppError("UNAUTHENTICATED");
    if (!verified.has(userId)) {
      if (!(await o.isVerified(userId)))
        throw new AppError("EMAIL_NOT_VERIFIED", "verify your email first: open the link mailed at signup");
      if (verified.size >= REMEMBERED_MAX) verified.delete(verified.values().next().value!);
      verified.add(userId);
    }
    await next();
  };
}

/** The gate as configured, reading the users table. */
export function verifiedEmailGate(d: Pick<Deps, "config" | "db">): MiddlewareHandler<Env> {
  return verifiedEmail({
    required: d.config.REQUIRE_VERIFIED_EMAIL,
    isVerified: async (userId) => {
      const [row] = await d.db.select({ at: users.emailVerifiedAt }).from(users).where(eq(users.id, userId));
      return !!row?.at;
    },
  });
}
