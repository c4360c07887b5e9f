// Transactional outbox: rows written in the same transaction as the state change, published after commit
// with Nats-Msg-Id = row id, then marked sent. A background relay publishes whatever a crash left behind.
import type { JetStreamClient } from "@nats-io/jetstream";
import { and, isNull, lt, sql } from "drizzle-orm";
import { type Db, outbox, type Tx } from "../db";
import { publishEnvelope } from "./connect";
import { contracts, type Subject } from "./contracts";
import { type Envelope, envelope } from "./envelope";
import { type Logger, newTraceparent, traceIdOf } from "./log";
import { repeat } from "./repeat";

export type Outgoing = { type: Subject; data: unknown };
export type OutboxRow = typeof outbox.$inferInsert & { envelope: Envelope };

/** Validates outgoing messages and gives each its envelope (its id) and a traceparent in its cause's trace. */
export function outgoingRows(items: { msg: Outgoing; traceparent?: string }[]): OutboxRow[] {
  return items.map(({ msg, traceparent }) => {
    const env = envelope(msg.type, contracts[msg.type].parse(msg.data) as never);
    const headers = { traceparent: newTraceparent(traceIdOf(traceparent)) };
    return { id: env.id, subject: env.type, envelope: env, headers } satisfies OutboxRow;
  });
}

/** Validates and writes outgoing messages; returns the rows to publish after commit. */
export async function writeOutbox(tx: Tx, items: { msg: Outgoing; traceparent?: string }[]): Promise<OutboxRow[]> {
  if (!items.length) return [];
  const rows = outgoingRows(items);
  // one JSON parameter for the whole batch: the query builder's cost per row was most of this call
  await tx.execute(sql`
    insert into ${outbox} (id, subject, envelope, headers)
    select id, subject, envelope, headers from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as r(id uuid, subject text, envelope jsonb, headers jsonb)`);
  return rows;
}

/** Publishes the rows, then marks them sent (in `db`, or in the transaction that holds them locked). */
export async function publishRows(db: Db | Tx, js: JetStreamClient, rows: OutboxRow[]): Promise<void> {
  if (!rows.length) return;
  await publishOnly(js, rows);
  await markSent(
    db,
    rows.map((r) => r.id),
  );
}

/** Publishes the rows (acked by JetStream, Nats-Msg-Id = row id) without marking them. */
export async function publishOnly(js: JetStreamClient, rows: OutboxRow[]): Promise<void> {
  await Promise.all(rows.map((r) => publishEnvelope(js, r.envelope, r.headers.traceparent)));
}

/**
 * Marks published rows sent, so the relay leaves them alone. A mark that is lost or late costs only a second
 * publish under the same message id, which JetStream (and every inbox) drops.
 */
export async function markSent(db: Db | Tx, ids: string[]): Promise<void> {
  if (ids.length) await db.execute(sql`update ${outbox} set sent_at = now() where id = any(${sql.param(ids)}::uuid[])`);
}

/**
 * How old an unsent row must be before a relay publishes it. Its own publisher marks it moments after its commit,
 * but under load a batch's publishes and marks take seconds, and every process's relay reads the whole outbox:
 * a short grace had the relays publish rows whose publishers were still at work (a second copy each, dropped by
 * JetStream, paid for in CPU). A row whose publisher died waits this long.
 */
export const RELAY_GRACE_MS = 10_000;

/** Publishes rows left unsent for longer than `graceMs` (their publisher died or failed after commit). */
export function startRelay(
  db: Db,
  js: JetStreamClient,
  log: Logger,
  opts = { everyMs: 1000, graceMs: RELAY_GRACE_MS },
) {
  return repeat(
    opts.everyMs,
    () =>
      db.transaction(async (tx) => {
        const rows = await tx
          .select()
          .from(outbox)
          .where(and(isNull(outbox.sentAt), lt(outbox.createdAt, new Date(Date.now() - opts.graceMs))))
          .orderBy(outbox.createdAt)
          .limit(500)
          .for("update", { skipLocked: true });
        if (!rows.length) return;
        await publishRows(tx, js, rows as OutboxRow[]);
        log.info("relay published", { count: rows.length });
      }),
    (err) => log.warn("relay failed", { err }),
  );
}
