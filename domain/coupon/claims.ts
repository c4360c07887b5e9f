// A coupon's claim state in Redis, shared by the edge (which decides claims) and the coupon actor (which
// republishes the ones an edge granted but never published). Keys share the hash tag {<couponId>}, so one
// script touches one slot and the layout also works on Redis Cluster.
//
//   coupon:{id}:meta         hash: startsAt, endsAt, quantity (ms and count), expireAt
//   coupon:{id}:claims       hash: userId -> "userCouponId|claimedAtMs|idempotencyKey"; HLEN is the count won
//   coupon:{id}:unpublished  zset: userId scored by claimedAtMs, until JetStream has the claim
//
// Every key expires at expireAt (the coupon's end plus a grace period), so ended coupons leave nothing.
import type { JetStreamClient } from "@nats-io/jetstream";
import { publish } from "../../nats";
import { luaScript, type RedisClient } from "../redis";

export const couponKeys = (id: string) => ({
  meta: `coupon:{${id}}:meta`,
  claims: `coupon:{${id}}:claims`,
  unpublished: `coupon:{${id}}:unpublished`,
});

// Arrival order at Redis is the claim order: the window, once per user and the cap are checked and the
// claim recorded in one step. The claim also goes to `unpublished` in that same step, so an edge that dies
// before publishing leaves it where the reconciler finds it.
const CLAIM = `
local m = redis.call('HMGET', KEYS[1], 'startsAt', 'endsAt', 'quantity', 'expireAt')
if not m[1] then return {'UNKNOWN'} end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if now < tonumber(m[1]) or now >= tonumber(m[2]) then return {'NOT_ACTIVE'} end
local held = redis.call('HGET', KEYS[2], ARGV[1])
if held then return {'ALREADY_CLAIMED', held} end
if redis.call('HLEN', KEYS[2]) >= tonumber(m[3]) then return {'SOLD_OUT'} end
local v = ARGV[2] .. '|' .. now .. '|' .. ARGV[3]
redis.call('HSET', KEYS[2], ARGV[1], v)
redis.call('ZADD', KEYS[3], now, ARGV[1])
redis.call('PEXPIREAT', KEYS[2], m[4])
redis.call('PEXPIREAT', KEYS[3], m[4])
return {'OK', v}
`;

// Writes a coupon's meta when it is missing (first claim after creation failed to prime it, or Redis lost
// its data), with the claims Postgres already holds, so once per user and the cap still hold.
const PRIME = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'startsAt', ARGV[1], 'endsAt', ARGV[2], 'quantity', ARGV[3], 'expireAt', ARGV[4])
redis.call('PEXPIREAT', KEYS[1], ARGV[4])
for i = 5, #ARGV, 2 do redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1]) end
if #ARGV >= 5 then redis.call('PEXPIREAT', KEYS[2], ARGV[4]) end
return 1
`;

const claimScript = luaScript(CLAIM);
const primeScript = luaScript(PRIME);

export type Claim = {
  userCouponId: string;
  couponId: string;
  userId: string;
  claimedAt: string;
  idempotencyKey: string;
};
export type ClaimOutcome =
  | { outcome: "OK" | "ALREADY_CLAIMED"; claim: Claim }
  | { outcome: "SOLD_OUT" | "NOT_ACTIVE" | "UNKNOWN" };

function parseClaim(couponId: string, userId: string, value: string): Claim {
  const [userCouponId, at, ...key] = value.split("|");
  return {
    userCouponId: userCouponId!,
    couponId,
    userId,
    claimedAt: new Date(Number(at)).toISOString(),
    idempotencyKey: key.join("|"),
  };
}

/** Decides one claim. `userCouponId` is used only when the claim is won. */
export async function claimCoupon(
  redis: RedisClient,
  c: { couponId: string; userId: string; userCouponId: string; idempotencyKey?: string },
): Promise<ClaimOutcome> {
  const k = couponKeys(c.couponId);
  const [outcome, value] = (await claimScript(
    redis,
    [k.meta, k.claims, k.unpublished],
    [c.userId, c.userCouponId, c.idempotencyKey ?? ""],
  )) as [string, string | undefined];
  if (outcome === "OK" || outcome === "ALREADY_CLAIMED")
    return { outcome, claim: parseClaim(c.couponId, c.userId, value!) };
  return { outcome: outcome as "SOLD_OUT" | "NOT_ACTIVE" | "UNKNOWN" };
}

export type CouponWindow = { id: string; startsAt: Date; endsAt: Date; quantity: number };

/** Writes the coupon's meta if Redis does not hold it, with the claims already persisted. */
export async function primeCoupon(
  redis: RedisClient,
  coupon: CouponWindow,
  persisted: { userId: string; userCouponId: string; claimedAt: Date }[],
  graceS: number,
): Promise<void> {
  const k = couponKeys(coupon.id);
  const expireAt = coupon.endsAt.getTime() + graceS * 1000;
  const pairs = persisted.flatMap((p) => [p.userId, `${p.userCouponId}|${p.claimedAt.getTime()}|`]);
  await primeScript(
    redis,
    [k.meta, k.claims],
    [coupon.startsAt.getTime(), coupon.endsAt.getTime(), coupon.quantity, expireAt, ...pairs],
  );
}

/** Publishes a won claim with its id as message id, so the edge and the reconciler never record it twice. */
export async function publishClaim(js: JetStreamClient, c: Claim, traceparent?: string): Promise<void> {
  const data = { userCouponId: c.userCouponId, couponId: c.couponId, userId: c.userId, claimedAt: c.claimedAt };
  await publish(js, "coupons.cmd.claim", data, { id: c.userCouponId, traceparent });
}

/** JetStream holds the claim now: the reconciler can forget it. */
export async function markPublished(redis: RedisClient, couponId: string, userIds: string[]): Promise<void> {
  if (userIds.length) await redis.zrem(couponKeys(couponId).unpublished, ...userIds);
}

/** Claims granted before `olderThanMs` ago (by Redis's clock) that are still unpublished, per coupon. */
export async function unpublishedClaims(
  redis: RedisClient,
  couponIds: string[],
  olderThanMs: number,
  limit = 500,
): Promise<Claim[]> {
  if (!couponIds.length) return [];
  const [s, us] = await redis.time();
  const before = Number(s) * 1000 + Math.floor(Number(us) / 1000) - olderThanMs;
  // one command per coupon (each its own slot on a cluster), sent together
  const users = await Promise.all(
    couponIds.map((id) => redis.zrangebyscore(couponKeys(id).unpublished, "-inf", before, "LIMIT", 0, limit)),
  );
  const out: Claim[] = [];
  for (const [i, id] of couponIds.entries()) {
    const ids = users[i]!;
    if (!ids.length) continue;
    const values = await redis.hmget(couponKeys(id).claims, ...ids);
    const orphans = ids.filter((userId, j) => {
      const v = values[j];
      if (v) out.push(parseClaim(id, userId, v));
      return !v;
    });
    await markPublished(redis, id, orphans); // their claim is gone with its keys: nothing left to publish
  }
  return out;
}
