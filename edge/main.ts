// Starts one edge process: `bun edge/main.ts`. Several share a port (`bun run edge` starts one per core), and
// more hosts scale out behind a load balancer.
import { createDb } from "../db";
import { gatewayClient } from "../domain/payment";
import { createRedis, isCluster } from "../domain/redis";
import { connectBus, logger, startOpsTick } from "../nats";
import { createApp } from "./app";
import { devKeyRing, keyRing } from "./auth/keys";
import { followRevocations } from "./auth/revocations";
import { tokenService } from "./auth/tokens";
import { loadConfig, warnings } from "./config";
import { createMetrics } from "./metrics";
import { serveMetrics } from "./ops/health";
import { opsStats } from "./ops/stats";

const config = loadConfig();
const log = logger({ proc: "edge", pid: process.pid }, config.LOG_LEVEL);
for (const w of warnings(config)) log.warn(w);
const keys = config.JWT_PRIVATE_JWK
  ? await keyRing(
      JSON.parse(config.JWT_PRIVATE_JWK),
      config.JWT_EXTRA_PUBLIC_JWKS ? JSON.parse(config.JWT_EXTRA_PUBLIC_JWKS) : [],
    )
  : await devKeyRing(config.KEYS_DIR);
const tokens = tokenService(keys, {
  issuer: config.JWT_ISSUER,
  ttlS: config.ACCESS_TOKEN_TTL_S,
  // a development key rotated by `bun run keys:rotate` (or another edge) is picked up when first seen
  reload: config.JWT_PRIVATE_JWK ? undefined : () => devKeyRing(config.KEYS_DIR),
});
const db = createDb(config.DATABASE_URL, { max: 16 });
const redis = createRedis(
  { url: config.REDIS_URL, clusterNodes: config.REDIS_CLUSTER_NODES },
  { failFast: true, autoPipelining: true },
);
redis.on("error", (err) => log.warn("redis", { err: err.message }));
// gates, claims and buckets carry TTLs: any evicting policy (volatile-* too) may drop them when Redis fills up;
// without a limit, nothing guards the machine's memory
// (asked once connected: with no offline queue, a command sent before that fails at once)
redis.once(
  "ready",
  () =>
    // (on a cluster each node has its own settings: the cluster script sets them alike)
    !isCluster(redis) &&
    redis.config("GET", "maxmemory*").then(
      (r) => {
        const c = new Map<string, string>();
        for (let i = 0; i + 1 < (r as string[]).length; i += 2) c.set((r as string[])[i]!, (r as string[])[i + 1]!);
        const policy = c.get("maxmemory-policy");
        if (policy && policy !== "noeviction")
          log.warn(
            "redis may evict sale gates, coupon claims and rate limits: run it with --maxmemory-policy noeviction",
            { policy },
          );
        if (c.get("maxmemory") === "0")
          log.warn("redis has no memory limit: run it with --maxmemory (e.g. 256mb) and --maxmemory-policy noeviction");
      },
      () => {}, // CONFIG may be disabled (managed Redis): nothing to check then
    ),
);
const bus = await connectBus(config.NATS_URL, "edge");
const metrics = createMetrics();
const gateway = gatewayClient(config.PAYMENT_GATEWAY_URL, config.PAYMENT_GATEWAY_TIMEOUT_MS);
metrics.gauge("circuit_breaker_open", () => [
  [{ name: gateway.breaker.name }, gateway.breaker.state() === "closed" ? 0 : 1],
]);

const { sub, loaded } = await followRevocations(bus, db, tokens);
log.info("revocations loaded", { count: loaded });
const prune = setInterval(() => tokens.prune(), 60_000);

const stats = opsStats();
const stopTick = startOpsTick(bus.nc, "edge", () => ({
  ...stats.take(),
  breakers: [{ name: gateway.breaker.name, state: gateway.breaker.state() }],
}));

const app = createApp({ config, db, redis, bus, tokens, metrics, log, gateway, stats });
// reusePort: several edge processes share the port and the kernel spreads connections over them (only when asked:
// otherwise a port already taken, by a leftover edge say, stops the start instead of sharing the traffic)
const server = Bun.serve({
  port: config.PORT,
  hostname: config.HOST,
  fetch: app.fetch,
  idleTimeout: 30,
  reusePort: config.REUSE_PORT,
});
log.info("edge listening", { url: `http://${config.HOST}:${server.port}` });
const metricsServer =
  config.METRICS_PORT === undefined
    ? undefined
    : serveMetrics(metrics, { port: config.METRICS_PORT, hostname: config.METRICS_HOST });
if (metricsServer)
  log.info("metrics listening", { url: `http://${config.METRICS_HOST}:${metricsServer.port}/metrics` });

let stopping = false;
async function shutdown() {
  if (stopping) return;
  stopping = true;
  log.info("stopping: finishing in-flight requests");
  clearInterval(prune);
  stopTick();
  await server.stop();
  metricsServer?.stop();
  sub.unsubscribe();
  await bus.nc.drain();
  redis.disconnect();
  await db.$client.end({ timeout: 5 });
  process.exit(0);
}
process.on("SIGINT", shutdown);
process.on("SIGTERM", shutdown);
