// Notification: tells the shopper (through a Slack-compatible webhook) that an order was confirmed or
// cancelled, and records every notification. Without a webhook URL it only logs.
import { inArray, sql } from "drizzle-orm";
import { type Db, notifications } from "../../db";
import { type Breaker, breaker } from "../../domain/payment";
import type { Data, Envelope, Logger } from "../../nats";
import type { BatchHandler } from "../lib/worker";
import { postWithRetries } from "./webhook";

export type NotificationOptions = {
  db: Db;
  webhookUrl?: string;
  timeoutMs: number;
  /** Posts of one notification within one delivery of its message, `backoffMs` apart and doubling. */
  attempts: number;
  backoffMs: number;
  log: Logger;
  breaker?: Breaker;
};

type Note = { id: string; orderId: string; kind: string; text: string };

function noteOf(env: Envelope): Note | undefined {
  if (env.type === "orders.evt.confirmed") {
    const d = env.data as Data<"orders.evt.confirmed">;
    return { id: env.id, orderId: d.orderId, kind: "confirmed", text: `Order ${d.orderId} confirmed: ${d.total} KRW` };
  }
  if (env.type === "orders.evt.cancelled") {
    const d = env.data as Data<"orders.evt.cancelled">;
    return { id: env.id, orderId: d.orderId, kind: "cancelled", text: `Order ${d.orderId} cancelled (${d.reason})` };
  }
}

export function notificationHandler(opts: NotificationOptions): BatchHandler {
  const b = opts.breaker ?? breaker("notify_webhook", { timeoutMs: opts.timeoutMs });
  return async (tx, batch) => {
    const notes = batch.map((m) => noteOf(m.env)).filter((n): n is Note => !!n);
    if (!notes.length) return [];
    if (!opts.webhookUrl) {
      for (const n of notes) opts.log.info("notification", { orderId: n.orderId, text: n.text });
      await tx.execute(sql`
        insert into ${notifications} (id, order_id, kind, text, delivered)
        select id, "orderId", kind, text, 'log' from jsonb_to_recordset(${JSON.stringify(notes)}::jsonb) as n(id text, "orderId" uuid, kind text, text text)
        on conflict do nothing`);
      return [];
    }
    // A webhook post cannot be rolled back, so each delivered one is recorded at once, outside the batch's
    // transaction: when another post of the batch fails and the batch is retried, it is not posted again.
    const sent = await tx
      .select({ id: notifications.id })
      .from(notifications)
      .where(
        inArray(
          notifications.id,
          notes.map((n) => n.id),
        ),
      );
    const done = new Set(sent.map((s) => s.id));
    const failures: unknown[] = [];
    await Promise.all(
      notes
        .filter((n) => !done.has(n.id))
        .map(async (n) => {
          try {
            const attempts = await postWithRetries(
              opts.webhookUrl!,
              { text: n.text },
              { attempts: opts.attempts, backoffMs: opts.backoffMs, breaker: b },
            );
            await opts.db
              .insert(notifications)
              .values({ ...n, delivered: "webhook" })
              .onConflictDoNothing();
            if (attempts > 1) opts.log.info("notification delivered after retries", { orderId: n.orderId, attempts });
          } catch (err) {
            opts.log.warn("notification not delivered", { orderId: n.orderId, kind: n.kind, err });
            failures.push(err);
          }
        }),
    );
    // the messages go back for redelivery with backoff, and to the DLQ when their deliveries run out
    if (failures.length)
      throw new Error(`notify webhook: ${failures.length} of ${notes.length} not delivered: ${String(failures[0])}`);
    return [];
  };
}
