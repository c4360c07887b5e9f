// `bun run up:cluster`: the stack on real clusters on this one host, in the foreground. A 3-node NATS JetStream
// cluster (client ports 4231-4233, routes 6231-6233, every stream replicated 3 times), a Redis Cluster of 3
// primaries and 3 replicas (7001-7006), two edge processes and two of each actor; data under .data/cluster/
// (its own database, flashsale_cluster, unless DATABASE_URL says otherwise). Ctrl-C stops it all.
import { join } from "node:path";
import { startClusters } from "./lib/cluster";
import { edgeSpecs } from "./lib/edges";
import { stopOnExit } from "./lib/supervise";
import { demo } from "./seed";
import { defaults } from "./setup";
import { actorKinds, startStack } from "./stack";

const root = join(import.meta.dir, "..");
const dataDir = join(root, ".data", "cluster");
const NATS_PORTS = [4231, 4232, 4233];
const ROUTE_PORTS = [6231, 6232, 6233];
const REDIS_PORTS = [7001, 7002, 7003, 7004, 7005, 7006];
const REPLICAS = 2;

const env: Record<string, string | undefined> = {
  ...defaults,
  DATABASE_URL: "postgres://postgres@127.0.0.1:5432/flashsale_cluster",
  EDGE_PROCESSES: "2",
  METRICS_PORT: "9464",
  ...process.env,
};
env.GATEWAY_WEBHOOK_URL ??= `http://127.0.0.1:${env.PORT}/v1/payments/webhook`;
const admin = { email: env.ADMIN_EMAIL!, password: env.ADMIN_PASSWORD! };

console.log("starting the NATS and Redis clusters...");
const clusters = await startClusters({
  dataDir,
  natsPorts: NATS_PORTS,
  routePorts: ROUTE_PORTS,
  redisPorts: REDIS_PORTS,
}).catch((err) => {
  console.error(`could not start the clusters: ${err instanceof Error ? err.message : err}`);
  process.exit(1);
});
Object.assign(env, clusters.env);

try {
  const stack = await startStack({ root, env, dataDir, admin, replicas: REPLICAS, servicesUp: true });
  const edges = edgeSpecs(env);
  const pids = (prefix: string) =>
    [...stack.supervisor.running]
      .filter(([label]) => label.startsWith(prefix))
      .map(([label, p]) => `${label} ${p.pid}`)
      .join(", ");
  const roles = await Promise.all(
    REDIS_PORTS.map(async (p) => `${p} ${(await clusters.redis.cli(p, "role")).split("\n")[0]}`),
  );
  console.log(`
  flashsale is up on clusters (this host)
    edge      ${stack.edgeUrl}   ${edges.length} processes on one port: ${pids("edge")}
    metrics   ${edges.map((e) => `http://${env.METRICS_HOST ?? "127.0.0.1"}:${e.env!.METRICS_PORT}/metrics`).join("  ")}
    actors    ${actorKinds.map((k) => pids(`${k}-`)).join("; ")}; gateway ${stack.supervisor.running.get("gateway")?.pid}
    nats      ${clusters.nats.nodes.map((n, i) => `n${i + 1} ${n.port} (pid ${n.proc.pid})`).join(", ")}; streams x${env.STREAM_REPLICAS}
    redis     ${roles.map((r, i) => `${r} (pid ${clusters.redis.procs[i]!.proc.pid})`).join(", ")}
    postgres  ${env.DATABASE_URL}
    data      ${dataDir}
  flash sale  ${stack.edgeUrl}/v1/sales/${stack.demoSaleId}  (buy: POST .../purchase as the shopper)
  demo accounts
    admin     ${admin.email} / ${admin.password}
    seller    ${demo.seller.email} / ${demo.seller.password}
    shopper   ${demo.shopper.email} / ${demo.shopper.password}
  Ctrl-C stops everything.
`);
  stopOnExit(async () => {
    await stack.stop();
    await clusters.stop();
  });
} catch (err) {
  console.error(`could not start the stack: ${err instanceof Error ? err.message : err}`);
  await clusters.stop();
  process.exit(1);
}
