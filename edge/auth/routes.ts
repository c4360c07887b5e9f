// Identity: signup, login, refresh with rotation and reuse detection, logout, me, JWKS, role changes.
import { createHash, randomBytes } from "node:crypto";
import { eq, gt, sql } from "drizzle-orm";
import { Hono } from "hono";
import { z } from "zod";
import { refreshTokens, revokedTokens, users, type Tx, type User } from "../../db";
import { TOKEN_REVOKED, uuidv7, type TokenRevoked } from "../../nats";
import type { Deps, Env } from "../deps";
import { AppError } from "../errors";
import { caller, requireRole } from "../middleware/auth";
import { setRateHeaders } from "../middleware/rate-limit";
import { limiter } from "../rate-limit";
import { body, idParam } from "../validate";

const password = z
  .string()
  .min(8, "at least 8 characters")
  .max(128)
  .regex(/[A-Za-z]/, "needs a letter")
  .regex(/\d/, "needs a digit")
  .regex(/[^A-Za-z0-9]/, "needs a symbol");
const email = z.string().trim().toLowerCase().email().max(254);
const signup = z.object({ email, password, name: z.string().trim().min(1).max(100), role: z.enum(["shopper", "seller"]).optional() });
const login = z.object({ email, password: z.string().min(1).max(128) });
const refresh = z.object({ refreshToken: z.string().min(20).max(200) });
const roleChange = z.object({ role: z.enum(["shopper", "seller", "admin"]) });

export const publicUser = (u: User) => ({ id: u.id, email: u.email, name: u.name, role: u.role, createdAt: u.createdAt });
const hashToken = (t: string) => createHash("sha256").update(t).digest("base64url");

/** A hash to verify against when the email is unknown, so both failures take the same time. */
const dummyHash = Bun.password.hash("not-a-real-password-1!", { algorithm: "argon2id" });

