// A whole stack of its own, for tests and benches: private NATS and Redis servers on free ports (from the
// installed binaries), a fresh Postgres database, and every process of the stack as in `bun run up`.
import { appendFileSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { ensureStreams, jetstreamOf } from "../../nats";
import { startStack } from "../stack";
import { type Clusters, freeRedisPort, startClusters } from "./cluster";
import { edgeCount } from "./edges";
import { dropDatabase, ensureNats } from "./services";

export const root = join(import.meta.dir, "..", "..");
export const admin = { email: "admin@example.com", password: "Adm1n!pass" };

export function freePort(): number {
  const s = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = s.port;
  s.stop(true);
  return port;
}

export type PrivateStack = Awaited<ReturnType<typeof startStack>> & {
  env: Record<string, string>;
  metricsUrls: string[];
  edgePids(): number[];
  /** With `cluster`: the NATS and Redis clusters, whose nodes a test may kill. */
  clusters?: Clusters;
};

/**
 * `name` names the database (flashsale_<name>); `env` overrides settings; child output goes to `logFile`.
 * `cluster`: a 3-node NATS JetStream cluster and a Redis Cluster of 3 primaries and 3 replicas instead of one
 * server each, as `bun run up:cluster` runs them.
 * Without MAIL_URL in `env`, the stack's mail goes to a MailDev of its own on free ports (`mailWebUrl`).
 */
export async function startPrivateStack(o: {
  name: string;
  env?: Record<string, string>;
  replicas?: number;
  logFile: string;
  databaseUrl?: string;
  cluster?: boolean;
}): Promise<PrivateStack> {
  const data = mkdtempSync(join(tmpdir(), `flashsale-${o.name}-`));
  const [edge, gateway, redis, nats] = [freePort(), freePort(), freePort(), freePort()];
  let clusters: Clusters | undefined;
  if (o.cluster) {
    const redisPorts: number[] = [];
    for (let i = 0; i < 6; i++) redisPorts.push(await freeRedisPort(redisPorts));
    clusters = await startClusters({
      dataDir: join(data, "cluster"),
      natsPorts: [freePort(), freePort(), freePort()],
      routePorts: [freePort(), freePort(), freePort()],
      redisPorts,
    });
  }
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    DATABASE_URL: o.databaseUrl ?? `postgres://postgres@127.0.0.1:5432/flashsale_${o.name}`,
    REDIS_URL: `redis://127.0.0.1:${redis}`,
    NATS_URL: `nats://127.0.0.1:${nats}`,
    PORT: String(edge),
    GATEWAY_PORT: String(gateway),
    PAYMENT_GATEWAY_URL: `http://127.0.0.1:${gateway}`,
    GATEWAY_WEBHOOK_URL: `http://127.0.0.1:${edge}/v1/payments/webhook`,
    KEYS_DIR: join(data, "keys"),
    ...clusters?.env,
    // the links of its mails and its passkeys belong to its own edge
    PUBLIC_URL: `http://localhost:${edge}`,
    RP_ORIGIN: `http://localhost:${edge}`,
    ...o.env,
  };
  // each edge process's own metrics listener
  const metricsPorts = Array.from({ length: edgeCount(env) }, freePort);
  const mailDev = { smtpPort: freePort(), webPort: freePort() };
  const s = await (async () => {
    await dropDatabase(env.DATABASE_URL!);
    mkdirSync(join(root, ".data"), { recursive: true });
    rmSync(o.logFile, { force: true });
    return startStack({
      root,
      env,
      dataDir: data,
      admin,
      replicas: o.replicas,
      metricsPorts,
      servicesUp: !!clusters,
      mailDev,
      write: (line) => appendFileSync(o.logFile, line),
    });
  })().catch(async (err) => {
    // the clusters are this stack's own: none outlives a failed start
    await clusters?.stop();
    rmSync(data, { recursive: true, force: true });
    throw err;
  });
  return {
    ...s,
    env,
    clusters,
    metricsUrls: metricsPorts.map((p) => `http://127.0.0.1:${p}/metrics`),
    /** The edge processes running now (a restarted one has a new pid). */
    edgePids: () => [...s.supervisor.running].filter(([label]) => label.startsWith("edge")).map(([, p]) => p.pid),
    async stop() {
      await s.stop();
      await clusters?.stop();
      if (!o.databaseUrl) await dropDatabase(env.DATABASE_URL!);
      rmSync(data, { recursive: true, force: true });
    },
  };
}

/** A NATS server of its own on a free port (data in a temp folder), connected, with the streams ensured. */
export async function startPrivateNats(name: string) {
  const dir = mkdtempSync(join(tmpdir(), `flashsale-${name}-`));
  const url = `nats://127.0.0.1:${freePort()}`;
  const server = await ensureNats(url, dir);
  if (!server) throw new Error(`something already listens at ${url}`);
  const nc = await connect({ servers: url });
  await ensureStreams(await jetstreamManager(nc));
  return {
    url,
    nc,
    js: jetstreamOf(nc),
    proc: server.proc,
    async stop() {
      await nc.close();
      server.proc.kill();
      await server.proc.exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
export type PrivateNats = Awaited<ReturnType<typeof startPrivateNats>>;
