// Popularity: each product's likes and confirmed units sold in the last 7 days, ranked in a Redis sorted
// set. Postgres is the truth (likes, orders and their confirmations); the set is derived from it, so every
// write to it sets a score computed from Postgres (never an increment): a redelivered event, a repeated
// batch or a rebuild write the same figure again.
//
// Writers take Postgres advisory locks so the last write to Redis is always made from the latest read: the
// popularity actor takes a shared lock on the ranking and an exclusive one per product it recomputes; a
// rebuild (Redis lost the set, or the periodic sweep that lets old events age out) takes the ranking's lock
// exclusively.
import { sql } from "drizzle-orm";
import type { Db, Tx } from "../../db";
import { SOLD_STATUSES } from "../order";
import type { RedisClient } from "../redis";

/** Both keys share a hash tag: one slot on a cluster, so a rebuild replaces them in one MULTI. */
export const POPULAR_KEY = "{popular}:rank";
/** Set by every rebuild: without it the set is not known to be whole (Redis lost it, or never had it). */
export const POPULAR_BUILT_KEY = "{popular}:built";
const NEXT_KEY = "{popular}:rank:next";
export const WINDOW_DAYS = 7;
const RANKING_LOCK = 727_100;
const ZADD_CHUNK = 1000;

type Score = { productId: string; score: number };

/** Scores from Postgres, of the given products (0 included) or of every product with any (none at 0). */
export async function scoresFromPostgres(db: Db | Tx, productIds?: string[]): Promise<Score[]> {
  const only = (col: string) => (productIds ? sql`and ${sql.raw(col)} = any(${sql.param(productIds)}::uuid[])` : sql``);
  const rows = await db.execute<{ product_id: string; score: number }>(sql`
    with counted as (
      select l.product_id, count(*)::int as n from catalog.likes l
      where l.created_at > now() - make_interval(days => ${WINDOW_DAYS}) ${only("l.product_id")}
      group by l.product_id
      union all
      select i.product_id, sum(i.quantity)::int from ordering.order_items i
      join ordering.orders o on o.id = i.order_id and o.status in (${sql.raw(SOLD_STATUSES.map((s) => `'${s}'`).join(", "))})
      where i.status = 'ACTIVE' ${only("i.product_id")} and exists (
        select from ordering.order_history h
        where h.order_id = i.order_id and h.status = 'CONFIRMED'
          and h.created_at > now() - make_interval(days => ${WINDOW_DAYS}))
      group by i.product_id
    )
    select c.product_id, sum(c.n)::int as score from counted c
    join catalog.products p on p.id = c.product_id and p.deleted_at is null
    group by c.product_id`);
  const scores = rows.map((r) => ({ productId: r.product_id, score: Number(r.score) }));
  if (!productIds) return scores;
  const known = new Map(scores.map((s) => [s.productId, s.score]));
  return productIds.map((productId) => ({ productId, score: known.get(productId) ?? 0 }));
}

/**
 * Recomputes these products' scores inside the caller's transaction and writes them to Redis (0 leaves the
 * set). Throws when Redis does not take them, so the caller's batch is retried.
 */
export async function updatePopularity(tx: Tx, redis: RedisClient, productIds: string[]): Promise<void> {
  const ids = [...new Set(productIds)].sort();
  if (!ids.length) return;
  await tx.execute(sql`select pg_advisory_xact_lock_shared(${RANKING_LOCK})`);
  await tx.execute(
    sql`select pg_advisory_xact_lock(hashtextextended(id::text, ${RANKING_LOCK})) from unnest(${sql.param(ids)}::uuid[]) as id`,
  );
  const scores = await scoresFromPostgres(tx, ids);
  const m = redis.multi();
  const kept = scores.filter((s) => s.score > 0);
  if (kept.length) m.zadd(POPULAR_KEY, ...kept.flatMap((s) => [s.score, s.productId]));
  const gone = scores.filter((s) => s.score <= 0).map((s) => s.productId);
  if (gone.length) m.zrem(POPULAR_KEY, ...gone);
  await execOrThrow(m);
}

/**
 * Replaces the whole set with the scores Postgres holds now. With `onlyIfMissing`, does nothing when another
 * rebuild finished while this one waited for the lock. Returns whether it wrote.
 */
export async function rebuildPopularity(
  db: Db,
  redis: RedisClient,
  o: { onlyIfMissing?: boolean } = {},
): Promise<boolean> {
  return db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(${RANKING_LOCK})`);
    if (o.onlyIfMissing && (await redis.exists(POPULAR_BUILT_KEY))) return false;
    const scores = await scoresFromPostgres(tx);
    const m = redis.multi().del(NEXT_KEY);
    for (let i = 0; i < scores.length; i += ZADD_CHUNK)
      m.zadd(NEXT_KEY, ...scores.slice(i, i + ZADD_CHUNK).flatMap((s) => [s.score, s.productId]));
    if (scores.length) m.rename(NEXT_KEY, POPULAR_KEY);
    else m.del(POPULAR_KEY);
    m.set(POPULAR_BUILT_KEY, new Date().toISOString());
    await execOrThrow(m);
    return true;
  });
}

/** The top of the ranking, best first; rebuilt from Postgres first when Redis does not hold it whole. */
export async function topProducts(db: Db, redis: RedisClient, n: number): Promise<Score[]> {
  const read = async () => {
    const [[, built], [, flat]] = (await redis
      .multi()
      .exists(POPULAR_BUILT_KEY)
      .zrevrange(POPULAR_KEY, 0, n - 1, "WITHSCORES")
      .exec()) as [[unknown, number], [unknown, string[]]];
    if (!built) return undefined;
    const out: Score[] = [];
    for (let i = 0; i < flat.length; i += 2) out.push({ productId: flat[i]!, score: Number(flat[i + 1]) });
    return out;
  };
  const first = await read();
  if (first) return first;
  await rebuildPopularity(db, redis, { onlyIfMissing: true });
  return (await read()) ?? [];
}

/** The same ranking from Postgres alone (when Redis cannot answer). */
export async function topFromPostgres(db: Db, n: number): Promise<Score[]> {
  return (await scoresFromPostgres(db))
    .sort((a, b) => b.score - a.score || (a.productId < b.productId ? 1 : -1))
    .slice(0, n);
}

async function execOrThrow(m: ReturnType<RedisClient["multi"]>) {
  const res = await m.exec();
  if (!res) throw new Error("popularity: the Redis transaction was discarded");
  for (const [err] of res) if (err) throw err;
}
