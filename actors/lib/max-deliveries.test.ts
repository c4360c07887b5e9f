// A message delivered until max_deliver without any answer (its process died or hung every time) is filed
// in the DLQ by the mover, with its original headers: on a private NATS server with a short ack wait.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { AckPolicy, type JetStreamClient, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { envelope, headerRecord, logger, publishEnvelope, uuidv7 } from "../../nats";
import { type PrivateNats, startPrivateNats } from "../../scripts/lib/private-stack";
import { startDeadLetterMover } from "./worker";

let nats: PrivateNats | undefined;
let nc: NatsConnection;
let js: JetStreamClient;

beforeAll(async () => {
  nats = await startPrivateNats("mover-test");
  ({ nc, js } = nats);
});
afterAll(async () => {
  await nats?.stop();
});

test("deliveries run out without an answer: the message is filed in the DLQ once, headers and all", async () => {
  const spec = { stream: "INVENTORY", durable: "mover-test", filter: "inventory.cmd.release" } as const;
  const jsm = await jetstreamManager(nc);
  await jsm.consumers.add(spec.stream, {
    durable_name: spec.durable,
    filter_subject: spec.filter,
    ack_policy: AckPolicy.Explicit,
    ack_wait: 300_000_000,
    max_deliver: 2,
  });
  // two instances of the kind: one of them files it
  const stops = [
    startDeadLetterMover(nc, js, [spec], logger({ test: "mover" })),
    startDeadLetterMover(nc, js, [spec], logger({ test: "mover" })),
  ];
  await nc.flush();
  const env = envelope("inventory.cmd.release", { orderId: uuidv7() });
  await publishEnvelope(js, env, "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");

  const consumer = await js.consumers.get(spec.stream, spec.durable);
  for (let i = 0; i < 2; i++) expect(await consumer.next({ expires: 5_000 })).not.toBeNull(); // taken, never acked
  // a worker keeps pulling: the server finds the deliveries spent when it would deliver a third time
  expect(await consumer.next({ expires: 1_500 })).toBeNull();
  const dlq = await js.consumers.get("DLQ");
  const letter = await dlq.next({ expires: 10_000 });
  await Promise.all(stops.map((s) => s()));
  expect(letter).not.toBeNull();
  expect(letter!.subject).toBe("dlq.mover-test");
  expect(letter!.json()).toEqual(env);
  const h = headerRecord(letter!.headers);
  expect(h).toMatchObject({
    "Dlq-Subject": "inventory.cmd.release",
    "Dlq-Consumer": "mover-test",
    "Dlq-Deliveries": "2",
    traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
  });
  expect(h["Dlq-Error"]).toContain("no answer after 2 deliveries");
  expect((await jsm.streams.info("DLQ")).state.messages).toBe(1);
});
