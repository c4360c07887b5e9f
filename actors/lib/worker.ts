// The consume loop every actor shares: batches from a durable pull consumer, one transaction per batch
// (inbox + state + outbox), publish after commit, ack last. A failing batch is retried one message at a
// time so a poison message is isolated; a message out of deliveries goes to the DLQ with its last error.
import type { JetStreamClient, JsMsg } from "@nats-io/jetstream";
import { headers } from "@nats-io/transport-node";
import { inbox, type Db, type Tx } from "../../db";
import {
  BadMessage,
  MAX_DELIVER,
  headerRecord,
  parseEnvelope,
  type ConsumerSpec,
  type Envelope,
  type Logger,
} from "../../nats";
import { publishRows, writeOutbox, type Outgoing } from "../../nats";

export type Incoming = { env: Envelope; traceparent?: string };
/**
 * Handles the fresh (never seen) messages of a batch inside its transaction; returns what to publish.
 * `afterCommit` takes work that must see the committed state (broadcasts); it never runs for a rollback.
 */
export type BatchHandler = (
  tx: Tx,
  batch: Incoming[],
  afterCommit: (fn: () => void) => void,
) => Promise<{ msg: Outgoing; cause: Incoming }[]>;

export type WorkerOptions = {
  db: Db;
  js: JetStreamClient;
  spec: ConsumerSpec;
  handle: BatchHandler;
  log: Logger;
  batchSize?: number;
  /** First retry delay; doubled each delivery, with jitter, capped at 30 s. */
  backoffBaseMs?: number;
  /** Called after each commit, before publishing and acking (the chaos hook of the crash test). */
  onCommitted?: () => void;
};

export function backoffMs(deliveries: number, baseMs = 500): number {
  const base = Math.min(baseMs * 2 ** (deliveries - 1), 30_000);
  return Math.round(base * (0.5 + Math.random()));
}

export async function startWorker(o: WorkerOptions): Promise<() => Promise<void>> {
  const consumer = await o.js.consumers.get(o.spec.stream, o.spec.durable);
  const log = o.log.child({ consumer: o.spec.durable, stream: o.spec.stream });
  const batchSize = o.batchSize ?? 256;
  const queue: JsMsg[] = [];
  let wake: (() => void) | undefined;
  let stopping = false;

  const messages = await consumer.consume({
    max_messages: batchSize * 2,
    callback: (m) => {
      queue.push(m);
      wake?.();
    },
  });

  async function commit(msgs: JsMsg[]): Promise<void> {
    const incoming = msgs.map((m) => ({ env: parseEnvelope(m.subject, m.json()), traceparent: m.headers?.get("traceparent") || undefined }));
    const after: (() => void)[] = [];
    const rows = await o.db.transaction(async (tx) => {
      const fresh = await claimInbox(tx, o.spec.durable, incoming);
      if (!fresh.length) return [];
      const out = await o.handle(tx, fresh, (fn) => after.push(fn));
      return writeOutbox(tx, out.map(({ msg, cause }) => ({ msg, traceparent: cause.traceparent })));
    });
    o.onCommitted?.();
    for (const fn of after) fn();
    await publishRows(o.db, o.js, rows);
    for (const m of msgs) m.ack();
  }

  async function processOne(m: JsMsg): Promise<void> {
    try {
      await commit([m]);
    } catch (err) {
      const deliveries = m.info.deliveryCount;
      if (err instanceof BadMessage || deliveries >= MAX_DELIVER) {
        try {
          await deadLetter(o.js, o.spec.durable, m, err);
        } catch (dlqErr) {
          // never drop a message: if the DLQ cannot take it, it stays in its stream for a later try
          m.nak(backoffMs(deliveries, o.backoffBaseMs));
          log.error("dead-letter publish failed", { subject: m.subject, err: dlqErr });
          return;
        }
        m.term();
        log.error("dead-lettered", { subject: m.subject, deliveries, err });
      } else {
        const delay = backoffMs(deliveries, o.backoffBaseMs);
        m.nak(delay);
        log.warn("retrying", { subject: m.subject, deliveries, delay, err });
      }
    }
  }

  const loop = (async () => {
    while (!stopping || queue.length) {
      if (!queue.length) {
        await new Promise<void>((r) => (wake = r));
        wake = undefined;
        continue;
      }
      const taken = queue.splice(0, batchSize);
      // messages that do not fit their contract never will: straight to the DLQ, the rest go on
      const batch = taken.filter((m) => fits(m) || (void processOne(m), false));
      if (!batch.length) continue;
      try {
        await commit(batch);
      } catch (err) {
        if (batch.length > 1) log.warn("batch failed, isolating", { size: batch.length, err });
        for (const m of batch) await processOne(m);
      }
    }
  })();

  return async () => {
    stopping = true;
    await messages.close();
    wake?.();
    await loop;
  };
}

function fits(m: JsMsg): boolean {
  try {
    parseEnvelope(m.subject, m.json());
    return true;
  } catch {
    return false;
  }
}

/** Inserts the batch's message ids into the inbox; returns the messages not seen before, in order. */
async function claimInbox(tx: Tx, consumer: string, batch: Incoming[]): Promise<Incoming[]> {
  const ids = [...new Set(batch.map((b) => b.env.id))];
  const inserted = await tx
    .insert(inbox)
    .values(ids.map((messageId) => ({ consumer, messageId })))
    .onConflictDoNothing()
    .returning({ id: inbox.messageId });
  const fresh = new Set(inserted.map((r) => r.id));
  return batch.filter((b) => fresh.delete(b.env.id));
}

async function deadLetter(js: JetStreamClient, durable: string, m: JsMsg, err: unknown): Promise<void> {
  const h = m.headers;
  const out = headers();
  for (const [k, v] of Object.entries(headerRecord(h))) if (k !== "Nats-Msg-Id") out.set(k, v);
  out.set("Dlq-Subject", m.subject);
  out.set("Dlq-Consumer", durable);
  out.set("Dlq-Deliveries", String(m.info.deliveryCount));
  out.set("Dlq-Error", String(err instanceof Error ? err.message : err).replace(/[\r\n]+/g, " ").slice(0, 1000));
  await js.publish(`dlq.${durable}`, m.data, { headers: out, msgID: `dlq:${durable}:${m.info.streamSequence}` });
}

