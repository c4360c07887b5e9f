export { luaScript, type Script } from "./script";
export { clusterSeeds, createRedis, isCluster, redisUnavailable, type RedisClient, type RedisSettings, type RedisUse } from "./client";
