// Token buckets per identity on Redis (@upstash/ratelimit), shared by every edge.
//
// Leases: a busy identity does not cost a Redis round trip per request (from Bun, one costs the edge
// 50-250 us of CPU in socket writes, more than the rest of the chain). The edge takes several tokens from
// the Redis bucket in one call (the script's `rate`) and spends them locally; an identity's first lease
// is one token (so a quiet identity is limited exactly as before), and a lease doubles only while the
// identity comes back for more within half a lease's life, up to a tenth of the capacity (10 tokens for
// the default bucket of 100; never above 1,000). The next tokens are fetched when half of a lease is
// spent, so a busy identity does not wait on Redis either. Tokens are taken from Redis before they are
// spent, so all edges together never admit more than the bucket holds; a lease lapses after at most a
// second, and its unspent tokens (at most 1.5 leases) are lost, never spent late.
//
// When Redis is slow or down the edge keeps limiting with a local bucket of the same shape per instance
// (fail to local, never fail open), so a Redis outage neither blocks every shopper nor leaves the edge
// unprotected. After a failure Redis is left alone for a moment, so a hanging Redis costs one timeout,
// not one per request.
import { Ratelimit } from "@upstash/ratelimit";
import type { RedisClient } from "../../domain/redis";
import { upstashAdapter } from "./ioredis-adapter";

export type Decision = { success: boolean; limit: number; remaining: number; reset: number; degraded: boolean };
export type Bucket = { name: string; capacity: number; refillPerInterval: number; intervalS: number };

export type LimiterOptions = { timeoutMs: number; retryAfterMs: number; maxLease?: number; leaseMs?: number };
const DEFAULTS: LimiterOptions = { timeoutMs: 100, retryAfterMs: 1_000 };
const MAX_IDENTITIES = 50_000;

type Waiter = (d: Decision) => void;
/** Tokens this edge holds for one identity, and its Redis call in flight with the requests waiting on it. */
type Lease = {
  left: number;
  until: number;
  size: number;
  fetchedAt: number;
  remaining: number;
  reset: number;
  limit: number;
  fetching: boolean;
  queue: Waiter[];
};

function remember<V>(map: Map<string, V>, key: string, value: V) {
  if (map.size >= MAX_IDENTITIES && !map.has(key)) map.delete(map.keys().next().value!);
  map.set(key, value);
}

export function limiter(redis: RedisClient, bucket: Bucket, o: LimiterOptions = DEFAULTS) {
  const rl = new Ratelimit({
    redis: upstashAdapter(redis) as never,
    limiter: Ratelimit.tokenBucket(bucket.refillPerInterval, `${bucket.intervalS} s`, bucket.capacity),
    prefix: `rl:${bucket.name}`,
    // refusals are remembered below: the library's cache would also block after a refused lease
    ephemeralCache: false,
    timeout: 0,
    analytics: false,
  });
  const local = localBuckets(bucket);
  const maxLease = o.maxLease ?? Math.min(1_000, Math.max(1, Math.floor(bucket.capacity / 10)));
  const leaseMs = o.leaseMs ?? Math.min(1_000, bucket.intervalS * 1_000);
  const leases = new Map<string, Lease>();
  const refused = new Map<string, { reset: number; limit: number }>();
  let downUntil = 0;

  const spend = (l: Lease): Decision => {
    l.left--;
    return { success: true, limit: l.limit, remaining: l.remaining + l.left, reset: l.reset, degraded: false };
  };

  /** Takes tokens from Redis for one identity and serves its waiting requests, until none waits. */
  async function fetch(identity: string, l: Lease) {
    l.fetching = true;
    try {
      do {
        const now = Date.now();
        // fetched again soon after the last lease: a busy identity, so take more; otherwise fewer
        const grown = !l.fetchedAt ? 1 : now - l.fetchedAt < leaseMs / 2 ? l.size * 2 : l.size >> 1;
        const size = Math.min(maxLease, Math.max(1, grown, l.queue.length));
        let r = await withTimeout(rl.limit(identity, { rate: size }), o.timeoutMs);
        let got = size;
        if (!r.success && size > 1) {
          // fewer tokens left than the lease asked for: take them one at a time
          r = await withTimeout(rl.limit(identity), o.timeoutMs);
          got = 1;
        }
        if (!r.success) {
          l.left = 0;
          remember(refused, identity, { reset: r.reset, limit: r.limit });
          for (const w of l.queue.splice(0))
            w({ success: false, limit: r.limit, remaining: 0, reset: r.reset, degraded: false });
          return;
        }
        const fresh = Date.now();
        if (fresh >= l.until) l.left = 0; // unspent tokens of a lapsed lease are not spent late
        Object.assign(l, {
          left: l.left + got,
          until: fresh + leaseMs,
          size: got,
          fetchedAt: fresh,
          remaining: Math.max(0, r.remaining),
          reset: r.reset,
          limit: r.limit,
        });
        for (const w of l.queue.splice(0, l.left)) w(spend(l));
      } while (l.queue.length);
    } catch {
      downUntil = Date.now() + o.retryAfterMs;
      for (const w of l.queue.splice(0)) w({ ...local(identity), degraded: true });
    } finally {
      l.fetching = false;
    }
  }

  /** The decision; synchronous (no promise) when it needs no Redis call. */
  return function limit(identity: string): Decision | Promise<Decision> {
    const now = Date.now();
    let l = leases.get(identity);
    if (l && l.left > 0 && now < l.until) {
      const d = spend(l);
      // half spent: take the next tokens now, so a busy identity never waits on a Redis round trip
      if (l.left * 2 < l.size && !l.fetching && downUntil <= now) void fetch(identity, l);
      return d;
    }
    const no = refused.get(identity);
    if (no && no.reset > now)
      return { success: false, limit: no.limit, remaining: 0, reset: no.reset, degraded: false };
    if (downUntil > now) return { ...local(identity), degraded: true };
    if (!l) {
      l = {
        left: 0,
        until: 0,
        size: 0,
        fetchedAt: 0,
        remaining: 0,
        reset: 0,
        limit: bucket.capacity,
        fetching: false,
        queue: [],
      };
      remember(leases, identity, l);
    }
    const lease = l;
    return new Promise<Decision>((resolve) => {
      lease.queue.push(resolve);
      if (!lease.fetching) void fetch(identity, lease);
    });
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
      s = { tokens: b.capacity, at: now };
      buckets.set(identity, s);
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
