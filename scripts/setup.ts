// Prepares the data services for the stack: database, migrations, streams and consumers, demo data.
// `bun scripts/setup.ts` runs it alone (the compose `migrate` job); `bun run up` runs it before starting.
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { createDb, runMigrations } from "../db";
import { defaults as shared } from "../domain/config";
import { ensureStreams, natsServers } from "../nats";
import { ensureDatabase } from "./lib/services";
import { seed } from "./seed";

/** STREAM_REPLICAS: copies of each JetStream stream (3 on a NATS cluster; 1, the default, on one server). */
export type SetupEnv = {
  DATABASE_URL: string;
  NATS_URL: string;
  STREAM_REPLICAS?: string;
  admin: { email: string; password: string };
};

export async function setup(e: SetupEnv) {
  await ensureDatabase(e.DATABASE_URL);
  await runMigrations(e.DATABASE_URL);
  const nc = await connect({ servers: natsServers(e.NATS_URL) });
  await ensureStreams(await jetstreamManager(nc), { replicas: replicasOf(e.STREAM_REPLICAS) });
  await nc.close();
  const db = createDb(e.DATABASE_URL, { max: 2 });
  const seeded = await seed(db, e.admin);
  await db.$client.end();
  return seeded;
}

function replicasOf(v: string | undefined): number {
  const n = Number(v || 1);
  if (!Number.isInteger(n) || n < 1 || n > 5) throw new Error(`STREAM_REPLICAS must be 1 to 5, not ${v}`);
  return n;
}

export const defaults = {
  DATABASE_URL: shared.DATABASE_URL,
  REDIS_URL: shared.REDIS_URL,
  NATS_URL: shared.NATS_URL,
  PORT: "3000",
  ADMIN_EMAIL: "admin@example.com",
  ADMIN_PASSWORD: "Adm1n!pass",
};

if (import.meta.main) {
  const env: Record<string, string | undefined> & typeof defaults = { ...defaults, ...process.env };
  await setup({
    DATABASE_URL: env.DATABASE_URL,
    NATS_URL: env.NATS_URL,
    STREAM_REPLICAS: env.STREAM_REPLICAS,
    admin: { email: env.ADMIN_EMAIL, password: env.ADMIN_PASSWORD },
  });
  console.log("setup done: migrations, streams, demo data");
}