export function authRoutes(d: Deps) {
  const app = new Hono<Env>();
  const perIp = limiter(d.redis, { name: "login-ip", capacity: d.config.LOGIN_LIMIT_PER_MIN, refillPerInterval: d.config.LOGIN_LIMIT_PER_MIN, intervalS: 60 });
  const perEmail = limiter(d.redis, { name: "login-email", capacity: d.config.LOGIN_LIMIT_PER_MIN, refillPerInterval: d.config.LOGIN_LIMIT_PER_MIN, intervalS: 60 });

  /** Issues an access token and a refresh token of the given family. */
  async function issue(tx: Tx, user: Pick<User, "id" | "role">, familyId: string) {
    const jti = uuidv7();
    const { token } = await d.tokens.sign({ sub: user.id, role: user.role, jti, fam: familyId });
    const refreshToken = randomBytes(32).toString("base64url");
    await tx.insert(refreshTokens).values({
      tokenHash: hashToken(refreshToken),
      familyId,
      userId: user.id,
      accessJti: jti,
      expiresAt: new Date(Date.now() + d.config.REFRESH_TOKEN_TTL_S * 1000),
    });
    return { accessToken: token, refreshToken, tokenType: "Bearer", expiresIn: d.config.ACCESS_TOKEN_TTL_S };
  }

  /** Kills a whole family: its refresh tokens, and the access tokens issued with them, on every edge. */
  async function revokeFamily(tx: Tx, familyId: string) {
    const rows = await tx
      .update(refreshTokens)
      .set({ revokedAt: sql`now()` })
      .where(eq(refreshTokens.familyId, familyId))
      .returning({ jti: refreshTokens.accessJti, created: refreshTokens.createdAt });
    if (!rows.length) return;
    const exp = Math.floor(Date.now() / 1000) + d.config.ACCESS_TOKEN_TTL_S;
    await tx
      .insert(revokedTokens)
      .values(rows.map((r) => ({ jti: r.jti, expiresAt: new Date(exp * 1000) })))
      .onConflictDoNothing();
    const msg: TokenRevoked = { jtis: rows.map((r) => r.jti), exp };
    d.tokens.revoke(msg.jtis, msg.exp);
    d.bus.nc.publish(TOKEN_REVOKED, JSON.stringify(msg));
  }

  app.post("/v1/auth/signup", async (c) => {
    const input = await body(c, signup);
    const passwordHash = await Bun.password.hash(input.password, { algorithm: "argon2id" });
    const [user] = await d.db
      .insert(users)
      .values({ id: uuidv7(), email: input.email, name: input.name, role: input.role ?? "shopper", passwordHash })
      .onConflictDoNothing({ target: users.email })
      .returning();
    if (!user) throw new AppError("EMAIL_TAKEN", "an account with this email exists");
    return c.json(publicUser(user), 201);
  });

  app.post("/v1/auth/login", async (c) => {
    const input = await body(c, login);
    for (const decision of await Promise.all([perIp(c.get("clientIp")), perEmail(input.email)])) {
      if (!decision.success) {
        setRateHeaders(c, decision);
        throw new AppError("RATE_LIMITED", "too many login attempts; retry later");
      }
    }
    const [user] = await d.db.select().from(users).where(eq(users.email, input.email));
    const ok = await Bun.password.verify(input.password, user?.passwordHash ?? (await dummyHash));
    if (!user || !ok) throw new AppError("INVALID_CREDENTIALS", "email or password is wrong");
    return c.json(await d.db.transaction((tx) => issue(tx, user, uuidv7())));
  });

  app.post("/v1/auth/refresh", async (c) => {
    const input = await body(c, refresh);
    const result = await d.db.transaction(async (tx) => {
      const [row] = await tx.select().from(refreshTokens).where(eq(refreshTokens.tokenHash, hashToken(input.refreshToken))).for("update");
      if (!row || row.expiresAt < new Date()) return { error: "UNAUTHENTICATED" as const };
      if (row.revokedAt) return { error: "UNAUTHENTICATED" as const };
      if (row.rotatedAt) {
        await revokeFamily(tx, row.familyId);
        return { error: "TOKEN_REUSED" as const };
      }
      const [user] = await tx.select().from(users).where(eq(users.id, row.userId));
      if (!user) return { error: "UNAUTHENTICATED" as const };
      await tx.update(refreshTokens).set({ rotatedAt: sql`now()` }).where(eq(refreshTokens.tokenHash, row.tokenHash));
      return { pair: await issue(tx, user, row.familyId) };
    });
    // a reuse revokes the family in a committed transaction before the 401 goes out
    if ("error" in result) throw new AppError(result.error!, result.error === "TOKEN_REUSED" ? "this refresh token was already used; every session of its family is revoked" : "invalid refresh token");
    return c.json(result.pair);
  });

  app.post("/v1/auth/logout", requireRole(), async (c) => {
    const user = caller(c);
    await d.db.transaction(async (tx) => {
      await tx.insert(revokedTokens).values({ jti: user.jti, expiresAt: new Date(user.exp * 1000) }).onConflictDoNothing();
      await revokeFamily(tx, user.fam);
    });
    d.tokens.revoke([user.jti], user.exp);
    d.bus.nc.publish(TOKEN_REVOKED, JSON.stringify({ jtis: [user.jti], exp: user.exp } satisfies TokenRevoked));
    return c.body(null, 204);
  });

  app.get("/v1/me", requireRole(), async (c) => {
    const [user] = await d.db.select().from(users).where(eq(users.id, caller(c).sub));
    if (!user) throw new AppError("NOT_FOUND");
    return c.json(publicUser(user));
  });

  app.get("/.well-known/jwks.json", (c) => {
    c.header("Cache-Control", "public, max-age=300");
    return c.json(d.tokens.jwks);
  });

  app.patch("/v1/admin/users/:id/role", requireRole("admin"), async (c) => {
    const id = idParam(c);
    const { role } = await body(c, roleChange);
    const [user] = await d.db.update(users).set({ role, updatedAt: sql`now()` }).where(eq(users.id, id)).returning();
    if (!user) throw new AppError("NOT_FOUND");
    return c.json(publicUser(user));
  });

  return app;
}

/** Loads the revocations still in force, so a fresh edge refuses what the others refuse. */
export async function loadRevocations(d: Pick<Deps, "db" | "tokens">) {
  const rows = await d.db.select().from(revokedTokens).where(gt(revokedTokens.expiresAt, new Date()));
  for (const r of rows) d.tokens.revoke([r.jti], Math.floor(r.expiresAt.getTime() / 1000));
  return rows.length;
}

