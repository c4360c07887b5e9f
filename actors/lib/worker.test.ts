// The consume loop on real NATS and Postgres: inbox deduplication, poison isolation, dead letters.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { type JetStreamClient, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { inArray } from "drizzle-orm";
import { createDb, type Db, inbox, type RecordedOutput } from "../../db";
import {
  type ConsumerSpec,
  ensureStreams,
  envelope,
  logger,
  newTraceparent,
  publishEnvelope,
  toHeaders,
} from "../../nats";
import { type PrivateNats, startPrivateNats } from "../../scripts/lib/private-stack";
import { stack } from "../../tests/harness";
import { type Incoming, republishRecent, startWorker } from "./worker";

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
  // each handled message leaves its inbox row with what it caused, committed (or rolled back) with its batch
  const handle = async (_tx: unknown, batch: Incoming[]) =>
    batch.map((b) => {
      if (b.env.id === poison.id) throw new Error("poison pill");
      return {
        msg: { type: "inventory.evt.released" as const, data: { orderId: b.env.orderId!, itemIds: [] } },
        cause: b,
      };
    });
  const committed = async () => {
    const rows = await db
      .select({ outputs: inbox.outputs })
      .from(inbox)
      .where(
        inArray(
          inbox.messageId,
          good.map((g) => g.id),
        ),
      );
    return rows.flatMap((r) => (r.outputs ?? []).map((o) => (o.envelope as { orderId?: string }).orderId!));
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

test("a message seen before publishes what it caused again, under the same ids, and is acked without being handled", async () => {
  // as a process that died after its commit, before publishing and acking, leaves it
  const cause = reserve();
  const caused = envelope("inventory.evt.released", { orderId: cause.orderId!, itemIds: [] });
  const recorded: RecordedOutput = {
    envelope: caused,
    headers: { traceparent: newTraceparent() },
  };
  await db.insert(inbox).values({ consumer: spec.durable, messageId: cause.id, outputs: [recorded] });
  let handled = 0;
  const handle = async (_tx: unknown, batch: Incoming[]) => {
    handled += batch.length;
    return [];
  };
  const stop = await startWorker({ db, js, spec, handle, log });
  try {
    await publishEnvelope(js, cause);
    // the gate's consumer reads inventory.evt.released: the recorded message reaches it under its own id
    const gate = await js.consumers.get("INVENTORY", "gate");
    let got: { id?: string; orderId?: string } | undefined;
    const end = Date.now() + 10_000;
    while (!got && Date.now() < end) {
      const m = await gate.next({ expires: 1_000 });
      if (!m) continue;
      m.ack();
      if (m.headers?.get("Nats-Msg-Id") === caused.id) got = { id: caused.id, ...m.json<{ orderId: string }>() };
    }
    expect(got).toMatchObject({ id: caused.id, orderId: cause.orderId });
    const jsm = await jetstreamManager(nc);
    const until = Date.now() + 5_000;
    while ((await jsm.consumers.info("INVENTORY", "inventory")).num_ack_pending && Date.now() < until)
      await Bun.sleep(20);
    expect((await jsm.consumers.info("INVENTORY", "inventory")).num_ack_pending).toBe(0);
    expect(handled).toBe(0);
  } finally {
    await stop();
  }
});

test("a process that starts publishes again what its kind recorded within the ack wait, not older", async () => {
  const recorded = (orderId = crypto.randomUUID()) => {
    const env = envelope("inventory.evt.released", { orderId, itemIds: [] });
    return { envelope: env, headers: { traceparent: newTraceparent() } } satisfies RecordedOutput;
  };
  const consumer = `republish-${crypto.randomUUID()}`;
  const recent = recorded();
  const old = recorded();
  await db.insert(inbox).values([
    { consumer, messageId: crypto.randomUUID(), outputs: [recent] },
    { consumer, messageId: crypto.randomUUID(), outputs: [old], createdAt: new Date(Date.now() - 10 * 60_000) },
    { consumer, messageId: crypto.randomUUID(), outputs: null },
  ]);
  expect(await republishRecent(db, js, [consumer], log)).toBe(1);
  const gate = await js.consumers.get("INVENTORY", "gate");
  const ids: string[] = [];
  const end = Date.now() + 5_000;
  while (!ids.includes(recent.envelope.id) && Date.now() < end) {
    const m = await gate.next({ expires: 1_000 });
    if (!m) continue;
    m.ack();
    ids.push(m.headers!.get("Nats-Msg-Id"));
  }
  // and whatever came with it
  for (let m = await gate.next({ expires: 1_000 }); m; m = await gate.next({ expires: 1_000 })) {
    m.ack();
    ids.push(m.headers!.get("Nats-Msg-Id"));
  }
  expect(ids).toContain(recent.envelope.id);
  expect(ids).not.toContain(old.envelope.id);
});

for (const [retryMs, how] of [
  [0, "is nak'd at once; its redelivery publishes the recorded message"],
  [10_000, "is published again by its worker until it goes through, then acked"],
] as const)
  test(`a message whose publish fails ${how}, handled once`, async () => {
    const jsm = await jetstreamManager(nc);
    // nothing takes catalog.evt.> until the stream is back: the first publish is refused at once
    await jsm.streams.delete("CATALOG");
    let handled = 0;
    const handle = async (_tx: unknown, batch: Incoming[]) => {
      handled += batch.length;
      return batch.map((b) => ({
        msg: { type: "catalog.evt.liked" as const, data: { productId: b.env.orderId!, userId: crypto.randomUUID() } },
        cause: b,
      }));
    };
    const stop = await startWorker({ db, js, spec, handle, log, backoffBaseMs: 200, publishRetryMs: retryMs });
    try {
      const before = (await jsm.consumers.info("INVENTORY", "inventory")).delivered.consumer_seq;
      const cause = reserve();
      await publishEnvelope(js, cause);
      const end = Date.now() + 5_000;
      while (!handled && Date.now() < end) await Bun.sleep(5);
      await Bun.sleep(100);
      await ensureStreams(jsm);
      const [row] = await db
        .select({ outputs: inbox.outputs })
        .from(inbox)
        .where(inArray(inbox.messageId, [cause.id]));
      const liked = row?.outputs?.[0]?.envelope.id;
      expect(liked).toBeDefined();
      const until = Date.now() + 10_000;
      let stored: string | undefined;
      while (!stored && Date.now() < until) {
        const m = await jsm.streams.getMessage("CATALOG", { last_by_subj: "catalog.evt.liked" }).catch(() => null);
        stored = m?.header.get("Nats-Msg-Id");
        if (!stored) await Bun.sleep(50);
      }
      expect(stored).toBe(liked);
      while ((await jsm.consumers.info("INVENTORY", "inventory")).num_ack_pending && Date.now() < until)
        await Bun.sleep(20);
      const info = await jsm.consumers.info("INVENTORY", "inventory");
      expect(info.num_ack_pending).toBe(0);
      // delivered again after the nak, or once
      if (retryMs) expect(info.delivered.consumer_seq - before).toBe(1);
      else expect(info.delivered.consumer_seq - before).toBeGreaterThanOrEqual(2);
      expect(handled).toBe(1);
    } finally {
      await stop();
    }
  });
