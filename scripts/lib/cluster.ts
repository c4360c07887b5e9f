// Real clusters on one host, from the installed binaries: a NATS JetStream cluster (nodes joined by routes) and
// a Redis Cluster (primaries and replicas, made with `redis-cli --cluster create`). Used by `bun run up:cluster`
// and by the tests that kill nodes mid-sale. Every node listens on 127.0.0.1 only.
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { REDIS_MAXMEMORY, reachable } from "./services";

const HOST = "127.0.0.1";
/** How long a Redis primary may be silent before its replica takes over (the cluster's default is 15 s). */
export const REDIS_NODE_TIMEOUT_MS = 2_000;

/** A free port whose cluster bus port (+10000) is free and valid too, for a Redis Cluster node. */
export async function freeRedisPort(taken: number[] = []): Promise<number> {
  for (let i = 0; i < 100; i++) {
    const s = Bun.listen({ hostname: HOST, port: 0, socket: { data() {} } });
    const port = s.port;
    s.stop(true);
    if (port + 10_000 < 65_536 && !taken.includes(port) && !(await reachable(HOST, port + 10_000))) return port;
  }
  throw new Error("no free port pair for a Redis Cluster node");
}

export type Node = { port: number; proc: Bun.Subprocess; dir: string; start: () => Bun.Subprocess };

async function waitFor(what: string, check: () => Promise<boolean>, ms = 30_000) {
  const until = Date.now() + ms;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > until) throw new Error(`${what}: not ready within ${ms / 1000} s`);
    await Bun.sleep(200);
  }
}

async function refuseTaken(ports: number[]) {
  for (const port of ports)
    if (await reachable(HOST, port)) throw new Error(`something already listens on ${HOST}:${port}: stop it first`);
}

function which(bin: string, extra: string[] = []): string {
  const found = Bun.which(bin) ?? extra.find((p) => Bun.file(p).size > 0);
  if (!found)
    throw new Error(
      `${bin} is not installed: apt-get install ${bin.startsWith("redis") ? "redis-server redis-tools" : "nats-server"}`,
    );
  return found;
}

function node(port: number, dir: string, cmd: string[]): Node {
  const start = () => {
    const proc = Bun.spawn(cmd, { stdout: "ignore", stderr: "ignore" });
    n.proc = proc;
    return proc;
  };
  const n = { port, dir, start } as Node;
  start();
  return n;
}

async function stopAll(nodes: Node[]) {
  for (const n of nodes) n.proc.kill("SIGTERM");
  await Promise.all(nodes.map((n) => n.proc.exited));
}

/**
 * A JetStream cluster of `ports.length` nodes (routes on `routePorts`), data in `dataDir`/n<i>; kept between
 * starts. Resolves once JetStream answers (a meta leader is elected).
 */
export async function startNatsCluster(o: { dataDir: string; ports: number[]; routePorts: number[] }) {
  await refuseTaken([...o.ports, ...o.routePorts]);
  const bin = which("nats-server", ["/usr/sbin/nats-server"]);
  const routes = o.routePorts.map((p) => `nats-route://${HOST}:${p}`).join(", ");
  const nodes = o.ports.map((port, i) => {
    const dir = resolve(o.dataDir, `n${i + 1}`);
    mkdirSync(dir, { recursive: true });
    const conf = join(dir, "nats.conf");
    writeFileSync(
      conf,
      `server_name: n${i + 1}
listen: ${HOST}:${port}
log_file: "${join(dir, "nats.log")}"
jetstream { store_dir: "${join(dir, "js")}" }
cluster { name: flashsale, listen: ${HOST}:${o.routePorts[i]}, routes: [${routes}] }
`,
    );
    return node(port, dir, [bin, "-c", conf]);
  });
  const url = o.ports.map((p) => `nats://${HOST}:${p}`).join(",");
  try {
    await waitFor("NATS cluster", async () => {
      const nc = await connect({ servers: url.split(","), timeout: 1_000 });
      try {
        await (await jetstreamManager(nc)).getAccountInfo();
        return true;
      } finally {
        await nc.close();
      }
    });
  } catch (err) {
    await stopAll(nodes);
    throw err;
  }
  return { url, nodes, stop: () => stopAll(nodes) };
}

/**
 * A Redis Cluster: the first third of `ports` primaries at first, each with replicas among the rest. Redis keeps
 * no data on disk here (gates and claims come back from Postgres), so every start makes the cluster afresh.
 */
