import { describe, expect, test } from "bun:test";
import { Cluster, Redis } from "ioredis";
import { clusterSeeds, createRedis, isCluster, redisUnavailable } from "./client";

describe("the Redis factory", () => {
  test("REDIS_CLUSTER_NODES: host:port seeds, a bad one named", () => {
    expect(clusterSeeds(" 127.0.0.1:7001,redis://10.0.0.2:7002 ,, [::1]:7003")).toEqual([
      { host: "127.0.0.1", port: 7001 },
      { host: "10.0.0.2", port: 7002 },
      { host: "::1", port: 7003 },
    ]);
    expect(() => clusterSeeds("127.0.0.1")).toThrow('"127.0.0.1" is not host:port');
  });

  test("the cluster client only when seeds are given", () => {
    const one = createRedis({ url: "redis://127.0.0.1:1" }, { failFast: true });
    const many = createRedis({ url: "redis://127.0.0.1:1", clusterNodes: "127.0.0.1:1,127.0.0.1:2" });
    try {
      expect(one).toBeInstanceOf(Redis);
      expect(isCluster(one)).toBe(false);
      expect(one.options.enableOfflineQueue).toBe(false);
      expect(many).toBeInstanceOf(Cluster);
      expect(isCluster(many)).toBe(true);
    } finally {
      one.disconnect();
      many.disconnect();
    }
  });

  test("what counts as Redis out of reach: worth a retry, not an internal error", () => {
    for (const m of [
      "Connection is closed.",
      "CLUSTERDOWN The cluster is down",
      "TRYAGAIN Multiple keys request during rehashing of slot",
      "Too many Cluster redirections. Last error: x",
      "READONLY You can't write against a read only replica.",
    ])
      expect(redisUnavailable(new Error(m))).toBe(true);
    for (const m of [
      "ERR wrong number of arguments",
      "WRONGTYPE Operation against a key holding the wrong kind of value",
      "boom",
    ])
      expect(redisUnavailable(new Error(m))).toBe(false);
    expect(redisUnavailable("Connection is closed.")).toBe(false);
  });
});
