// Makes sure Postgres, Redis and NATS answer at their URLs: uses running servers, starts installed ones
// (data under .data/), or says exactly what to install.
import { existsSync, mkdirSync, readdirSync } from "node:fs";
import { connect } from "node:net";
import { join, resolve } from "node:path";
import postgres from "postgres";

export type Started = { name: string; proc: Bun.Subprocess };

export function reachable(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((done) => {
    const s = connect({ host, port });
    const end = (ok: boolean) => {
      s.destroy();
      done(ok);
    };
    s.setTimeout(timeoutMs, () => end(false));
    s.once("connect", () => end(true));
    s.once("error", () => end(false));
  });
}

async function waitUp(host: string, port: number, what: string, ms = 15_000) {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (await reachable(host, port)) return;
    await Bun.sleep(100);
  }
  throw new Error(`${what} did not come up on ${host}:${port}`);
}

const hostPort = (url: string, port: number) => {
  const u = new URL(url);
  return { host: u.hostname || "127.0.0.1", port: Number(u.port) || port };
};

export function which(bin: string, extra: string[] = []): string | undefined {
  const found = Bun.which(bin);
  if (found) return found;
  return extra.find((p) => existsSync(p));
}

/**
 * Redis holds the sale gates, coupon claims and rate-limit buckets, all with TTLs, beside the catalog cache.
 * So it runs with a memory limit and `noeviction`: an evicting policy, `volatile-*` included, could drop a
 * gate or a claim under memory pressure, while at the limit `noeviction` refuses writes and drops nothing.
 * The catalog cache is bounded by the edge (one key per product and two for the first page) and a refused
 * cache write only sends a read to Postgres; the limit itself is a guard for the machine.
 */
export const REDIS_MAXMEMORY = "256mb";

export async function ensureRedis(
  url: string,
  dataDir: string,
  maxmemory = REDIS_MAXMEMORY,
): Promise<Started | undefined> {
  const { host, port } = hostPort(url, 6379);
  if (await reachable(host, port)) return undefined;
  const bin = which("redis-server");
  if (!bin) throw new Error(`Redis is not running at ${url} and not installed: apt-get install redis-server`);
  const dir = resolve(dataDir, "redis");
  mkdirSync(dir, { recursive: true });
  const proc = Bun.spawn(
    [
      bin,
      "--bind",
      host,
      "--port",
      String(port),
      "--save",
      "",
      "--appendonly",
      "no",
      "--dir",
      dir,
      "--maxmemory",
      maxmemory,
      "--maxmemory-policy",
      "noeviction",
    ],
    { stdout: "ignore", stderr: "inherit" },
  );
  await waitUp(host, port, "redis-server");
  return { name: "redis", proc };
}

export async function ensureNats(url: string, dataDir: string): Promise<Started | undefined> {
  const { host, port } = hostPort(url, 4222);
  if (await reachable(host, port)) return undefined;
  const bin = which("nats-server", ["/usr/sbin/nats-server"]);
  if (!bin) throw new Error(`NATS is not running at ${url} and not installed: apt-get install nats-server`);
  const dir = resolve(dataDir, "nats");
  mkdirSync(dir, { recursive: true });
  const proc = Bun.spawn([bin, "-a", host, "-p", String(port), "-js", "-sd", dir], {
    stdout: "ignore",
    stderr: "ignore",
  });
  await waitUp(host, port, "nats-server");
  return { name: "nats", proc };
}

/** Postgres runs as its own system user, so it is started through the cluster tools when it is down. */
export async function ensurePostgres(url: string): Promise<void> {
  const { host, port } = hostPort(url, 5432);
  if (await reachable(host, port)) return;
  const ctl = which("pg_ctlcluster");
  const versions = existsSync("/etc/postgresql") ? readdirSync("/etc/postgresql") : [];
  if (!ctl || !versions.length)
    throw new Error(`PostgreSQL is not running at ${host}:${port} and not installed: apt-get install postgresql`);
  const r = Bun.spawnSync([ctl, "--skip-systemctl-redirect", versions.sort().at(-1)!, "main", "start"], {
    stderr: "pipe",
  });
  if (r.exitCode !== 0) throw new Error(`could not start PostgreSQL: ${r.stderr.toString()}`);
  await waitUp(host, port, "postgres");
}

/** Creates the URL's database when it does not exist (connecting to the `postgres` database). */
export async function ensureDatabase(url: string): Promise<void> {
  const u = new URL(url);
  const name = u.pathname.slice(1);
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`unsupported database name: ${name}`);
  u.pathname = "/postgres";
  const admin = postgres(u.toString(), { max: 1, onnotice: () => {} });
  try {
    const [row] = await admin`select 1 from pg_database where datname = ${name}`;
    if (!row) await admin.unsafe(`create database ${name}`);
  } finally {
    await admin.end();
  }
}

export async function dropDatabase(url: string): Promise<void> {
  const u = new URL(url);
  const name = u.pathname.slice(1);
  u.pathname = "/postgres";
  const admin = postgres(u.toString(), { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`drop database if exists ${name} with (force)`);
  } finally {
    await admin.end();
  }
}

export const dataDir = (root: string) => join(root, ".data");
