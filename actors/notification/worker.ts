// Notification: tells the shopper (through a Slack-compatible webhook) that an order was confirmed or
// cancelled, and records every notification. Without a webhook URL it only logs.
import { notifications } from "../../db";
import type { Data, Logger } from "../../nats";
import type { BatchHandler } from "../lib/worker";

export function notificationHandler(opts: { webhookUrl?: string; timeoutMs: number; log: Logger }): BatchHandler {
  return async (tx, batch) => {
    const rows = batch.flatMap(({ env }) => {
      if (env.type === "orders.evt.confirmed") {
        const d = env.data as Data<"orders.evt.confirmed">;
        return [{ id: env.id, orderId: d.orderId, kind: "confirmed", text: `Order ${d.orderId} confirmed: ${d.total} KRW` }];
      }
      if (env.type === "orders.evt.cancelled") {
        const d = env.data as Data<"orders.evt.cancelled">;
        return [{ id: env.id, orderId: d.orderId, kind: "cancelled", text: `Order ${d.orderId} cancelled (${d.reason})` }];
      }
      return [];
    });
    if (!rows.length) return [];
    if (opts.webhookUrl) {
      // a failed post fails the batch: the messages are retried with backoff, then dead-lettered
      await Promise.all(
        rows.map(async (r) => {
          const res = await fetch(opts.webhookUrl!, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ text: r.text }),
            signal: AbortSignal.timeout(opts.timeoutMs),
          });
          if (!res.ok) throw new Error(`notify webhook answered ${res.status}`);
        }),
      );
    } else for (const r of rows) opts.log.info("notification", { orderId: r.orderId, text: r.text });
    const delivered = opts.webhookUrl ? ("webhook" as const) : ("log" as const);
    await tx.insert(notifications).values(rows.map((r) => ({ ...r, delivered }))).onConflictDoNothing();
    return [];
  };
}
