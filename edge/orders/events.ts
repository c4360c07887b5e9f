// GET /v1/orders/:id/events: the order's status changes as Server-Sent Events, for its owner.
// The order history in Postgres is the truth: each event is one history row (its seq is the event id). The
// order actor's broadcast after each commit only says "look again"; a slow re-read catches a lost one.
import { and, asc, eq, gt } from "drizzle-orm";
import { Hono } from "hono";
import { type SSEStreamingApi, streamSSE } from "hono/streaming";
import { z } from "zod";
import { type Db, orderHistory, orders } from "../../db";
import { orderStatusSubject } from "../../nats";
import type { Deps, Env } from "../deps";
import { AppError } from "../errors";
import { caller, requireRole } from "../middleware/auth";
import { openapi } from "../openapi";
import { idParam } from "../validate";

/** The data of each `status` event. */
export const orderStatusEvent = z.object({
  orderId: z.string().uuid(),
  status: z.string(),
  reason: z.string().optional(),
  at: z.string(),
});
const TERMINAL = new Set(["CANCELLED", "DELIVERED"]);
/** Re-read without a broadcast this often (a lost broadcast costs at most this long); also the keep-alive. */
const REREAD_MS = 10_000;

async function historyAfter(db: Db, orderId: string, seq: number) {
  return db
    .select({ seq: orderHistory.seq, status: orderHistory.status, at: orderHistory.at })
    .from(orderHistory)
    .where(and(eq(orderHistory.orderId, orderId), gt(orderHistory.seq, seq)))
    .orderBy(asc(orderHistory.seq));
}

/** A refused stream may try again after this long (seconds): streams end when their orders settle. */
const RETRY_AFTER_S = 5;

export function orderEventRoutes(d: Deps) {
  const app = new Hono<Env>();
  // open streams per user on this edge: each holds a connection, a subscription and a re-read timer, so one
  // user (or one stolen token) must not hold them by the thousand
  const open = new Map<string, number>();

  app.get(
    "/v1/orders/:id/events",
    requireRole(),
    openapi({
      summary: "The order's status changes as Server-Sent Events",
      description:
        "For the order's owner, at most MAX_STREAMS_PER_USER (10) open at once per user on one edge (then 429 RATE_LIMITED with Retry-After). The first `status` event is the current status, then one per change; the stream ends after CANCELLED or DELIVERED. Event ids are history positions: reconnecting with Last-Event-ID resumes after it.",
      tags: ["orders"],
      headers: { "Last-Event-ID": { description: "Resume after this event id (sent by EventSource on reconnect)." } },
      responses: {
        200: {
          description: "text/event-stream of `status` events",
          schema: orderStatusEvent,
          contentType: "text/event-stream",
        },
      },
      errors: ["RATE_LIMITED"],
    }),
    async (c) => {
      const id = idParam(c);
      const user = caller(c).sub;
      const [order] = await d.db.select({ userId: orders.userId }).from(orders).where(eq(orders.id, id));
      if (!order || order.userId !== user) throw new AppError("NOT_FOUND", "no such order");
      const resumeAfter = Number(c.req.header("last-event-id"));
      const log = c.get("log");
      // checked and counted with no await in between: two requests cannot both take the last place
      const streams = open.get(user) ?? 0;
      if (streams >= d.config.MAX_STREAMS_PER_USER) {
        c.header("Retry-After", String(RETRY_AFTER_S));
        throw new AppError(
          "RATE_LIMITED",
          `at most ${d.config.MAX_STREAMS_PER_USER} open event streams per user; close one first`,
        );
      }
      open.set(user, streams + 1);
      const closed = () => {
        const left = (open.get(user) ?? 1) - 1;
        if (left > 0) open.set(user, left);
        else open.delete(user);
      };

      return streamSSE(c, (stream) => follow(stream).finally(closed));

      async function follow(stream: SSEStreamingApi) {
        // `changed` is set by every broadcast; it is cleared before each read, so one that lands during a read
        // (whose snapshot may predate that commit) leads to another read instead of a wait
        let changed = false;
        let wake: (() => void) | undefined;
        const sub = d.bus.nc.subscribe(orderStatusSubject(id), {
          callback: () => {
            changed = true;
            wake?.();
          },
        });
        stream.onAbort(() => wake?.());
        try {
          // subscribed before the first read, so a change committed in between is not missed
          const resuming = Number.isSafeInteger(resumeAfter) && resumeAfter >= 0;
          let last = resuming ? resumeAfter : 0;
          let rows = await historyAfter(d.db, id, last);
          if (!resuming) rows = rows.slice(-1); // a fresh stream starts at the current status
          for (;;) {
            for (const r of rows) {
              const reason =
                r.status === "CANCELLED"
                  ? (await d.db.select({ reason: orders.reason }).from(orders).where(eq(orders.id, id)))[0]?.reason
                  : undefined;
              const data = { orderId: id, status: r.status, ...(reason ? { reason } : {}), at: r.at.toISOString() };
              await stream.writeSSE({ event: "status", id: String(r.seq), data: JSON.stringify(data) });
              last = r.seq;
              if (TERMINAL.has(r.status)) return;
            }
            if (stream.aborted) return;
            if (!changed) {
              const woken = await new Promise<boolean>((resolve) => {
                const timer = setTimeout(() => resolve(false), REREAD_MS);
                wake = () => {
                  clearTimeout(timer);
                  resolve(true);
                };
              });
              wake = undefined;
              if (stream.aborted) return;
              if (!woken) await stream.write(": keep-alive\n\n");
            }
            changed = false;
            rows = await historyAfter(d.db, id, last);
          }
        } catch (err) {
          log.warn("order event stream ended by an error", { orderId: id, err });
        } finally {
          sub.unsubscribe();
        }
      }
    },
  );

  return app;
}
