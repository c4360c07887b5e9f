// The routes of mailed tokens: email verification, and the forgotten password (a mailed link, then a new password).
import { eq, sql } from "drizzle-orm";
import { Hono } from "hono";
import { type Tx, users } from "../../db";
import type { admission } from "../admission";
import type { Deps, Env } from "../deps";
import { AppError } from "../errors";
import { loginThrottle } from "../middleware/login-throttle";
import { openapi } from "../openapi";
import { limiter } from "../rate-limit";
import { consumeEmailToken, EMAIL_TOKEN_TTL_MS, peekEmailToken, retireEmailTokens } from "./email-tokens";
import { mailToken } from "./mails";
import { hashPassword } from "./passwords";
import * as s from "./schemas";
import { publicUser } from "./view";

type Shared = {
  /** The process's line for password hashing (signup and login wait in it too). */
  hashing: ReturnType<typeof admission>;
  budgetOf: (c: { get(k: "deadlineAt"): number }) => number;
  revokeUser: (tx: Tx, userId: string) => Promise<void>;
};

const markVerified = (tx: Tx, userId: string) =>
  tx
    .update(users)
    .set({ emailVerifiedAt: sql`coalesce(${users.emailVerifiedAt}, now())`, updatedAt: sql`now()` })
    .where(eq(users.id, userId))
    .returning();

export function emailRoutes(d: Deps, { hashing, budgetOf, revokeUser }: Shared) {
  const app = new Hono<Env>();
  const perHour = {
    capacity: d.config.RESET_LIMIT_PER_HOUR,
    refillPerInterval: d.config.RESET_LIMIT_PER_HOUR,
    intervalS: 3600,
  };
  const perIp = limiter(d.redis, { name: "reset-ip", ...perHour });
  const perEmail = limiter(d.redis, { name: "reset-email", ...perHour });

  app.post(
    "/v1/auth/verify-email",
    openapi({
      summary: "Verify the account's email with the token of the mailed link",
      description: `The token comes from the link mailed at signup; it works once, for ${EMAIL_TOKEN_TTL_MS.verify_email / 3600_000} h.`,
      body: s.tokenOnly,
      responses: { 200: s.user },
      errors: ["TOKEN_INVALID"],
    }),
    async (c) => {
      const { token } = c.req.valid("json");
      const user = await d.db.transaction(async (tx) => {
        const userId = await consumeEmailToken(tx, token, "verify_email");
        if (!userId) return undefined;
        const [row] = await markVerified(tx, userId);
        c.get("commit")();
        return row;
      });
      if (!user) throw new AppError("TOKEN_INVALID", "this link is unknown, used or expired");
      return c.json(publicUser(user));
    },
  );

  app.post(
    "/v1/auth/password/forgot",
    openapi({
      summary: "Ask for a password-reset mail",
      description: `Answered 202 whether or not an account has this email, ${d.config.FORGOT_ANSWER_MS} ms after the request arrived either way. A known email gets a mail with a link that works once, for ${EMAIL_TOKEN_TTL_MS.reset_password / 60_000} minutes. Limited to ${d.config.RESET_LIMIT_PER_HOUR} requests an hour per email and per client address.`,
      body: s.forgot,
      responses: { 202: { description: "Accepted: a mail is on its way if the account exists" } },
    }),
    loginThrottle(perIp, perEmail, "password-reset requests"),
    async (c) => {
      const arrived = c.get("deadlineAt") - d.config.REQUEST_TIMEOUT_MS;
      const { email } = c.req.valid("json");
      await d.db.transaction(async (tx) => {
        const [user] = await tx
          .select({ id: users.id, email: users.email, name: users.name })
          .from(users)
          .where(eq(users.email, email));
        if (!user) return;
        await mailToken(tx, d.config.PUBLIC_URL, user, "reset_password");
        c.get("commit")();
      });
      // the answer's time does not tell whether the account exists
      const wait = arrived + d.config.FORGOT_ANSWER_MS - Date.now();
      if (wait > 0) await Bun.sleep(wait);
      return c.body(null, 202);
    },
  );

  app.post(
    "/v1/auth/password/reset",
    openapi({
      summary: "Set a new password with the token of the mailed link",
      description:
        "Every session of the account is revoked on every edge (as logout does), and the other reset links die. Opening the mailed link proves the email, so it counts as verified.",
      body: s.reset,
      responses: { 204: { description: "Password changed" } },
      errors: ["TOKEN_INVALID", "BUSY"],
    }),
    async (c) => {
      const { token, password } = c.req.valid("json");
      const invalid = () => new AppError("TOKEN_INVALID", "this link is unknown, used or expired");
      // a token that cannot work costs no hash
      if (!(await d.db.transaction((tx) => peekEmailToken(tx, token, "reset_password")))) throw invalid();
      const passwordHash = await hashing.run(() => hashPassword(password), budgetOf(c));
      const done = await d.db.transaction(async (tx) => {
        const userId = await consumeEmailToken(tx, token, "reset_password");
        if (!userId) return false;
        await tx.update(users).set({ passwordHash }).where(eq(users.id, userId));
        await markVerified(tx, userId);
        await retireEmailTokens(tx, userId, "reset_password");
        await revokeUser(tx, userId);
        c.get("commit")();
        return true;
      });
      if (!done) throw invalid();
      return c.body(null, 204);
    },
  );

  return app;
}
