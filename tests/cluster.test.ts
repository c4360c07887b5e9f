// The stack on real clusters, as `bun run up:cluster` runs it (a 3-node NATS JetStream cluster with streams
// replicated 3 times, a Redis Cluster of 3 primaries and 3 replicas, two edge processes and two of each actor),
// with nodes killed mid-sale: concurrent shoppers buy, retrying a 503 (or a lost answer) with the same
// Idempotency-Key, while the NATS node leading the ORDERS stream and the Redis primary holding the sale are
// SIGKILLed. Then every accepted purchase settles, nothing is oversold, nobody is past the limit, nothing is
// charged twice, the sale's audit passes, and each accepted purchase sent again is answered with its order.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { inArray, sql } from "drizzle-orm";
import { createDb, type Db, orders, payments } from "../db";
import { natsServers } from "../nats";
import { accounts } from "../scripts/lib/accounts";
import { admin, type PrivateStack, root } from "../scripts/lib/private-stack";
import { client, eventually } from "./client";
import { ownStack } from "./harness";

const QUANTITY = 40;
const LIMIT = 2;
const SHOPPERS = 30;
/** Purchases each shopper tries, one unit each: more than the limit allows and, together, than the sale has. */
const TRIES = 3;
/**
 * The shoppers' purchases are spread over this long; the nodes die a third of the way in (KILL_AT_MS, then
 * FORGOTTEN_MS), when about a third of the purchases have been tried: too few to sell the sale out, whose
 * sold-out answer, given from memory, would hide the kills from every shopper after them.
 */
const SALE_MS = 6_000;
const KILL_AT_MS = 1_200;
/** The sale's replica stops this long before its primary is killed: the purchases of that time are forgotten. */
const FORGOTTEN_MS = 800;
/** A purchase is sent again at most this many times (503, 504, a lost answer), this long apart. */
const ATTEMPTS = 60;
const PAUSE_MS = 250;

let s: PrivateStack;
let api: ReturnType<typeof client>;
let db: Db;
let nc: NatsConnection;

beforeAll(async () => {
  s = await ownStack({
    name: `cluster_${process.pid}`,
    logFile: join(root, ".data", `test-cluster-${process.pid}.log`),
    cluster: true,
    replicas: 2,
    env: {
      EDGE_PROCESSES: "2",
      PAYMENT_DEADLINE_MS: "20000",
      HOLD_GRACE_MS: "10000",
      GATE_CHECK_EVERY_MS: "1000",
      RATE_LIMIT_CAPACITY: "100000",
      RATE_LIMIT_REFILL_PER_S: "100000",
    },
  });
  api = client(s.edgeUrl);
  db = createDb(s.env.DATABASE_URL!, { max: 2 });
  nc = await connect({ servers: natsServers(s.env.NATS_URL!) });
}, 120_000);
afterAll(async () => {
  await nc?.close();
  await db?.$client.end();
  await s?.stop();
});

type Outcome = { userId: string; key: string; status: number; orderId?: string; code?: string; attempts: number };

