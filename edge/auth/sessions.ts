// Sessions: a token pair issued at login, and revocation of refresh families with their access tokens on every edge.
import { createHash, randomBytes } from "node:crypto";
import { and, eq, isNull, type SQL, sql } from "drizzle-orm";
import { refreshTokens, revokedTokens, type Tx, type User } from "../../db";
import { uuidv7 } from "../../nats";
import type { Deps } from "../deps";
import { revokeEverywhere } from "./revocations";

/** SHA-256 of a random token (refresh tokens, mailed tokens): what is stored instead of the token. */
export const hashToken = (t: string) => createHash("sha256").update(t).digest("base64url");

/** A random token of 32 bytes, base64url. */
export const randomToken = () => randomBytes(32).toString("base64url");

export function sessions(d: Pick<Deps, "config" | "tokens" | "bus">) {
  /** Issues an access token and a refresh token of the given family. */
  async function issue(tx: Tx, user: Pick<User, "id" | "role">, familyId: string) {
    const jti = uuidv7();
    const { token } = await d.tokens.sign({ sub: user.id, role: user.role, jti, fam: familyId });
    const refreshToken = randomToken();
    await tx.insert(refreshTokens).values({
      tokenHash: hashToken(refreshToken),
      familyId,
      userId: user.id,
      accessJti: jti,
      expiresAt: new Date(Date.now() + d.config.REFRESH_TOKEN_TTL_S * 1000),
    });
    return { accessToken: token, refreshToken, tokenType: "Bearer" as const, expiresIn: d.config.ACCESS_TOKEN_TTL_S };
  }

  /** Kills refresh tokens (a family, or all of a user's) and the access tokens issued with them, on every edge. */
  async function revoke(tx: Tx, which: SQL) {
    const rows = await tx
      .update(refreshTokens)
      .set({ revokedAt: sql`now()` })
      .where(which)
      .returning({ jti: refreshTokens.accessJti, created: refreshTokens.createdAt });
    // access tokens older than their lifetime have expired anyway
    const live = rows.filter((r) => r.created.getTime() > Date.now() - d.config.ACCESS_TOKEN_TTL_S * 1000 - 60_000);
    if (!live.length) return;
    const exp = Math.floor(Date.now() / 1000) + d.config.ACCESS_TOKEN_TTL_S;
    await tx
      .insert(revokedTokens)
      .values(live.map((r) => ({ jti: r.jti, expiresAt: new Date(exp * 1000) })))
      .onConflictDoNothing();
    revokeEverywhere(d.bus, d.tokens, { jtis: live.map((r) => r.jti), exp });
  }

  /** Every session of a user (a role change, a password reset). */
  const revokeUser = (tx: Tx, userId: string) =>
    revoke(tx, and(eq(refreshTokens.userId, userId), isNull(refreshTokens.revokedAt))!);

  return { issue, revoke, revokeUser };
}
export type Sessions = ReturnType<typeof sessions>;
