// GET /v1/sales/:id/events: a sale's remaining units and status as Server-Sent Events, for the sale page. One
// Redis read per watched sale per second in each edge process, however many shoppers watch it; each stream is
// sent the sale when its remaining units or its status change, with the server's clock for the countdown.
import { Hono } from "hono";
import { streamSSE } from "hono/streaming";
import { z } from "zod";
import { gate, gateFromPostgres } from "../../domain/sale";
import type { Deps, Env } from "../deps";
import { AppError } from "../errors";
import { openapi } from "../openapi";
import { idParam } from "../validate";
import type { SaleBoard } from "./board";
import { saleView } from "./routes";

/** Open sale streams per edge process; one more is 503 BUSY (each holds a connection). */
export const MAX_SALE_STREAMS = 10_000;
const WATCH_EVERY_MS = 1_000;
const KEEP_ALIVE_MS = 15_000;
const RETRY_AFTER_S = 5;

export const saleEvent = z.object({
  id: z.uuid(),
  remaining: z.number().int(),
  status: z.enum(["scheduled", "live", "sold_out", "ended"]),
  startsAt: z.string(),
  endsAt: z.string().nullable(),
  now: z.string().describe("the server's clock when sent, for a countdown that does not trust the browser's"),
});

export function saleEventRoutes(d: Deps, board: SaleBoard) {
  const app = new Hono<Env>();
  const g = gate(d.redis);
  const watchers = new Map<string, Set<(remaining: number) => void>>();
  let open = 0;
  let timer: ReturnType<typeof setInterval> | undefined;

  const read = async (saleId: string) => (await g.counters(saleId))?.remaining;
  const tick = () => {
    for (const [saleId, fns] of watchers)
      read(saleId).then(
        (left) => {
          if (left !== undefined) for (const fn of fns) fn(left);
        },
        () => {}, // Redis unreachable: the streams hear nothing new this second
      );
  };
  const watch = (saleId: string, fn: (remaining: number) => void) => {
    const fns = watchers.get(saleId) ?? watchers.set(saleId, new Set()).get(saleId)!;
    fns.add(fn);
    timer ??= setInterval(tick, WATCH_EVERY_MS);
    return () => {
      fns.delete(fn);
      if (!fns.size) watchers.delete(saleId);
      if (!watchers.size) {
        clearInterval(timer);
        timer = undefined;
      }
    };
  };

  app.get(
    "/v1/sales/:id/events",
    openapi({
      summary: "A sale's remaining units and status as Server-Sent Events",
      description: `Public. A \`sale\` event at once, then one whenever the remaining units or the status change (checked every second), each with the server's clock; a comment line every ${KEEP_ALIVE_MS / 1000} s keeps the connection; the stream ends when the sale has ended. At most ${MAX_SALE_STREAMS} streams per edge process (then 503 BUSY with Retry-After).`,
      responses: {
        200: { description: "text/event-stream of `sale` events", schema: saleEvent, contentType: "text/event-stream" },
      },
      errors: ["NOT_FOUND", "BUSY"],
    }),
    async (c) => {
      const s = await board.find(idParam(c));
      if (open >= MAX_SALE_STREAMS) {
        c.header("Retry-After", String(RETRY_AFTER_S));
        throw new AppError("BUSY", "too many sale streams on this server; retry in a moment");
      }
      // a gate Redis has lost is rebuilt by the sale's other routes; meanwhile Postgres says what remains
      const first = (await read(s.id).catch(() => undefined)) ?? (await gateFromPostgres(d.db, s.id))?.remaining ?? 0;
      open++;
      return streamSSE(c, async (stream) => {
        let sent = "";
        let wroteAt = Date.now();
        let remaining = first;
        let wake: (() => void) | undefined;
        const unwatch = watch(s.id, (left) => {
          remaining = left;
          wake?.();
        });
        stream.onAbort(() => wake?.());
        try {
          for (;;) {
            const view = saleView(s, remaining);
            const key = `${view.remaining}|${view.status}`;
            if (key !== sent) {
              sent = key;
              const data = {
                id: s.id,
                remaining: view.remaining,
                status: view.status,
                startsAt: s.startsAt.toISOString(),
                endsAt: s.endsAt?.toISOString() ?? null,
                now: new Date().toISOString(),
              };
              await stream.writeSSE({ event: "sale", data: JSON.stringify(data) });
              wroteAt = Date.now();
            }
            if (view.status === "ended" || stream.aborted) return;
            await new Promise<void>((resolve) => {
              const t = setTimeout(resolve, KEEP_ALIVE_MS);
              wake = () => {
                clearTimeout(t);
                resolve();
              };
            });
            wake = undefined;
            if (stream.aborted) return;
            if (Date.now() - wroteAt >= KEEP_ALIVE_MS) {
              await stream.write(": keep-alive\n\n");
              wroteAt = Date.now();
            }
          }
        } catch {
          // the client went away mid-write
        } finally {
          unwatch();
          open--;
        }
      });
    },
  );
  return app;
}
