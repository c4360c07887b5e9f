// Token buckets per identity on Redis (@upstash/ratelimit). When Redis is slow or down the edge keeps
// limiting with a local bucket of the same shape per instance (fail to local, never fail open), so a
// Redis outage neither blocks every shopper nor leaves the edge unprotected. After a failure Redis is
// left alone for a moment, so a hanging Redis costs one timeout, not one per request.
import { Ratelimit } from "@upstash/ratelimit";
import type { Redis } from "ioredis";
import { upstashAdapter } from "./ioredis-adapter";

export type Decision = { success: boolean; limit: number; remaining: number; reset: number; degraded: boolean };
export type Bucket = { name: string; capacity: number; refillPerInterval: number; intervalS: number };

export type Degrade = { timeoutMs: number; retryAfterMs: number };
const DEGRADE: Degrade = { timeoutMs: 100, retryAfterMs: 1_000 };

export function limiter(redis: Redis, bucket: Bucket, degrade: Degrade = DEGRADE) {
  const window = `${bucket.intervalS} s` as const;
  const rl = new Ratelimit({
    redis: upstashAdapter(redis) as never,
    limiter: Ratelimit.tokenBucket(bucket.refillPerInterval, window, bucket.capacity),
    prefix: `rl:${bucket.name}`,
    ephemeralCache: new Map(),
    timeout: 0,
    analytics: false,
  });
  const local = localBuckets(bucket);

  let downUntil = 0;

  return async function limit(identity: string): Promise<Decision> {
    if (downUntil > Date.now()) return { ...local(identity), degraded: true };
    try {
      const r = await withTimeout(rl.limit(identity), degrade.timeoutMs);
      return { success: r.success, limit: r.limit, remaining: Math.max(0, r.remaining), reset: r.reset, degraded: false };
    } catch {
      downUntil = Date.now() + degrade.retryAfterMs;
      return { ...local(identity), degraded: true };
    }
  };
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: Timer;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error("rate limiter timeout")), ms))),
  ]).finally(() => clearTimeout(timer));
}

/** The same token bucket in process memory, bounded in size. */
export function localBuckets(b: Bucket, max = 50_000) {
  const buckets = new Map<string, { tokens: number; at: number }>();
  const intervalMs = b.intervalS * 1000;
  return (identity: string): Omit<Decision, "degraded"> => {
    const now = Date.now();
    let s = buckets.get(identity);
    if (!s) {
      if (buckets.size >= max) buckets.delete(buckets.keys().next().value!);
      buckets.set(identity, (s = { tokens: b.capacity, at: now }));
    }
    const refills = Math.floor((now - s.at) / intervalMs);
    if (refills > 0) {
      s.tokens = Math.min(b.capacity, s.tokens + refills * b.refillPerInterval);
      s.at += refills * intervalMs;
    }
    const reset = s.at + intervalMs;
    if (s.tokens < 1) return { success: false, limit: b.capacity, remaining: 0, reset };
    s.tokens -= 1;
    return { success: true, limit: b.capacity, remaining: s.tokens, reset };
  };
}
