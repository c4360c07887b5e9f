// Idempotency-Key: the same key with the same body returns the first answer; with another body, 422.
// The key row is written in the same transaction as what the request creates, and lives 24 hours.
import { and, eq, lt, sql } from "drizzle-orm";
import { type Db, idempotencyKeys, type Tx } from "../db";
import { requestHash as hashOf, IDEMPOTENCY_KEY_RULE, validIdempotencyKey } from "../domain/idempotency";
import { AppError } from "./errors";

const TTL_MS = 24 * 3600 * 1000;

/** The request's Idempotency-Key header, checked against the rule (400 VALIDATION_FAILED), or undefined. */
export function idempotencyKey(c: { req: { header(name: string): string | undefined } }): string | undefined {
  const key = c.req.header("idempotency-key");
  if (key !== undefined && !validIdempotencyKey(key)) throw new AppError("VALIDATION_FAILED", IDEMPOTENCY_KEY_RULE);
  return key;
}

export type Answer<T> = { status: 200 | 201 | 202; body: T };

export async function idempotent<T>(
  db: Db,
  req: { userId: string; key: string | undefined; scope: string; request: unknown },
  work: (tx: Tx) => Promise<Answer<T>>,
): Promise<Answer<T> & { replayed: boolean }> {
  if (req.key === undefined) return { ...(await db.transaction(work)), replayed: false };
  if (!validIdempotencyKey(req.key)) throw new AppError("VALIDATION_FAILED", IDEMPOTENCY_KEY_RULE);
  const key = `${req.scope}:${req.key}`;
  const requestHash = hashOf(req.request);
  return db.transaction(async (tx) => {
    await tx
      .delete(idempotencyKeys)
      .where(
        and(
          eq(idempotencyKeys.userId, req.userId),
          eq(idempotencyKeys.key, key),
          lt(idempotencyKeys.createdAt, new Date(Date.now() - TTL_MS)),
        ),
      );
    // a concurrent request with the same key waits here until the first one commits
    const [claimed] = await tx
      .insert(idempotencyKeys)
      .values({ userId: req.userId, key, requestHash, status: 0, body: {} })
      .onConflictDoNothing()
      .returning();
    if (!claimed) {
      const [first] = await tx
        .select()
        .from(idempotencyKeys)
        .where(and(eq(idempotencyKeys.userId, req.userId), eq(idempotencyKeys.key, key)));
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
