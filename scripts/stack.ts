// The whole local stack as one call: services, migrations, streams, demo data, then the edge, every
// actor kind and the payment-gateway simulator as supervised children. Used by `bun run up` and the tests.
import { ensureNats, ensurePostgres, ensureRedis, type Started } from "./lib/services";
import { setup } from "./setup";
import { edgeSpecs } from "./lib/edges";
import { supervise, type ProcSpec } from "./lib/supervise";

export type StackOptions = {
  root: string;
  env: Record<string, string | undefined>;
  dataDir: string;
  admin: { email: string; password: string };
  replicas?: number;
  /** One internal metrics port per edge process (else METRICS_PORT + i when set). */
  metricsPorts?: number[];
  write?: (line: string, isErr: boolean) => void;
};

export const actorKinds = ["order", "inventory", "payment", "notification", "coupon", "gate"] as const;

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
  for (const s of [await ensureRedis(env.REDIS_URL!, o.dataDir), await ensureNats(env.NATS_URL!, o.dataDir)]) if (s) started.push(s);

  const seeded = await setup({ DATABASE_URL, NATS_URL: env.NATS_URL!, admin: o.admin });

  const bun = process.execPath;
  const specs: ProcSpec[] = [
    { label: "gateway", cmd: [bun, "actors/main.ts", "gateway"] },
    ...edgeSpecs(env, o.metricsPorts),
  ];
  const nice = actorNice(env);
  for (const kind of actorKinds)
    for (let i = 1; i <= (o.replicas ?? 1); i++)
      specs.push({ label: o.replicas && o.replicas > 1 ? `${kind}-${i}` : kind, cmd: [bun, "actors/main.ts", kind], nice });
  const sup = supervise(specs, { cwd: o.root, env, write: o.write });

  const edgeUrl = `http://127.0.0.1:${env.PORT}`;
  const until = Date.now() + 30_000;
  for (;;) {
    const ok = await fetch(`${edgeUrl}/readyz`).then((r) => r.ok, () => false);
    if (ok) break;
    if (Date.now() > until) {
      await sup.stop();
      throw new Error("the edge did not become ready within 30 s");
    }
    await Bun.sleep(100);
  }

  return {
    edgeUrl,
    demoSaleId: seeded.saleId,
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
