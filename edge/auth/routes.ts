// Identity: signup (with a verification mail), login, refresh with rotation and reuse detection, logout, me, JWKS,
// role changes; the mailed-token, passkey and admin-search routes are mounted from here (they share its hashing line and sessions).
import { and, eq, sql } from "drizzle-orm";
import { Hono } from "hono";
import { refreshTokens, revokedTokens, users } from "../../db";
import { uuidv7 } from "../../nats";
import { admission } from "../admission";
import type { Deps, Env } from "../deps";
import { AppError } from "../errors";
import { caller, requireRole } from "../middleware/auth";
import { loginThrottle } from "../middleware/login-throttle";
import { openapi } from "../openapi";
import { limiter } from "../rate-limit";
import { idParam } from "../validate";
import { adminUserRoutes } from "./admin-users";
import { emailRoutes } from "./email-routes";
import { EMAIL_TOKEN_TTL_MS } from "./email-tokens";
import { mailToken } from "./mails";
import { accountPages } from "./pages";
import { passkeyRoutes } from "./passkeys";
import { hashPassword, needsRehash, verifyPassword } from "./passwords";
import { revokeEverywhere } from "./revocations";
import * as s from "./schemas";
import { hashToken, sessions } from "./sessions";
import { publicUser } from "./view";

const ME_CACHE_MAX = 50_000;

