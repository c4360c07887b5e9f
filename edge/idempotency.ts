// Idempotency-Key: the same key with the same body returns the first answer; with another body, 422.
// The key row is written in the same transaction as what the request creates, and lives 24 hours.
import { createHash } from "node:crypto";
import { and, eq, lt, sql } from "drizzle-orm";
import { idempotencyKeys, type Db, type Tx } from "../db";
import { AppError } from "./errors";

const TTL_MS = 24 * 3600 * 1000;
const KEY = /^[\x21-\x7e]{1,255}$/;

export type Answer<T> = { status: 200 | 201 | 202; body: T };

export async function idempotent<T>(
  db: Db,
  req: { userId: string; key: string | undefined; scope: string; request: unknown },
  work: (tx: Tx) => Promise<Answer<T>>,
): Promise<Answer<T> & { replayed: boolean }> {
  if (req.key === undefined) return { ...(await db.transaction(work)), replayed: false };
  if (!KEY.test(req.key)) throw new AppError("VALIDATION_FAILED", "Idempotency-Key: 1 to 255 visible ASCII characters");
  const key = `${req.scope}:${req.key}`;
  const requestHash = createHash("sha256").update(JSON.stringify(req.request)).digest("base64url");
  return db.transaction(async (tx) => {
    await tx
      .delete(idempotencyKeys)
      .where(and(eq(idempotencyKeys.userId, req.userId), eq(idempotencyKeys.key, key), lt(idempotencyKeys.createdAt, new Date(Date.now() - TTL_MS))));
    // a concurrent request with the same key waits here until the first one commits
    const [claimed] = await tx
      .insert(idempotencyKeys)
      .values({ userId: req.userId, key, requestHash, status: 0, body: {} })
      .onConflictDoNothing()
      .returning();
    if (!claimed) {
      const [first] = await tx.select().from(idempotencyKeys).where(and(eq(idempotencyKeys.userId, req.userId), eq(idempotencyKeys.key, key)));
      if (!first || first.requestHash !== requestHash)
        throw new AppError("IDEMPOTENCY_KEY_REUSED", "this Idempotency-Key was used with a different request");
      return { status: first.status as Answer<T>["status"], body: first.body as T, replayed: true };
    }
    const answer = await work(tx);
    await tx
      .update(idempotencyKeys)
      .set({ status: answer.status, body: sql`${JSON.stringify(answer.body)}::jsonb` })
      .where(and(eq(idempotencyKeys.userId, req.userId), eq(idempotencyKeys.key, key)));
    return { ...answer, replayed: false };
  });
}
