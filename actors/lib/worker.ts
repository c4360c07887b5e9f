// The consume loop every actor shares: batches from a durable pull consumer, one transaction per batch
// (state + inbox rows holding what each message caused), publish after commit, ack last. A failing batch is
// retried one message at a time so a poison message is isolated; a message out of deliveries goes to the DLQ
// with its last error.
import type { JetStreamClient, JsMsg } from "@nats-io/jetstream";
import type { MsgHdrs, NatsConnection } from "@nats-io/transport-node";
import { sql } from "drizzle-orm";
import { type Db, inbox, type RecordedOutput, type Tx } from "../../db";
import {
  ACK_WAIT_MS,
  BadMessage,
  type ConsumerSpec,
  dlqSubject,
  type Envelope,
  jetstreamManagerOf,
  type Logger,
  letterHeaders,
  letterMsgId,
  MAX_DELIVER,
  type OutboxRow,
  type Outgoing,
  outgoingRows,
  parseEnvelope,
  publishEnvelope,
  publishOnly,
} from "../../nats";

export type Incoming = { env: Envelope; readonly traceparent?: string };
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
  /** How long failed publishes are tried again before their messages are nak'd (PUBLISH_RETRY_MS). */
  publishRetryMs?: number;
  /**
   * false: the handler's effects are idempotent by themselves (keyed by the message's id, or the same however
   * often applied) and it causes no messages, so a message needs no inbox row to be handled once in effect.
   */
  inbox?: boolean;
  /** Called after each commit, before publishing and acking (the chaos hook of the crash test). */
  onCommitted?: () => void;
};

/**
 * A pull expires this soon (JetStream's heartbeats come every half of it): a pull lost with the server that held
 * it (a cluster node's loss, a consumer's leader moving) is noticed after two missed heartbeats and sent again,
 * instead of after the client's default of 30 s.
 */
const PULL_EXPIRES_MS = 5_000;
/** How long a batch's failed publishes are tried again before its messages are nak'd: well within the ack wait. */
const PUBLISH_RETRY_MS = 15_000;
const REPUBLISH_AT_START = 10_000;

export function backoffMs(deliveries: number, baseMs = 500): number {
  const base = Math.min(baseMs * 2 ** (deliveries - 1), 30_000);
  return Math.round(base * (0.5 + Math.random()));
}

