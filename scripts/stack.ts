// The whole local stack as one call: services, migrations, streams, demo data, then the edge, every
// actor kind and the payment-gateway simulator as supervised children. Used by `bun run up` and the tests.

import { type JetStreamManager, jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { type ConsumerSpec, consumers } from "../nats";
import { edgeSpecs } from "./lib/edges";
import { ensureMailDev } from "./lib/maildev";
import { ensureNats, ensurePostgres, ensureRedis, type Started } from "./lib/services";
import { type ProcSpec, supervise } from "./lib/supervise";
import { setup } from "./setup";

/** Whether each of these durable consumers has a pull waiting (its actor consumes). */
async function actorsConsuming(jsm: JetStreamManager, specs: readonly ConsumerSpec[]): Promise<boolean> {
  for (const c of specs) {
    const info = await jsm.consumers.info(c.stream, c.durable).catch(() => undefined);
    if (!info?.num_waiting) return false;
  }
  return true;
}

export type StackOptions = {
  root: string;
  env: Record<string, string | undefined>;
  dataDir: string;
  admin: { email: string; password: string };
  replicas?: number;
  /** NATS and Redis are the caller's (clusters: scripts/lib/cluster.ts), already up at the env's addresses. */
  servicesUp?: boolean;
  /** MailDev's ports, used when env has no MAIL_URL (default 1025 and 1080). */
  mailDev?: { smtpPort: number; webPort: number };
  /** One internal metrics port per edge process (else METRICS_PORT + i when set). */
  metricsPorts?: number[];
  write?: (line: string, isErr: boolean) => void;
};

export const actorKinds = ["order", "inventory", "payment", "notification", "coupon", "gate", "popularity"] as const;

/**
 * The actors yield the CPU to the edges (ACTOR_NICE, 10 by default): in a spike the answers come first, and the
 * saga, durable in JetStream, catches up as soon as the edges leave a core free.
 */
export const actorNice = (env: Record<string, string | undefined>) => Number(env.ACTOR_NICE ?? 10);

export async function startStack(o: StackOptions) {
  const env = o.env;
  const DATABASE_URL = env.DATABASE_URL!;
  const started: Started[] = [];
  await ensurePostgres(DATABASE_URL);
  if (!o.servicesUp)
    for (const s of [await ensureRedis(env.REDIS_URL!, o.dataDir), await ensureNats(env.NATS_URL!, o.dataDir)])
      if (s) started.push(s);
  // no mail server of its own: MailDev keeps the stack's mail, readable in a browser and through its REST API
  let mailWebUrl: string | undefined;
  if (!env.MAIL_URL) {
    const m = await ensureMailDev({
      root: o.root,
      dataDir: o.dataDir,
      ...(o.mailDev ?? { smtpPort: 1025, webPort: 1080 }),
    });
    if (m.started) started.push(m.started);
    env.MAIL_URL = m.smtpUrl;
    mailWebUrl = m.webUrl;
  }

  const seeded = await setup({
    DATABASE_URL,
    NATS_URL: env.NATS_URL!,
    STREAM_REPLICAS: env.STREAM_REPLICAS,
    admin: o.admin,
  });

  const bun = process.execPath;
  const specs: ProcSpec[] = [
    { label: "gateway", cmd: [bun, "actors/main.ts", "gateway"] },
    ...edgeSpecs(env, o.metricsPorts),
  ];
  const nice = actorNice(env);
  for (const kind of actorKinds)
    for (let i = 1; i <= (o.replicas ?? 1); i++)
      specs.push({
        label: o.replicas && o.replicas > 1 ? `${kind}-${i}` : kind,
        cmd: [bun, "actors/main.ts", kind],
        nice,
      });
  const sup = supervise(specs, { cwd: o.root, env, write: o.write });

  const edgeUrl = `http://127.0.0.1:${env.PORT}`;
  const until = Date.now() + 30_000;
  // ready: the edge answers /readyz and every actor consumes (each durable consumer has a pull waiting), so a
  // request sent at once is not left in a stream for an actor still starting
  const nc = await connect({ servers: env.NATS_URL!.split(",") });
  try {
    const jsm = await jetstreamManager(nc);
    const waiting = actorKinds.flatMap((kind): readonly ConsumerSpec[] => consumers[kind]);
    for (;;) {
      const edgeReady = await fetch(`${edgeUrl}/readyz`).then(
        (r) => r.ok,
        () => false,
      );
      if (edgeReady && (await actorsConsuming(jsm, waiting))) break;
      if (Date.now() > until) {
        await sup.stop();
        throw new Error("the stack did not become ready within 30 s");
      }
      await Bun.sleep(100);
    }
  } finally {
    await nc.close();
  }

  return {
    edgeUrl,
    demoSaleId: seeded.saleId,
    /** MailDev's web page and REST API (GET /email), when the stack started it. */
    mailWebUrl,
    supervisor: sup,
    async stop() {
      await sup.stop();
      for (const s of started) {
        s.proc.kill("SIGTERM");
        await s.proc.exited;
      }
    },
  };
}
