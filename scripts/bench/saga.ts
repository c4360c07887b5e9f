// `bun run bench:saga`: places N orders straight into the pipeline (orders.cmd.place on JetStream, as the
// flash-sale gate does), with mixed payment outcomes, and waits until every one is CONFIRMED or CANCELLED.
// In the same run it measures the messaging floor (the same orders' messages moved with no work in between) and
// reports settled orders/s and CPU per order against it; beside it, the machine's own rate of naive saga
// transactions (inbox insert + snapshot upsert + outbox insert, one message per transaction, several clients) on
// the same Postgres. Writes scripts/bench/results/saga.{md,json}.

import { mkdirSync, writeFileSync } from "node:fs";
import { availableParallelism, loadavg } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { connect } from "@nats-io/transport-node";
import { sql } from "drizzle-orm";
import { loadConfig } from "../../actors/config";
import { createDb, products, runMigrations, stock } from "../../db";
import { type Data, type Envelope, envelope, jetstreamOf, publishEnvelope, uuidv7 } from "../../nats";
import { root, startPrivateStack } from "../lib/private-stack";
import { dropDatabase, ensureDatabase } from "../lib/services";
import { actorNice } from "../stack";
import { cpuOf, cpuStat, pidsByCommand, processCpu, stealSince } from "./lib/cpu";
import { placedToConfirmed } from "./lib/latency";
import { messagingFloor, naiveSagaTx } from "./lib/limits";

const { values: a } = parseArgs({
  options: {
    orders: { type: "string", default: "10000" },
    /** Share of orders paid with card_declined; PAYMENT_FAILURE_RATE declines more at random. */
    declined: { type: "string", default: "0.1" },
    "failure-rate": { type: "string", default: "0.1" },
    /** Share of orders for a product that runs out on the way (OUT_OF_STOCK). */
    scarce: { type: "string", default: "0.05" },
    "limit-seconds": { type: "string", default: "8" },
    clients: { type: "string", default: "8" },
    "timeout-seconds": { type: "string", default: "150" },
    out: { type: "string", default: join(root, "scripts/bench/results") },
  },
});
const n = (k: keyof typeof a) => Number(a[k]);
const log = (msg: string) => console.error(`[bench:saga] ${msg}`);
const N = n("orders");
const FLOOR_RUNS = 3;

/**
 * CPU seconds used so far by each of the stack's processes and by its own data services: its private NATS and
 * Redis servers, and the Postgres backends of its database's connections (`pgPids`, by pid: a backend that is
 * new counts from zero). The Postgres server's shared background processes are not counted: the server is
 * shared with whatever else runs on the machine.
 */
function cpuByProcess(
  procs: Map<string, Bun.Subprocess>,
  services: { nats: number[]; redis: number[]; pg: number[] },
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [label, p] of procs) {
    const c = processCpu(p.pid);
    if (c) out[label] = c.seconds;
  }
  out.nats = cpuOf(services.nats);
  out.redis = cpuOf(services.redis);
  for (const pid of services.pg) out[`pg:${pid}`] = cpuOf([pid]);
  return out;
}

// naive transactions first on a database of their own (the stack's is made afresh below), then the pipeline,
// then naive transactions again with the stack stopped: A B A, so a phase that lost CPU shows
const naiveUrl = "postgres://postgres@127.0.0.1:5432/flashsale_bench_saga_naive";
await dropDatabase(naiveUrl);
await ensureDatabase(naiveUrl);
await runMigrations(naiveUrl);
const cpuA = cpuStat();
const naiveBefore = await naiveSagaTx(naiveUrl, n("limit-seconds"), n("clients"));
const naiveBeforeSteal = stealSince(cpuA);
await dropDatabase(naiveUrl);
log(
  `naive saga transactions before: ${naiveBefore.toFixed(0)} tx/s (${a.clients} clients, steal ${naiveBeforeSteal.toFixed(1)} %)`,
);

