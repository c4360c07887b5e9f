// The one way every process reaches Redis: one server (REDIS_URL), or a Redis Cluster (REDIS_CLUSTER_NODES, seeds
// "host:port,host:port") through ioredis's cluster client, which follows MOVED and ASK redirections, refreshes its
// slot map and retries a command through a primary's failover before giving up. Multi-key scripts and pipelines
// keep their keys under one hash tag ({id}), so each lands in one slot.
import { Cluster, Redis } from "ioredis";

export type RedisClient = Redis | Cluster;

/** A failover (node timeout plus election) takes a few seconds: a command is retried this often, this many times. */
const RETRY_DELAY_MS = 200;
const MAX_REDIRECTIONS = 16;
/** A cluster node's connection, and a reload of the slot map, given up after this long. */
const CLUSTER_CONNECT_TIMEOUT_MS = 2_000;

export type RedisSettings = { url: string; clusterNodes?: string };
/**
 * `failFast`: refuse a command at once while a server is unreachable (the edge, which answers 503 and lets the
 * client retry) instead of queueing it until the connection is back (the actors' background loops).
 */
export type RedisUse = { failFast?: boolean; autoPipelining?: boolean };

export function clusterSeeds(nodes: string): { host: string; port: number }[] {
  return nodes
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => {
      const m = /^(?:redis:\/\/)?\[?([^\]]+?)\]?:(\d+)$/.exec(s);
      if (!m) throw new Error(`REDIS_CLUSTER_NODES: "${s}" is not host:port`);
      return { host: m[1]!, port: Number(m[2]) };
    });
}

export function createRedis(s: RedisSettings, use: RedisUse = {}): RedisClient {
  const perCommand = use.failFast ? { maxRetriesPerRequest: 1 } : { maxRetriesPerRequest: 2 };
  if (!s.clusterNodes)
    return new Redis(s.url, {
      ...perCommand,
      enableOfflineQueue: !use.failFast,
      enableAutoPipelining: use.autoPipelining ?? false,
    });
  return new Cluster(clusterSeeds(s.clusterNodes), {
    enableAutoPipelining: use.autoPipelining ?? false,
    // the edge too keeps commands while the slot map is (re)loaded: the retries below bound how long
    enableOfflineQueue: true,
    retryDelayOnFailover: RETRY_DELAY_MS,
    retryDelayOnClusterDown: RETRY_DELAY_MS,
    retryDelayOnTryAgain: RETRY_DELAY_MS,
    maxRedirections: MAX_REDIRECTIONS,
    slotsRefreshTimeout: CLUSTER_CONNECT_TIMEOUT_MS,
    redisOptions: { ...perCommand, connectTimeout: CLUSTER_CONNECT_TIMEOUT_MS },
  });
}

export const isCluster = (r: RedisClient): r is Cluster => r instanceof Cluster;

const UNAVAILABLE =
  /^(CLUSTERDOWN|TRYAGAIN|READONLY|LOADING|MASTERDOWN|MOVED|ASK) |Connection is closed|enableOfflineQueue|Too many Cluster redirections|Failed to refresh slots cache|None of startup nodes is available|Cluster is ended|ECONNREFUSED|ECONNRESET|ETIMEDOUT|Command timed out|max retries per request|MaxRetriesPerRequest/i;

/** Whether an error means Redis (or one of its nodes) could not be reached for now: worth a 503 and a retry. */
export function redisUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  return (
    err.name === "MaxRetriesPerRequestError" || err.name === "ClusterAllFailedError" || UNAVAILABLE.test(err.message)
  );
}
