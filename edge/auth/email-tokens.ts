// One-time tokens sent by mail: minted with the mail that carries them, stored only as their SHA-256,
// consumed once (a used, expired or unknown token is the same refusal).
import { and, eq, gt, isNull, sql } from "drizzle-orm";
import { emailTokens, type Tx } from "../../db";
import { hashToken, randomToken } from "./sessions";

export type TokenPurpose = (typeof emailTokens.$inferSelect)["purpose"];

/** How long a mailed link works. */
export const EMAIL_TOKEN_TTL_MS: Record<TokenPurpose, number> = {
  verify_email: 24 * 3600_000,
  reset_password: 30 * 60_000,
};

export async function mintEmailToken(tx: Tx, userId: string, purpose: TokenPurpose) {
  const token = randomToken();
  const expiresAt = new Date(Date.now() + EMAIL_TOKEN_TTL_MS[purpose]);
  await tx.insert(emailTokens).values({ tokenHash: hashToken(token), userId, purpose, expiresAt });
  return { token, expiresAt };
}

const usable = (token: string, purpose: TokenPurpose) =>
  and(
    eq(emailTokens.tokenHash, hashToken(token)),
    eq(emailTokens.purpose, purpose),
    isNull(emailTokens.usedAt),
    gt(emailTokens.expiresAt, sql`now()`),
  );

/** The user a token is for, while it is usable; marks nothing. */
export async function peekEmailToken(tx: Tx, token: string, purpose: TokenPurpose): Promise<string | undefined> {
  const [row] = await tx.select({ userId: emailTokens.userId }).from(emailTokens).where(usable(token, purpose));
  return row?.userId;
}

/** Uses a token up: the user it was for, or undefined when it is unknown, used or expired. */
export async function consumeEmailToken(tx: Tx, token: string, purpose: TokenPurpose): Promise<string | undefined> {
  const [row] = await tx
    .update(emailTokens)
    .set({ usedAt: sql`now()` })
    .where(usable(token, purpose))
    .returning({ userId: emailTokens.userId });
  return row?.userId;
}

/** Every other usable token of a user for the purpose dies with the one used. */
export async function retireEmailTokens(tx: Tx, userId: string, purpose: TokenPurpose) {
  await tx
    .update(emailTokens)
    .set({ usedAt: sql`now()` })
    .where(and(eq(emailTokens.userId, userId), eq(emailTokens.purpose, purpose), isNull(emailTokens.usedAt)));
}
