// The notification worker on a private NATS server, real Postgres and a local webhook sink that fails on
// demand: retries with backoff, no second post of a delivered notification when its batch is retried or its
// message handled again. The worker runs as the actor runs it, with no inbox rows (a notification is keyed by
// its message's id).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type JetStreamClient, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { eq, inArray } from "drizzle-orm";
import { createDb, type Db, inbox, notifications } from "../../db";
import { breaker } from "../../domain/payment";
import { type ConsumerSpec, logger, publish, uuidv7 } from "../../nats";
import { type PrivateNats, startPrivateNats } from "../../scripts/lib/private-stack";
import { eventually } from "../../tests/client";
import { stack } from "../../tests/harness";
import { startWorker } from "../lib/worker";
import { notificationHandler } from "./worker";

let nats: PrivateNats | undefined;
let nc: NatsConnection;
let js: JetStreamClient;
let db: Db;
const spec: ConsumerSpec = { stream: "ORDERS", durable: "notification", filter: "orders.evt.>" };
const log = logger({ test: "notification" });

/** A Slack-compatible sink: `failFirst` sets how many posts about an order are refused with 500. */
const posts: { orderId: string; ok: boolean; at: number }[] = [];
const failFirst = new Map<string, number>();
const sink = Bun.serve({
  port: 0,
  hostname: "127.0.0.1",
  async fetch(req) {
    const { text } = (await req.json()) as { text: string };
    const orderId = text.match(/Order (\S+)/)![1]!;
    const left = failFirst.get(orderId) ?? 0;
    failFirst.set(orderId, left - 1);
    posts.push({ orderId, ok: left <= 0, at: performance.now() });
    return new Response(left > 0 ? "busy" : "ok", { status: left > 0 ? 500 : 200 });
  },
});
const postsOf = (orderId: string) => posts.filter((p) => p.orderId === orderId);

beforeAll(async () => {
  db = createDb((await stack()).env.DATABASE_URL!, { max: 4 });
  nats = await startPrivateNats("notify-test");
  ({ nc, js } = nats);
}, 60_000);
afterAll(async () => {
  sink.stop(true);
  await nats?.stop();
  await db?.$client.end();
});

const confirmed = (orderId = uuidv7()) =>
  publish(js, "orders.evt.confirmed", { orderId, userId: uuidv7(), total: 1000 });
const handler = (backoffMs: number, webhookUrl: string | null = `http://127.0.0.1:${sink.port}/hook`) =>
  notificationHandler({
    db,
    webhookUrl: webhookUrl ?? undefined,
    timeoutMs: 2_000,
    attempts: 3,
    backoffMs,
    log,
    breaker: breaker("test", { failures: 100, openMs: 1_000, timeoutMs: 2_000 }),
  });
const settle = async (check: () => boolean, ms = 10_000) => {
  const until = Date.now() + ms;
  while (!check() && Date.now() < until) await Bun.sleep(20);
};
const recorded = (ids: string[]) => db.select().from(notifications).where(inArray(notifications.orderId, ids));

describe("notification webhook", () => {
  test("a refused post is retried with growing delays, within one delivery, and recorded once", async () => {
    const stop = await startWorker({ db, js, spec, handle: handler(40), log, inbox: false });
    const orderId = uuidv7();
    failFirst.set(orderId, 2);
    await confirmed(orderId);
    await settle(() => postsOf(orderId).some((p) => p.ok));
    await stop();
    const mine = postsOf(orderId);
    expect(mine.map((p) => p.ok)).toEqual([false, false, true]);
    // delays of 40 ms then 80 ms, each with jitter of ±50 %
    expect(mine[1]!.at - mine[0]!.at).toBeGreaterThanOrEqual(20);
    expect(mine[2]!.at - mine[1]!.at).toBeGreaterThanOrEqual(40);
    const rows = await recorded([orderId]);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ kind: "confirmed", delivered: "webhook" });
    const info = await (await jetstreamManager(nc)).consumers.info("ORDERS", "notification");
    expect(info.num_ack_pending).toBe(0);
    expect(info.num_redelivered).toBe(0);
  });

  test("when one post of a batch keeps failing, the others are not posted again on the retry", async () => {
    const [bad, good1, good2] = [uuidv7(), uuidv7(), uuidv7()];
    failFirst.set(bad, 5); // more than one delivery's 3 attempts
    // published before the worker starts, so the three arrive in one batch
    for (const id of [good1, bad, good2]) await confirmed(id);
    const stop = await startWorker({ db, js, spec, handle: handler(5), log, backoffBaseMs: 20, inbox: false });
    await settle(() => postsOf(bad).some((p) => p.ok));
    await Bun.sleep(200);
    await stop();
    expect(postsOf(good1).map((p) => p.ok)).toEqual([true]);
    expect(postsOf(good2).map((p) => p.ok)).toEqual([true]);
    expect(postsOf(bad).map((p) => p.ok)).toEqual([false, false, false, false, false, true]);
    expect((await recorded([bad, good1, good2])).map((r) => r.orderId).sort()).toEqual([bad, good1, good2].sort());
  });

  test("a message handled again after its commit (a crash before its ack) is posted and recorded once, with no inbox row", async () => {
    let crashes = 1;
    const onCommitted = () => {
      if (crashes-- > 0) throw new Error("crash between commit and ack");
    };
    const stop = await startWorker({ db, js, spec, handle: handler(5), log, inbox: false, onCommitted });
    const env = await confirmed();
    await settle(() => crashes < 0);
    await Bun.sleep(200);
    await stop();
    expect(crashes).toBe(-1); // handled twice: the commit that "crashed", then its retry
    expect(postsOf(env.data.orderId).map((p) => p.ok)).toEqual([true]);
    expect(await recorded([env.data.orderId])).toHaveLength(1);
    expect(await db.select().from(inbox).where(eq(inbox.messageId, env.id))).toEqual([]);
  });

  test("without a webhook URL a notification is logged and recorded as such", async () => {
    const stop = await startWorker({ db, js, spec, handle: handler(5, null), log, inbox: false });
    const orderId = uuidv7();
    await publish(js, "orders.evt.cancelled", { orderId, userId: uuidv7(), reason: "PAYMENT_DECLINED" });
    const rows = await eventually(async () => {
      const r = await recorded([orderId]);
      return r.length ? r : undefined;
    });
    await stop();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      kind: "cancelled",
      delivered: "log",
      text: `Order ${orderId} cancelled (PAYMENT_DECLINED)`,
    });
    expect(postsOf(orderId)).toEqual([]);
  });
});
