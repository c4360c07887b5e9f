// Claims an edge won in Redis but never published (it died between the decision and the publish, or
// JetStream refused the publish) are published here, under the same message id, once they are older than
// `afterMs`. Several copies of this loop may run: JetStream's duplicate window, the inbox and the unique
// (user, coupon) pair each drop a claim published twice.
import type { JetStreamClient } from "@nats-io/jetstream";
import { and, gt, lte } from "drizzle-orm";
import { coupons, type Db } from "../../db";
import { markPublished, publishClaim, unpublishedClaims } from "../../domain/coupon";
import { createRedis, type RedisSettings } from "../../domain/redis";
import { type Logger, repeat } from "../../nats";

/** A coupon's keys outlive its end by the edge's grace period; a day covers any sane setting. */
const LOOK_BACK_MS = 24 * 3600 * 1000;

export function startClaimReconciler(o: {
  db: Db;
  redis: RedisSettings;
  js: JetStreamClient;
  log: Logger;
  afterMs: number;
  everyMs?: number;
}) {
  const redis = createRedis(o.redis);
  redis.on("error", (err) => o.log.warn("redis", { err: err.message }));
  const stop = repeat(
    o.everyMs ?? 1000,
    async () => {
      const now = Date.now();
      const live = await o.db
        .select({ id: coupons.id })
        .from(coupons)
        .where(and(lte(coupons.startsAt, new Date(now)), gt(coupons.endsAt, new Date(now - LOOK_BACK_MS))));
      const pending = await unpublishedClaims(
        redis,
        live.map((c) => c.id),
        o.afterMs,
      );
      await Promise.all(
        pending.map(async (c) => {
          await publishClaim(o.js, c);
          await markPublished(redis, c.couponId, [c.userId]);
        }),
      );
      if (pending.length) o.log.info("unpublished claims republished", { count: pending.length });
    },
    (err) => o.log.warn("claim reconciliation failed", { err }),
  );
  return async () => {
    await stop();
    redis.disconnect();
  };
}