export function authRoutes(d: Deps) {
  const app = new Hono<Env>();
  const perIp = limiter(d.redis, {
    name: "login-ip",
    capacity: d.config.LOGIN_LIMIT_PER_MIN,
    refillPerInterval: d.config.LOGIN_LIMIT_PER_MIN,
    intervalS: 60,
  });
  const perEmail = limiter(d.redis, {
    name: "login-email",
    capacity: d.config.LOGIN_LIMIT_PER_MIN,
    refillPerInterval: d.config.LOGIN_LIMIT_PER_MIN,
    intervalS: 60,
  });
  const { issue, revoke: revokeSessions, revokeUser } = sessions(d);
  // GET /v1/me per access token, once the email is verified. Past that, a user row changes only through a role
  // change, which revokes every access token of that user on every edge, so an entry is never served stale: its
  // token is refused first. An unverified user's row is read each time (verification may happen on another edge).
  const meCache = new Map<string, string>(); // jti -> the answer's JSON
  // every password hash (signup, login, password reset) waits its turn here, or is refused 503 BUSY before any work
  const hashing = admission({
    concurrency: d.config.HASH_CONCURRENCY,
    maxWaitMs: d.config.HASH_MAX_WAIT_MS,
    name: "sign-in",
  });
  /**
   * Time left for a request's hash: HASH_MAX_WAIT_MS from its arrival (time spent before the line counts), and
   * never past its deadline less a margin for the writes after it.
   */
  const budgetOf = (c: { get(k: "deadlineAt"): number }) => {
    const deadlineAt = c.get("deadlineAt");
    const arrived = deadlineAt - d.config.REQUEST_TIMEOUT_MS;
    return Math.min(deadlineAt - 500, arrived + d.config.HASH_MAX_WAIT_MS) - Date.now();
  };
  /** A hash to verify against when the email is unknown, so both failures take the same time; timing it seeds the line's average. */
  const dummyHash = (async () => {
    const t = performance.now();
    const hash = await hashPassword("not-a-real-password-1!");
    hashing.calibrate(performance.now() - t);
    return hash;
  })();

  app.post(
    "/v1/auth/signup",
    openapi({
      summary: "Create an account (shopper or seller)",
      description: `A mail with a link that verifies the email (valid ${EMAIL_TOKEN_TTL_MS.verify_email / 3600_000} h, once) is sent to the address.`,
      body: s.signup,
      responses: { 201: s.user },
      errors: ["EMAIL_TAKEN"],
    }),
    async (c) => {
      const input = c.req.valid("json");
      await dummyHash; // the line's average is seeded
      const passwordHash = await hashing.run(() => hashPassword(input.password), budgetOf(c));
      const user = await d.db.transaction(async (tx) => {
        const [row] = await tx
          .insert(users)
          .values({ id: uuidv7(), email: input.email, name: input.name, role: input.role ?? "shopper", passwordHash })
          .onConflictDoNothing({ target: users.email })
          .returning();
        if (!row) return undefined;
        await mailToken(tx, d.config.PUBLIC_URL, row, "verify_email");
        c.get("commit")();
        return row;
      });
      if (!user) throw new AppError("EMAIL_TAKEN", "an account with this email exists");
      return c.json(publicUser(user), 201);
    },
  );

  app.post(
    "/v1/auth/login",
    openapi({
      summary: "Log in: an access token and a refresh token",
      description: `Limited per client address and per email to ${d.config.LOGIN_LIMIT_PER_MIN} attempts a minute. An unknown email and a wrong password answer alike, in the same time.`,
      body: s.login,
      responses: { 200: s.tokenPair },
      errors: ["INVALID_CREDENTIALS"],
    }),
    loginThrottle(perIp, perEmail),
    async (c) => {
      const input = c.req.valid("json");
      const [user] = await d.db.select().from(users).where(eq(users.email, input.email));
      const dummy = await dummyHash; // awaited either way: the line's average is seeded
      const stored = user?.passwordHash ?? dummy;
      const ok = await hashing.run(() => verifyPassword(input.password, stored), budgetOf(c));
      if (!user || !ok) throw new AppError("INVALID_CREDENTIALS", "email or password is wrong");
      // a hash made with older parameters is made again, when a slot is free (else at a later login)
      if (needsRehash(stored))
        hashing.whenIdle(async () => {
          const fresh = await hashPassword(input.password);
          await d.db
            .update(users)
            .set({ passwordHash: fresh })
            .where(and(eq(users.id, user.id), eq(users.passwordHash, stored)));
        });
      const pair = await d.db.transaction(async (tx) => {
        const issued = await issue(tx, user, uuidv7());
        c.get("commit")();
        return issued;
      });
      return c.json(pair);
    },
  );

  app.post(
    "/v1/auth/refresh",
    openapi({
      summary: "Trade a refresh token for a new pair (the old refresh token dies)",
      description:
        "A refresh token that was already traded comes back as TOKEN_REUSED, and its whole family (every token issued from the same login) is revoked.",
      body: s.refresh,
      responses: { 200: s.tokenPair },
      errors: ["UNAUTHENTICATED", "TOKEN_REUSED"],
    }),
    async (c) => {
      const input = c.req.valid("json");
      const result = await d.db.transaction(async (tx) => {
        const [row] = await tx
          .select()
          .from(refreshTokens)
          .where(eq(refreshTokens.tokenHash, hashToken(input.refreshToken)))
          .for("update");
        if (!row || row.expiresAt < new Date()) return { error: "UNAUTHENTICATED" as const };
        if (row.revokedAt) return { error: "UNAUTHENTICATED" as const };
        if (row.rotatedAt) {
          await revokeSessions(tx, eq(refreshTokens.familyId, row.familyId));
          return { error: "TOKEN_REUSED" as const };
        }
        const [user] = await tx.select().from(users).where(eq(users.id, row.userId));
        if (!user) return { error: "UNAUTHENTICATED" as const };
        await tx.update(refreshTokens).set({ rotatedAt: sql`now()` }).where(eq(refreshTokens.tokenHash, row.tokenHash));
        return { pair: await issue(tx, user, row.familyId) };
      });
      // a reuse revokes the family in a committed transaction before the 401 goes out
      if ("error" in result)
        throw new AppError(
          result.error!,
          result.error === "TOKEN_REUSED"
            ? "this refresh token was already used; every session of its family is revoked"
            : "invalid refresh token",
        );
      return c.json(result.pair);
    },
  );

  app.post(
    "/v1/auth/logout",
    requireRole(),
    openapi({
      summary: "Log out: this access token and its refresh family stop working at once, on every edge",
      responses: { 204: { description: "Logged out" } },
    }),
    async (c) => {
      const user = caller(c);
      await d.db.transaction(async (tx) => {
        await tx
          .insert(revokedTokens)
          .values({ jti: user.jti, expiresAt: new Date(user.exp * 1000) })
          .onConflictDoNothing();
        await revokeSessions(tx, eq(refreshTokens.familyId, user.fam));
      });
      revokeEverywhere(d.bus, d.tokens, { jtis: [user.jti], exp: user.exp });
      return c.body(null, 204);
    },
  );

  app.get(
    "/v1/me",
    requireRole(),
    openapi({ summary: "The signed-in user", responses: { 200: s.user } }),
    async (c) => {
      const { jti, sub } = caller(c);
      let me = meCache.get(jti);
      if (!me) {
        const [user] = await d.db.select().from(users).where(eq(users.id, sub));
        if (!user) throw new AppError("NOT_FOUND");
        me = JSON.stringify(publicUser(user));
        if (!user.emailVerifiedAt) return c.body(me, 200, { "content-type": "application/json" });
        if (meCache.size >= ME_CACHE_MAX) meCache.delete(meCache.keys().next().value!);
        meCache.set(jti, me);
      }
      return c.body(me, 200, { "content-type": "application/json" });
    },
  );

  app.get(
    "/.well-known/jwks.json",
    openapi({
      summary: "The public keys that verify access tokens (EdDSA, with kid)",
      tags: ["auth"],
      responses: { 200: s.jwks },
    }),
    (c) => {
      c.header("Cache-Control", "public, max-age=300");
      return c.json(d.tokens.jwks);
    },
  );

  app.patch(
    "/v1/admin/users/:id/role",
    requireRole("admin"),
    openapi({
      summary: "Change a user's role",
      description:
        "The user's sessions are revoked on every edge, so the new role holds from the next login and no token keeps the old one.",
      tags: ["admin"],
      body: s.roleChange,
      responses: { 200: s.user },
    }),
    async (c) => {
      const id = idParam(c);
      const { role } = c.req.valid("json");
      const user = await d.db.transaction(async (tx) => {
        const [row] = await tx.update(users).set({ role, updatedAt: sql`now()` }).where(eq(users.id, id)).returning();
        if (row) await revokeUser(tx, id);
        return row;
      });
      if (!user) throw new AppError("NOT_FOUND");
      return c.json(publicUser(user));
    },
  );

  app.route("/", emailRoutes(d, { hashing, budgetOf, revokeUser }));
  app.route("/", passkeyRoutes(d, { issue }));
  app.route("/", adminUserRoutes(d));
  app.route("/", accountPages());
  return app;
}
