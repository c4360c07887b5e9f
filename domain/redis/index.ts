export {
  clusterSeeds,
  createRedis,
  isCluster,
  type RedisClient,
  type RedisSettings,
  type RedisUse,
  redisUnavailable,
} from "./client";
export { luaScript, type Script } from "./script";