export async function startRedisCluster(o: { dataDir: string; ports: number[]; replicas?: number }) {
  await refuseTaken([...o.ports, ...o.ports.map((p) => p + 10_000)]);
  const bin = which("redis-server");
  const cli = which("redis-cli");
  rmSync(o.dataDir, { recursive: true, force: true });
  const nodes = o.ports.map((port) => {
    const dir = resolve(o.dataDir, String(port));
    mkdirSync(dir, { recursive: true });
    const args = [
      "--bind",
      HOST,
      "--port",
      String(port),
      "--dir",
      dir,
      "--cluster-enabled",
      "yes",
      "--cluster-config-file",
      "nodes.conf",
      "--logfile",
      join(dir, "redis.log"),
    ];
    const settings = [
      "--cluster-node-timeout",
      String(REDIS_NODE_TIMEOUT_MS),
      "--save",
      "",
      "--appendonly",
      "no",
      "--maxmemory",
      REDIS_MAXMEMORY,
      "--maxmemory-policy",
      "noeviction",
    ];
    return node(port, dir, [bin, ...args, ...settings]);
  });
  const ask = async (port: number, ...args: string[]) => {
    const r = Bun.spawn([cli, "-h", HOST, "-p", String(port), ...args], { stdout: "pipe", stderr: "pipe" });
    const [out, code] = [await new Response(r.stdout).text(), await r.exited];
    if (code !== 0) throw new Error(`redis-cli ${args.join(" ")}: ${await new Response(r.stderr).text()}`);
    return out;
  };
  try {
    await waitFor("Redis nodes", async () =>
      (await Promise.all(o.ports.map((p) => reachable(HOST, p)))).every(Boolean),
    );
    const create = Bun.spawn(
      [
        cli,
        "--cluster",
        "create",
        ...o.ports.map((p) => `${HOST}:${p}`),
        "--cluster-replicas",
        String(o.replicas ?? 1),
        "--cluster-yes",
      ],
      {
        stdout: "pipe",
        stderr: "pipe",
      },
    );
    if ((await create.exited) !== 0)
      throw new Error(
        `redis-cli --cluster create failed: ${await new Response(create.stdout).text()}${await new Response(create.stderr).text()}`,
      );
    await waitFor("Redis Cluster", async () =>
      (await Promise.all(o.ports.map((p) => ask(p, "cluster", "info")))).every((i) => i.includes("cluster_state:ok")),
    );
  } catch (err) {
    await stopAll(nodes);
    throw err;
  }
  return {
    nodes: o.ports.map((p) => `${HOST}:${p}`).join(","),
    procs: nodes,
    /** The port of the primary that serves `key`'s slot now. */
    async primaryOf(key: string): Promise<number> {
      for (const n of nodes) {
        if (n.proc.exitCode !== null || n.proc.signalCode) continue;
        const slot = Number((await ask(n.port, "cluster", "keyslot", key)).trim());
        for (const line of (await ask(n.port, "cluster", "nodes")).split("\n")) {
          const [, addr, flags, , , , , state, ...ranges] = line.split(" ");
          if (!flags?.includes("master") || flags.includes("fail") || state !== "connected") continue;
          for (const r of ranges) {
            const [a, b] = r.split("-").map(Number);
            if (slot >= a! && slot <= (b ?? a)!) return Number(addr!.split("@")[0]!.split(":")[1]);
          }
        }
      }
      throw new Error(`no live primary serves ${key}`);
    },
    /** redis-cli against one node. */
    cli: ask,
    /** The ports of the replicas of the primary on `port`. */
    async replicasOf(port: number): Promise<number[]> {
      const live = nodes.find((n) => n.proc.exitCode === null && !n.proc.signalCode && n.port !== port)!;
      const lines = (await ask(live.port, "cluster", "nodes")).split("\n").map((l) => l.split(" "));
      const primary = lines.find((f) => f[1]?.split("@")[0] === `${HOST}:${port}`)?.[0];
      return lines
        .filter((f) => f[2]?.includes("slave") && f[3] === primary)
        .map((f) => Number(f[1]!.split("@")[0]!.split(":")[1]));
    },
    stop: () => stopAll(nodes),
  };
}
export type RedisCluster = Awaited<ReturnType<typeof startRedisCluster>>;
export type NatsCluster = Awaited<ReturnType<typeof startNatsCluster>>;

/** Both clusters, and the settings that point the stack's processes at them. */
export async function startClusters(o: {
  dataDir: string;
  natsPorts: number[];
  routePorts: number[];
  redisPorts: number[];
}) {
  const nats = await startNatsCluster({
    dataDir: join(o.dataDir, "nats"),
    ports: o.natsPorts,
    routePorts: o.routePorts,
  });
  const redis = await startRedisCluster({ dataDir: join(o.dataDir, "redis"), ports: o.redisPorts }).catch(
    async (err) => {
      await nats.stop();
      throw err;
    },
  );
  return {
    nats,
    redis,
    env: {
      NATS_URL: nats.url,
      REDIS_CLUSTER_NODES: redis.nodes,
      STREAM_REPLICAS: String(Math.min(3, o.natsPorts.length)),
    },
    async stop() {
      await Promise.all([nats.stop(), redis.stop()]);
    },
  };
}
export type Clusters = Awaited<ReturnType<typeof startClusters>>;