/** One purchase, sent again with the same key until it has an answer that is not "retry". */
async function purchase(saleId: string, shopper: { id: string; token: string }, key: string): Promise<Outcome> {
  const o: Outcome = { userId: shopper.id, key, status: 0, attempts: 0 };
  while (o.attempts < ATTEMPTS) {
    o.attempts++;
    const r = await api
      .call("POST", `/v1/sales/${saleId}/purchase`, {
        token: shopper.token,
        body: { quantity: 1 },
        headers: { "idempotency-key": key },
      })
      .catch(() => undefined); // the answer was lost: the same key asks again
    if (r && r.status !== 503 && r.status !== 504) {
      Object.assign(o, { status: r.status, orderId: r.body?.orderId, code: r.body?.code });
      return o;
    }
    if (r?.status === 503) expect(Number(r.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    await Bun.sleep(PAUSE_MS);
  }
  return o;
}

describe("a sale on the clusters, nodes killed mid-sale", () => {
  test("every accepted purchase settles; no oversell, nobody past the limit, nothing charged twice; the audit passes", async () => {
    const clusters = s.clusters!;
    const jsm = await jetstreamManager(nc);
    // streams replicated 3 times
    expect((await jsm.streams.info("ORDERS")).config.num_replicas).toBe(3);

    const seller = await api.user("seller");
    const product = await api.product(seller.token, 1000, QUANTITY);
    const created = await api.call("POST", "/v1/sales", {
      token: seller.token,
      body: {
        productId: product.id,
        price: 1000,
        quantity: QUANTITY,
        perUserLimit: LIMIT,
        startsAt: new Date(Date.now() - 1000).toISOString(),
      },
    });
    expect(created.status).toBe(201);
    const saleId = created.body.id as string;
    const shoppers = await accounts(s.env, "shopper", SHOPPERS);

    const started = Date.now();
    const killed = (async () => {
      await Bun.sleep(KILL_AT_MS);
      const leader = (await jsm.streams.info("ORDERS")).cluster?.leader;
      const natsNode = clusters.nats.nodes[Number(leader?.slice(1)) - 1] ?? clusters.nats.nodes[0]!;
      const redisPort = await clusters.redis.primaryOf(`sale:{${saleId}}`);
      const replicaPorts = await clusters.redis.replicasOf(redisPort);
      expect(replicaPorts.length).toBeGreaterThan(0);
      const redisNode = clusters.redis.procs.find((n) => n.port === redisPort)!;
      // replication is asynchronous: the replica that takes over falls behind first (stopped, its link cut), so
      // the failover forgets the primary's last purchases, and Postgres has to hold the limit and the units
      const behind = clusters.redis.procs.filter((n) => replicaPorts.includes(n.port));
      for (const n of behind) n.proc.kill("SIGSTOP");
      await clusters.redis.cli(redisPort, "client", "kill", "type", "replica");
      await Bun.sleep(FORGOTTEN_MS);
      natsNode.proc.kill("SIGKILL");
      redisNode.proc.kill("SIGKILL");
      for (const n of behind) n.proc.kill("SIGCONT");
      return { nats: leader, redis: redisPort, at: Date.now() - started };
    })();
    const outcomes = (
      await Promise.all(
        shoppers.flatMap((shopper, i) =>
          Array.from({ length: TRIES }, async (_, j) => {
            await Bun.sleep(Math.floor(Math.random() * SALE_MS));
            return purchase(saleId, shopper, `buy-${i}-${j}`);
          }),
        ),
      )
    ).flat();
    const kills = await killed;
    // the sale went on after the kills: some purchases were answered after them
    expect(kills.at).toBeLessThan(SALE_MS);
    // the Redis primary's replica took over: the sale's slot has a live primary on another port
    expect(await clusters.redis.primaryOf(`sale:{${saleId}}`)).not.toBe(kills.redis);

    // every purchase got an answer: accepted, or refused for a reason of the sale's
    const unanswered = outcomes.filter((o) => !o.status);
    expect(unanswered).toEqual([]);
    const byStatus = Object.groupBy(outcomes, (o) => `${o.status} ${o.code ?? ""}`.trim());
    for (const key of Object.keys(byStatus)) expect(["202", "409 SOLD_OUT", "409 LIMIT_REACHED"]).toContain(key);
    const accepted = outcomes.filter((o) => o.status === 202).map((o) => o.orderId!);
    expect(new Set(accepted).size).toBe(accepted.length);
    expect(accepted.length).toBeGreaterThanOrEqual(QUANTITY / 2);

    // every accepted purchase settles (an order a failed-over gate admitted past what the sale holds is cancelled)
    const rows = await eventually(
      async () => {
        const r = await db
          .select({ id: orders.id, userId: orders.userId, status: orders.status, reason: orders.reason })
          .from(orders)
          .where(inArray(orders.id, accepted));
        return r.length === accepted.length && r.every((o) => o.status === "CONFIRMED" || o.status === "CANCELLED")
          ? r
          : undefined;
      },
      90_000,
      "every accepted purchase settled",
    );
    const confirmed = rows.filter((r) => r.status === "CONFIRMED");
    expect(confirmed.length).toBeLessThanOrEqual(QUANTITY);
    const perUser = new Map<string, number>();
    for (const r of confirmed) perUser.set(r.userId, (perUser.get(r.userId) ?? 0) + 1);
    expect(Math.max(...perUser.values())).toBeLessThanOrEqual(LIMIT);
    // no order of the sale charged twice, none charged and cancelled without its refund (a refund is a step of
    // its own after the cancel: one whose command waited out a node's loss in the outbox comes later)
    const money = async () => {
      const [m] = await db.execute<{ doubled: number; unrefunded: number }>(sql`
        select
          (select count(*)::int from (select order_id from ${payments} p join ${orders} o on o.id = p.order_id
             where o.sale_id = ${saleId} and p.status = 'APPROVED' group by order_id having count(*) > 1) d) as doubled,
          (select count(*)::int from ${payments} p join ${orders} o on o.id = p.order_id
             where o.sale_id = ${saleId} and o.status = 'CANCELLED' and p.status = 'APPROVED' and p.refunded < p.amount) as unrefunded`);
      return m!;
    };
    await eventually(
      async () => ((await money()).unrefunded === 0 ? true : undefined),
      60_000,
      "every cancelled charge refunded",
    ).catch(() => {});
    expect(await money()).toEqual({ doubled: 0, unrefunded: 0 });

    // the audit passes once the pipeline is quiet and the gate agrees with Postgres
    const adminToken = await api.login(admin.email, admin.password);
    let report: { invariants: Record<string, { pass: boolean; detail: string }>; quiet: boolean } | undefined;
    await eventually(
      async () => {
        report = (await api.call("GET", `/v1/ops/sales/${saleId}/audit`, { token: adminToken })).body;
        return report?.quiet && Object.values(report.invariants).every((i) => i.pass) ? true : undefined;
      },
      60_000,
      "the audit to pass",
    ).catch((err) => {
      throw new Error(`${err.message}: ${JSON.stringify(report, null, 1)}`);
    });
    // a purchase sent again after all this (its answer lost, say) is answered with its one order, even where the
    // failover had forgotten the key: the repaired gate has it back from Postgres
    const tokenOf = new Map(shoppers.map((sh) => [sh.id, sh.token]));
    for (const o of outcomes.filter((x) => x.status === 202)) {
      const again = await api.call("POST", `/v1/sales/${saleId}/purchase`, {
        token: tokenOf.get(o.userId)!,
        body: { quantity: 1 },
        headers: { "idempotency-key": o.key },
      });
      expect(again.status).toBe(202);
      expect(again.body.orderId).toBe(o.orderId);
      expect(again.headers.get("idempotent-replayed")).toBe("true");
    }
    // the kills were felt: some purchase had no answer, or a 503, and was sent again with its key
    const retried = outcomes.filter((o) => o.attempts > 1).length;
    expect(retried).toBeGreaterThan(0);
    console.log(
      JSON.stringify({
        killed: kills,
        answers: Object.fromEntries(Object.entries(byStatus).map(([k, v]) => [k, v!.length])),
        retried,
        confirmed: confirmed.length,
        cancelled: rows.length - confirmed.length,
        cancelReasons: Object.fromEntries(
          Object.entries(
            Object.groupBy(
              rows.filter((r) => r.reason),
              (r) => r.reason!,
            ),
          ).map(([k, v]) => [k, v!.length]),
        ),
      }),
    );
  }, 240_000);
});