const s = await startPrivateStack({
  name: "bench_saga",
  logFile: join(root, ".data", "bench-saga.log"),
  env: { PAYMENT_FAILURE_RATE: a["failure-rate"]!, LOG_LEVEL: "warn", PAYMENT_DEADLINE_MS: "60000" },
});
const db = createDb(s.env.DATABASE_URL!, { max: 2 });
const nc = await connect({ servers: s.env.NATS_URL });
try {
  // the catalogue, written straight into Postgres: plenty of stock, and one product that runs out
  const plenty = Array.from({ length: 20 }, () => ({ id: uuidv7(), price: 10_000 }));
  const scarce = { id: uuidv7(), price: 20_000 };
  const scarceUnits = Math.max(1, Math.floor((N * n("scarce")) / 2));
  const sellerId = uuidv7();
  await db
    .insert(products)
    .values([...plenty, scarce].map((p) => ({ id: p.id, sellerId, name: "Bench product", price: p.price })));
  await db
    .insert(stock)
    .values([
      ...plenty.map((p) => ({ productId: p.id, available: N * 2 })),
      { productId: scarce.id, available: scarceUnits },
    ]);

  const envs: Envelope<"orders.cmd.place">[] = Array.from({ length: N }, (_, i) => {
    const p = Math.random() < n("scarce") ? scarce : plenty[i % plenty.length]!;
    const quantity = 1 + (i % 2);
    const data: Data<"orders.cmd.place"> = {
      orderId: uuidv7(),
      userId: uuidv7(),
      items: [{ itemId: uuidv7(), productId: p.id, quantity, price: p.price }],
      total: p.price * quantity,
      discount: 0,
      paymentMethod: Math.random() < n("declined") ? "card_declined" : "card_ok",
    };
    return envelope("orders.cmd.place", data);
  });

  log(
    `${N} orders into the pipeline (orders.cmd.place), ${a.declined} card_declined, PAYMENT_FAILURE_RATE ${a["failure-rate"]}`,
  );
  const js = jetstreamOf(nc);
  const port = (url: string) => new URL(url).port;
  const services = async () => ({
    nats: pidsByCommand(new RegExp(`nats-server .*-p ${port(s.env.NATS_URL!)}\\b`)),
    redis: pidsByCommand(new RegExp(`redis-server .*:${port(s.env.REDIS_URL!)}\\b`)),
    pg: (
      await db.execute<{ pid: number }>(sql`select pid from pg_stat_activity where datname = current_database()`)
    ).map((r) => r.pid),
  });
  const load0 = loadavg()[0]!;
  const cpu0 = cpuStat();
  const procCpu0 = cpuByProcess(s.supervisor.running, await services());
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 512 }, async () => {
      while (next < envs.length) await publishEnvelope(js, envs[next++]!);
    }),
  );
  const published = performance.now();
  log(`published in ${((published - t0) / 1000).toFixed(1)} s`);

  const settledCount = async () => {
    const [r] = await db.execute<{ settled: number; total: number }>(
      sql`select count(*) filter (where status in ('CONFIRMED', 'CANCELLED'))::int as settled, count(*)::int as total from ordering.orders`,
    );
    return r!.settled;
  };
  const progress: { t: number; settled: number }[] = [];
  let settled = 0;
  const deadline = t0 + n("timeout-seconds") * 1000;
  while (settled < N) {
    if (performance.now() > deadline)
      throw new Error(`only ${settled} of ${N} orders settled within ${a["timeout-seconds"]} s`);
    await Bun.sleep(100);
    settled = await settledCount();
    const t = (performance.now() - t0) / 1000;
    if (!progress.length || t - progress.at(-1)!.t >= 1 || settled === N) progress.push({ t, settled });
  }
  const seconds = (performance.now() - t0) / 1000;
  const pipelineSteal = stealSince(cpu0);
  const load1 = loadavg()[0]!;
  const stackServices = await services();
  const procCpu1 = cpuByProcess(s.supervisor.running, stackServices);
  // milliseconds of CPU per settled order, by process (the stack's Postgres backends together)
  const perOrder = (seconds: number) => Math.round((seconds * 1e6) / N) / 1000;
  const used = Object.entries(procCpu1).map(([k, v]) => [k, v - (procCpu0[k] ?? 0)] as const);
  const cpuPerOrder: Record<string, number> = Object.fromEntries(
    used.filter(([k]) => !k.startsWith("pg:")).map(([k, v]) => [k, perOrder(v)]),
  );
  cpuPerOrder.postgres = perOrder(used.filter(([k]) => k.startsWith("pg:")).reduce((x, [, v]) => x + v, 0));
  const ordersPerS = N / seconds;
  log(
    `${N} settled in ${seconds.toFixed(1)} s: ${ordersPerS.toFixed(0)} orders/s (steal ${pipelineSteal.toFixed(1)} %)`,
  );

  const [outcome] = await db.execute<{ confirmed: number; declined: number; out_of_stock: number; other: number }>(sql`
    select count(*) filter (where status = 'CONFIRMED')::int as confirmed,
           count(*) filter (where reason = 'PAYMENT_DECLINED')::int as declined,
           count(*) filter (where reason = 'OUT_OF_STOCK')::int as out_of_stock,
           count(*) filter (where status = 'CANCELLED' and reason not in ('PAYMENT_DECLINED', 'OUT_OF_STOCK'))::int as other
    from ordering.orders`);
  type Audit = {
    payments: number;
    approved: number;
    charged_twice: number;
    units_reserved: number;
    units_confirmed: number;
    scarce_left: number;
  };
  const [audit] = await db.execute<Audit>(sql`
    select (select count(*) from payment.payments)::int as payments,
           (select count(*) from payment.payments where status = 'APPROVED')::int as approved,
           (select count(*) from (select order_id from payment.payments group by order_id having count(*) > 1) d)::int as charged_twice,
           (select coalesce(sum(quantity), 0) from inventory.reservations where status = 'RESERVED')::int as units_reserved,
           (select coalesce(sum(i.quantity), 0) from ordering.order_items i join ordering.orders o on o.id = i.order_id where o.status = 'CONFIRMED')::int as units_confirmed,
           (select available from inventory.stock where product_id = ${scarce.id})::int as scarce_left`);
  log(`outcomes ${JSON.stringify(outcome)}; audit ${JSON.stringify(audit)}`);

  // the machine's own rate of one-message saga transactions, on the same Postgres, with the stack's
  // processes stopped (their relays would poll the outbox the naive transactions fill)
  await s.supervisor.stop();
  // counted once the processes stopped: a published row's mark waits for the next batch (or 200 ms), and a
  // stopping worker marks what it published
  const [left] = await db.execute<{ unsent: number }>(
    sql`select count(*)::int as unsent from messaging.outbox where sent_at is null`,
  );
  const unsent = left!.unsent;
  const latency = await placedToConfirmed(s.env.NATS_URL!, s.env.DATABASE_URL!);
  log(
    `placed to CONFIRMED: p50 ${latency.p50ms.toFixed(0)} ms, p99 ${latency.p99ms.toFixed(0)} ms (${latency.orders} orders)`,
  );
  const cpu1 = cpuStat();
  const naiveAfter = await naiveSagaTx(s.env.DATABASE_URL!, n("limit-seconds"), n("clients"));
  const naiveSteal = stealSince(cpu1);
  // the higher of the two: the run after the pipeline can be slowed by its aftermath (checkpoints, autovacuum),
  // and a depressed naive rate would flatter the ratio
  const naive = Math.max(naiveBefore, naiveAfter);
  const ratio = ordersPerS / naive;
  log(
    `naive saga transactions after: ${naiveAfter.toFixed(0)} tx/s (steal ${naiveSteal.toFixed(1)} %); compared ${naive.toFixed(0)}; ratio ${ratio.toFixed(2)}x`,
  );
  // what the order's messages alone allow on this machine, on the same NATS with the stack stopped; the best of
  // FLOOR_RUNS runs (a few seconds each): a floor run slowed by the machine would flatter the ratio
  const cpu2 = cpuStat();
  const floorRuns: Awaited<ReturnType<typeof messagingFloor>>[] = [];
  for (let i = 0; i < FLOOR_RUNS; i++)
    floorRuns.push(
      await messagingFloor(s.env.NATS_URL!, N, {
        nice: actorNice(s.env),
        natsPids: stackServices.nats,
        batchSize: loadConfig(s.env).BATCH_SIZE,
      }),
    );
  const measured = floorRuns.reduce((a, b) => (b.ordersPerS > a.ordersPerS ? b : a));
  const floor = measured.ordersPerS;
  const floorCpu = measured.cpuMsPerOrder;
  const floorSteal = stealSince(cpu2);
  log(
    `messaging floor: ${floor.toFixed(0)} orders/s, the best of ${floorRuns.map((f) => f.ordersPerS.toFixed(0)).join(", ")} (${(floor / naive).toFixed(2)}x the naive rate; steal ${floorSteal.toFixed(1)} %)`,
  );
  // only the runs the figures come from: the pipeline, the naive run compared, the floor
  const lostCpu = [naive === naiveBefore ? naiveBeforeSteal : naiveSteal, pipelineSteal, floorSteal].some((x) => x > 5);
  const cpuTotal = Object.values(cpuPerOrder).reduce((x, y) => x + y, 0);
  const floorCpuTotal = floorCpu.hops + floorCpu.nats;
  // what 0.5x of the floor by CPU leaves the actors once the services and the gateway simulator took their share
  const target = 0.5;
  const allMs = floorCpuTotal / target;
  const servicesMs = ["nats", "redis", "postgres", "gateway"].reduce((x, k) => x + (cpuPerOrder[k] ?? 0), 0);
  const targetBudget = { allMs, servicesMs, actorsMs: allMs - servicesMs, floorHopsMs: floorCpu.hops };
  const cpus = availableParallelism();

  const at = new Date().toISOString();
  const ok =
    audit!.charged_twice === 0 &&
    audit!.units_reserved === audit!.units_confirmed &&
    audit!.payments === audit!.approved + outcome!.declined &&
    outcome!.other === 0;
  const result = {
    at,
    orders: N,
    settledSeconds: seconds,
    publishSeconds: (published - t0) / 1000,
    ordersPerS,
    naiveTxPerS: naive,
    naiveTxPerSBeforeAfter: [naiveBefore, naiveAfter],
    naiveClients: n("clients"),
    ratio,
    messagingFloorOrdersPerS: floor,
    messagingFloorRuns: floorRuns.map((f) => f.ordersPerS),
    messagingFloorRatio: floor / naive,
    ratioToMessagingFloor: ordersPerS / floor,
    targetToMessagingFloor: target,
    /** By CPU per order: what the target allows in all, what the services took, what that leaves the actors. */
    targetBudgetMs: targetBudget,
    messagingFloorCpuMsPerOrder: floorCpu,
    cpuRatioToMessagingFloor: floorCpuTotal / cpuTotal,
    outcomes: outcome,
    audit: { ...audit, outbox_unsent: unsent, consistent: ok },
    stealPercent: {
      naiveBefore: naiveBeforeSteal,
      pipeline: pipelineSteal,
      naiveAfter: naiveSteal,
      messagingFloor: floorSteal,
    },
    lostCpu,
    /** The machine's 1-minute load average as the pipeline started and as it ended. */
    loadAverage: [load0, load1],
    cpuMsPerOrder: cpuPerOrder,
    placedToConfirmedMs: latency,
    settings: {
      declined: n("declined"),
      paymentFailureRate: n("failure-rate"),
      scarce: n("scarce"),
      scarceUnits,
      limitSeconds: n("limit-seconds"),
    },
    progress,
  };
  const md = `# Saga bench

${N} orders published straight into the pipeline (\`orders.cmd.place\` on JetStream, as the flash-sale gate does), then
timed until every order is CONFIRMED or CANCELLED in the read model: the order saga (xstate), inventory, payment (the
gateway simulator, which answers a card's authorization in the call), notification and the outbox relays, one process of each
kind, on a private NATS and Redis and a fresh database. Mixed outcomes: ${n("declined") * 100} % \`card_declined\`,
\`PAYMENT_FAILURE_RATE\` ${n("failure-rate")}, and ${n("scarce") * 100} % of orders for a product with ${scarceUnits} units.

Side by side, on the same Postgres: naive saga transactions, one message per transaction (inbox insert + saga snapshot
upsert + outbox insert, postgres.js, ${a.clients} clients, ${a["limit-seconds"]} s), once before the stack started and once after
every order had settled and the stack's processes were stopped; the higher of the two is the rate compared (the run
after the pipeline can be slowed by its aftermath, checkpoints and autovacuum, which would flatter the ratio).

Run: \`bun run bench:saga\` (${at}); ${cpus} CPUs shared by the bench, Postgres, NATS, Redis and every process of the stack
(and whatever else runs on the machine: load average ${load0.toFixed(1)} as the pipeline started, ${load1.toFixed(1)} as it ended).

| | rate | steal % |
|---|---|---|
| orders settled | ${ordersPerS.toFixed(0)} orders/s (${N} in ${seconds.toFixed(1)} s) | ${pipelineSteal.toFixed(1)} |
| naive saga transactions, before | ${naiveBefore.toFixed(0)} tx/s | ${naiveBeforeSteal.toFixed(1)} |
| naive saga transactions, after | ${naiveAfter.toFixed(0)} tx/s | ${naiveSteal.toFixed(1)} |
| messaging floor: the same orders' messages alone, no work (the best of ${FLOOR_RUNS} runs: ${floorRuns.map((f) => f.ordersPerS.toFixed(0)).join(", ")}) | ${floor.toFixed(0)} orders/s | ${floorSteal.toFixed(1)} |

**Settled orders/s against the messaging floor: ${(ordersPerS / floor).toFixed(2)}x** (target ${target}x or better).${lostCpu ? " A phase lost more than 5 % of the CPU to steal: rerun before quoting." : ""}
The messaging floor moves, for ${N} orders, the six acked JetStream publishes and seven deliveries a confirmed order
takes (place, reserve, reserved, charge, approved, confirmed; confirmed read by notification and popularity, the
cart following the order in the order worker's transaction, the payment settled from the gateway's answer) through a scratch stream on the same NATS, one process per actor kind
(at the actors' priority, \`ACTOR_NICE\`) moving them as the actors do (durable pull consumers, batches, publish then
ack), with no database, HTTP or decision in between. Against the naive transactions: settled orders/s ${ratio.toFixed(2)}x,
the floor ${(floor / naive).toFixed(2)}x.

CPU per settled order, by process (ms): ${Object.entries(cpuPerOrder)
    .map(([k, v]) => `${k} ${v}`)
    .join(", ")}: ${cpuTotal.toFixed(2)} ms in
all (postgres: the backends of the stack's own connections; nats and redis: the stack's private servers), so ${cpus} CPUs
settle at most about ${((cpus * 1000) / cpuTotal).toFixed(0)} orders/s; the run reached ${((100 * ordersPerS * cpuTotal) / (cpus * 1000)).toFixed(0)} % of that. The floor took ${floorCpuTotal.toFixed(2)} ms per
order (hop processes ${floorCpu.hops}, nats ${floorCpu.nats}): by CPU, the pipeline is at **${(floorCpuTotal / cpuTotal).toFixed(2)}x** of the floor, a figure that
holds better than the rates on a machine shared with other work (each phase gets whatever share the others leave it).
${target}x of the floor by CPU allows ${targetBudget.allMs.toFixed(2)} ms per order in all; NATS, Redis, Postgres and the gateway simulator
took ${targetBudget.servicesMs.toFixed(2)}, which leaves ${targetBudget.actorsMs.toFixed(2)} ms for the stack's own processes, against the ${targetBudget.floorHopsMs.toFixed(2)} ms the floor's hop
processes take to move the same messages with no work at all${targetBudget.actorsMs < targetBudget.floorHopsMs ? ": with these services' costs the target is out of reach whatever the actors do" : ""}.

Placed to CONFIRMED, per confirmed order (the \`orders.cmd.place\` message's JetStream time, where a flash-sale
purchase answers 202, to its CONFIRMED history row), with every order placed at once: p50 ${latency.p50ms.toFixed(0)} ms,
p99 ${latency.p99ms.toFixed(0)} ms, max ${latency.maxMs.toFixed(0)} ms (${latency.orders} orders).

Outcomes: ${outcome!.confirmed} confirmed, ${outcome!.declined} declined, ${outcome!.out_of_stock} out of stock, ${outcome!.other} other.
Audit: ${audit!.payments} payments (${audit!.approved} approved), ${audit!.charged_twice} orders charged twice, ${audit!.units_reserved} units
reserved for ${audit!.units_confirmed} confirmed, ${audit!.scarce_left} units of the scarce product left, ${unsent} outbox rows unsent once the stack stopped: ${ok ? "consistent" : "NOT CONSISTENT"}.

Absolute figures drift with the machine; the ratio, measured side by side, is the figure to quote.
`;
  mkdirSync(a.out!, { recursive: true });
  writeFileSync(join(a.out!, "saga.json"), `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(join(a.out!, "saga.md"), md);
  console.log(md);
  if (!ok) process.exitCode = 1;
} finally {
  await nc.close();
  await db.$client.end();
  await s.stop();
}
