// The consume loop on real NATS and Postgres: inbox deduplication, poison isolation, dead letters.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { type JetStreamClient, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { inArray, sql } from "drizzle-orm";
import { createDb, type Db, outbox } from "../../db";
import { type ConsumerSpec, envelope, logger, publishEnvelope, toHeaders } from "../../nats";
import { type PrivateNats, startPrivateNats } from "../../scripts/lib/private-stack";
import { stack } from "../../tests/harness";
import { type Incoming, startWorker } from "./worker";

let nats: PrivateNats | undefined;
let nc: NatsConnection;
let js: JetStreamClient;
let db: Db;
// the inventory consumer of a private NATS server, so no real actor takes these messages
const spec: ConsumerSpec = { stream: "INVENTORY", durable: "inventory", filter: "inventory.cmd.>" };
const log = logger({ test: "worker" }).child({});

beforeAll(async () => {
  const s = await stack();
  db = createDb(s.env.DATABASE_URL!, { max: 4 });
  nats = await startPrivateNats("worker-test");
  ({ nc, js } = nats);
});

afterAll(async () => {
  await nats?.stop();
  await db?.$client.end();
});

const reserve = (orderId = crypto.randomUUID()) => envelope("inventory.cmd.release", { orderId, itemIds: [] });

test("a message delivered twice is handled once; poison is isolated and dead-lettered with its error", async () => {
  const poison = reserve();
  // each handled message leaves one outbox row, committed (or rolled back) with its batch
  const handle = async (_tx: unknown, batch: Incoming[]) =>
    batch.map((b) => {
      if (b.env.id === poison.id) throw new Error("poison pill");
      return {
        msg: { type: "inventory.evt.released" as const, data: { orderId: b.env.orderId!, itemIds: [] } },
        cause: b,
      };
    });
  const committed = async () => {
    const ids = good.map((g) => g.orderId!);
    const rows = await db
      .select({ data: outbox.envelope })
      .from(outbox)
      .where(inArray(sql`${outbox.envelope}->'data'->>'orderId'`, ids));
    return rows.map((r) => (r.data as { data: { orderId: string } }).data.orderId);
  };
  const stop = await startWorker({ db, js, spec, handle, log, backoffBaseMs: 10 });
  const good = [reserve(), reserve(), reserve()];
  // each good envelope twice, under two message ids, around the poison one
  for (const env of good) await publishEnvelope(js, env);
  await js.publish(poison.type, JSON.stringify(poison), { msgID: poison.id, headers: toHeaders(poison.id) });
  for (const env of good)
    await js.publish(env.type, JSON.stringify(env), {
      msgID: `again:${env.id}`,
      headers: toHeaders(`again:${env.id}`),
    });
  // not even a contract: dead-lettered at once
  await js.publish("inventory.cmd.release", JSON.stringify({ id: "bad-1", data: { orderId: "nope" } }), {
    msgID: "bad-1",
  });

  const end = Date.now() + 10_000;
  while ((await committed()).length < 3 && Date.now() < end) await Bun.sleep(20);
  const dlq = await js.consumers.get("DLQ");
  const letters: Record<string, string>[] = [];
  for (let i = 0; i < 2; i++) {
    const m = await dlq.next({ expires: 20_000 });
    expect(m).not.toBeNull();
    letters.push(Object.fromEntries([...m!.headers!].map(([k, v]) => [k, v.join(",")])));
  }
  await stop();
  expect((await committed()).sort()).toEqual(good.map((g) => g.orderId!).sort());
  const byError = Object.fromEntries(letters.map((l) => [l["Dlq-Error"]!.includes("poison") ? "poison" : "bad", l]));
  expect(byError.poison).toMatchObject({
    "Dlq-Subject": "inventory.cmd.release",
    "Dlq-Consumer": "inventory",
    "Dlq-Deliveries": "6",
  });
  expect(byError.bad!["Dlq-Deliveries"]).toBe("1");
  const info = await (await jetstreamManager(nc)).consumers.info("INVENTORY", "inventory");
  expect(info.num_ack_pending).toBe(0);
  expect(info.num_pending).toBe(0);
});

test("published outbox rows are marked sent, by a later batch's transaction or alone, well within the relay's grace", async () => {
  const handle = async (_tx: unknown, batch: Incoming[]) =>
    batch.map((b) => ({
      msg: { type: "inventory.evt.released" as const, data: { orderId: b.env.orderId!, itemIds: [] } },
      cause: b,
    }));
  const unsent = async (ids: string[]) => {
    const rows = await db
      .select({ sentAt: outbox.sentAt })
      .from(outbox)
      .where(inArray(sql`${outbox.envelope}->'data'->>'orderId'`, ids));
    return rows.length === ids.length ? rows.filter((r) => !r.sentAt).length : -1;
  };
  const stop = await startWorker({ db, js, spec, handle, log });
  try {
    const first = reserve();
    await publishEnvelope(js, first);
    const end = Date.now() + 10_000;
    while ((await unsent([first.orderId!])) < 0 && Date.now() < end) await Bun.sleep(5);
    // the next batch's transaction marks the first one's row; with nothing after it, its own are marked alone
    const more = [reserve(), reserve()];
    for (const env of more) await publishEnvelope(js, env);
    const all = [first, ...more].map((m) => m.orderId!);
    const until = Date.now() + 2_000;
    while ((await unsent(all)) !== 0 && Date.now() < until) await Bun.sleep(10);
    expect(await unsent(all)).toBe(0);
  } finally {
    await stop();
  }
});