export async function startWorker(o: WorkerOptions): Promise<() => Promise<void>> {
  const durable = o.spec.durable;
  const log = o.log.child({ consumer: durable, stream: o.spec.stream });
  const batchSize = o.batchSize ?? 256;
  const queue: JsMsg[] = [];
  let wake: (() => void) | undefined;
  let stopping = false;
  const finishing = new Set<Promise<void>>();

  const messages = await (await o.js.consumers.get(o.spec.stream, durable)).consume({
    max_messages: batchSize * 2,
    expires: PULL_EXPIRES_MS,
    callback: (m) => {
      queue.push(m);
      wake?.();
    },
  });

  /**
   * Commits the batch, then publishes what it caused and acks it. The returned promise settles at the commit:
   * publishing and acking go on while the next batch is handled (`finishing`), so the database and NATS work
   * side by side. Each message is acked once what it caused is published; failed publishes are tried again
   * (publishCaused), then their messages are nak'd, and a redelivery, seen in the inbox, publishes the recorded
   * messages again under the same ids.
   */
  async function commit(batch: Parsed[]): Promise<void> {
    const after: (() => void)[] = [];
    // each message id with what it caused: recorded before (a message seen), or now
    const caused = await o.db.transaction(async (tx) => {
      const byId =
        o.inbox === false
          ? new Map<string, OutboxRow[]>()
          : await seenInInbox(tx, durable, [...new Set(batch.map((p) => p.inc.env.id))]);
      const fresh: Incoming[] = []; // the messages never seen, once each (a batch can hold one twice)
      for (const { inc } of batch)
        if (!byId.has(inc.env.id)) {
          byId.set(inc.env.id, []);
          fresh.push(inc);
        }
      if (!fresh.length) return byId;
      const out = await o.handle(tx, fresh, (fn) => after.push(fn));
      if (o.inbox === false) {
        if (out.length) throw new Error(`${durable} keeps no inbox rows: its handler may cause no messages`);
        return byId;
      }
      const rows = outgoingRows(out.map(({ msg, cause }) => ({ msg, traceparent: cause.traceparent })));
      for (const [i, { cause }] of out.entries()) byId.get(cause.env.id)?.push(rows[i]!);
      await recordInbox(tx, durable, fresh, byId);
      return byId;
    });
    o.onCommitted?.();
    for (const fn of after) fn();
    const done = publishCaused(caused).then((failed) => {
      for (const p of batch)
        if (failed.has(p.inc.env.id)) p.m.nak(backoffMs(p.m.info.deliveryCount, o.backoffBaseMs));
        else p.m.ack();
    });
    finishing.add(done);
    void done.finally(() => finishing.delete(done));
  }

  /**
   * Publishes what each message caused; returns the ids of the messages whose publishes still failed after
   * PUBLISH_RETRY_MS of tries. The tries stay in the process: a NATS node's loss can lose a nak with it, and
   * the message would come again only after the ack wait.
   */
  async function publishCaused(caused: Map<string, OutboxRow[]>): Promise<Set<string>> {
    const until = Date.now() + (o.publishRetryMs ?? PUBLISH_RETRY_MS);
    let left = caused;
    for (let attempt = 1; ; attempt++) {
      const rows: OutboxRow[] = [];
      const causes: string[] = [];
      for (const [id, out] of left)
        for (const r of out) {
          rows.push(r);
          causes.push(id);
        }
      const sent = await Promise.allSettled(rows.map((r) => publishEnvelope(o.js, r.envelope, r.headers.traceparent)));
      const failed = new Set<string>();
      for (const [i, r] of sent.entries()) if (r.status === "rejected") failed.add(causes[i]!);
      if (!failed.size) return failed;
      const pause = backoffMs(attempt, o.backoffBaseMs);
      const err = sent.find((r) => r.status === "rejected")?.reason;
      if (stopping || Date.now() + pause > until) {
        log.warn("publish failed: the messages that caused it come again", { messages: failed.size, err });
        return failed;
      }
      log.warn("publish failed: trying again", { messages: failed.size, attempt, err });
      await Bun.sleep(pause);
      left = new Map([...failed].map((id) => [id, caused.get(id)!]));
    }
  }

  async function processOne(p: Parsed): Promise<void> {
    const m = p.m;
    try {
      await commit([p]);
    } catch (err) {
      const deliveries = m.info.deliveryCount;
      if (err instanceof BadMessage || deliveries >= MAX_DELIVER) {
        try {
          await deadLetter(o.js, durable, m, err);
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
      const batch: Parsed[] = [];
      for (const m of queue.splice(0, batchSize)) {
        const inc = parse(m);
        // a message that does not fit its contract never will: straight to the DLQ, the rest go on
        if (inc instanceof BadMessage) void processBad(m, inc);
        else batch.push({ m, inc });
      }
      if (!batch.length) continue;
      // at most two batches publishing behind the one being handled
      while (finishing.size >= 2) await Promise.race(finishing);
      try {
        await commit(batch);
      } catch (err) {
        if (batch.length > 1) log.warn("batch failed, isolating", { size: batch.length, err });
        for (const p of batch) await processOne(p);
      }
    }
  })();

  async function processBad(m: JsMsg, err: BadMessage) {
    try {
      await deadLetter(o.js, durable, m, err);
      m.term();
      log.error("dead-lettered", { subject: m.subject, deliveries: m.info.deliveryCount, err });
    } catch (dlqErr) {
      m.nak(backoffMs(m.info.deliveryCount, o.backoffBaseMs));
      log.error("dead-letter publish failed", { subject: m.subject, err: dlqErr });
    }
  }

  return async () => {
    stopping = true;
    await messages.close();
    wake?.();
    await loop;
    await Promise.all(finishing);
  };
}

type Parsed = { m: JsMsg; inc: Incoming };

/**
 * The message as the handler sees it, parsed and validated once; a BadMessage when it breaks its contract.
 * Its headers are decoded only when something reads its traceparent (a message that causes another).
 */
function parse(m: JsMsg): Incoming | BadMessage {
  try {
    return {
      env: parseEnvelope(m.subject, m.json()),
      get traceparent() {
        return m.headers?.get("traceparent") || undefined;
      },
    };
  } catch (err) {
    return err instanceof BadMessage ? err : new BadMessage(String(err instanceof Error ? err.message : err));
  }
}

/**
 * What a kind's processes recorded within the ack wait may not have been published: a process that died between
 * its commit and its publishes. A process that starts publishes it again at once, rather than leave it until
 * JetStream redelivers what the dead one never acked; the duplicate window (2 min) and the inboxes drop the
 * copies of what was published. At most the REPUBLISH_AT_START newest rows (a busy kind records many more in
 * the ack wait than a dead process had in flight): what is older comes again after the ack wait all the same.
 */
export async function republishRecent(
  db: Db,
  js: JetStreamClient,
  durables: string[],
  log: Logger,
  withinMs = ACK_WAIT_MS + 5_000,
): Promise<number> {
  const rows = await db.execute<{ outputs: RecordedOutput[] }>(sql`
    select outputs from ${inbox} where consumer = any(${sql.param(durables)}::text[]) and outputs is not null
      and created_at > now() - ${withinMs} * interval '1 millisecond' order by created_at desc limit ${REPUBLISH_AT_START}`);
  const sent = rows.flatMap((r) => r.outputs.map(outboxRow));
  await publishOnly(js, sent);
  if (sent.length) log.info("published again what was recorded before this start", { messages: sent.length });
  return sent.length;
}

const outboxRow = ({ envelope, headers }: RecordedOutput): OutboxRow => ({
  id: envelope.id,
  subject: envelope.type,
  envelope: envelope as Envelope,
  headers,
});

/** The batch's messages seen before, each with what it caused (its recorded outgoing messages). */
async function seenInInbox(tx: Tx, consumer: string, ids: string[]): Promise<Map<string, OutboxRow[]>> {
  // one array parameter whatever the batch's size (this runs for every batch of every actor)
  const rows = await tx.execute<{ id: string; outputs: RecordedOutput[] | null }>(sql`
    select message_id as id, outputs from ${inbox} where consumer = ${consumer} and message_id = any(${sql.param(ids)}::text[])`);
  return new Map(rows.map((r) => [r.id, (r.outputs ?? []).map(outboxRow)]));
}

/**
 * Records the handled messages in the inbox with what each caused. Another instance of the kind that handled one
 * of them meanwhile (a redelivery taken by both) committed first: the insert breaks the inbox's key (waiting for
 * the other's commit, as any insert of the same key does), this batch rolls back and comes again, seen.
 */
async function recordInbox(tx: Tx, consumer: string, fresh: Incoming[], caused: Map<string, OutboxRow[]>) {
  const rows = fresh.map(({ env }) => {
    const out = caused.get(env.id)!;
    return {
      id: env.id,
      outputs: out.length
        ? out.map((r) => ({ envelope: r.envelope, headers: r.headers }) satisfies RecordedOutput)
        : null,
    };
  });
  // one JSON parameter for the whole batch; a plain insert (no `on conflict`, no rows back) costs the least
  await tx.execute(sql`
    insert into ${inbox} (consumer, message_id, outputs)
    select ${consumer}, id, outputs from json_to_recordset(${JSON.stringify(rows)}::json) as r(id text, outputs json)`);
}

function deadLetter(js: JetStreamClient, durable: string, m: JsMsg, err: unknown): Promise<void> {
  return toDlq(
    js,
    {
      durable,
      subject: m.subject,
      seq: m.info.streamSequence,
      deliveries: m.info.deliveryCount,
      headers: m.headers,
      data: m.data,
    },
    err,
  );
}

async function toDlq(
  js: JetStreamClient,
  l: { durable: string; subject: string; seq: number; deliveries: number; headers?: MsgHdrs; data: Uint8Array },
  err: unknown,
): Promise<void> {
  const out = letterHeaders(l.headers, { subject: l.subject, consumer: l.durable, deliveries: l.deliveries }, err);
  await js.publish(dlqSubject(l.durable), l.data, { headers: out, msgID: letterMsgId(l.durable, l.seq) });
}

/**
 * A message whose deliveries ran out without any answer (its process died or hung every time) never reaches
 * the worker's dead-letter path; JetStream announces it, and this files it in the DLQ. One instance of the
 * kind takes each announcement (a queue group).
 */
export function startDeadLetterMover(
  nc: NatsConnection,
  js: JetStreamClient,
  specs: readonly ConsumerSpec[],
  log: Logger,
): () => Promise<void> {
  const subs = specs.map((spec) =>
    nc.subscribe(`$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.${spec.stream}.${spec.durable}`, {
      queue: `dlq-mover.${spec.stream}.${spec.durable}`,
      callback: (_err, msg) => {
        void (async () => {
          const a = msg.json<{ stream_seq: number; deliveries: number }>();
          try {
            const m = await (await jetstreamManagerOf(nc)).streams.getMessage(spec.stream, { seq: a.stream_seq });
            if (!m) return; // gone already (limits): nothing left to file
            const err = `no answer after ${a.deliveries} deliveries (the consumer's process died or hung each time)`;
            await toDlq(
              js,
              {
                durable: spec.durable,
                subject: m.subject,
                seq: a.stream_seq,
                deliveries: a.deliveries,
                headers: m.header,
                data: m.data,
              },
              err,
            );
            log.error("dead-lettered", { subject: m.subject, deliveries: a.deliveries, err, consumer: spec.durable });
          } catch (err) {
            log.error("dead-letter mover failed: the message stays in its stream", {
              stream: spec.stream,
              seq: a.stream_seq,
              err,
            });
          }
        })();
      },
    }),
  );
  return async () => {
    for (const s of subs) s.unsubscribe();
  };
}
