// GET /v1/ops/stream (admin): the ops console's feed (feed.ts) as Server-Sent Events. Each console gets the
// latest of every event; one that reads slowly skips to the newest rather than queueing old ones.
import { Hono } from "hono";
import { streamSSE } from "hono/streaming";
import type { Deps, Env } from "../deps";
import { requireRole } from "../middleware/auth";
import { openapi } from "../openapi";
import { type FeedEvent, opsFeed, WINDOW_S } from "./feed";

export function opsStreamRoutes(d: Deps) {
  const app = new Hono<Env>();
  const feed = opsFeed(d);

  app.get(
    "/v1/ops/stream",
    requireRole("admin"),
    openapi({
      summary: "The ops console's live feed as Server-Sent Events",
      description: `Events, each the whole current picture of its kind: \`sales\` (each sale worth watching with remaining units, admitted per second, pending and settled orders, time to sell out; every second), \`answers\` (answers per second by HTTP status over the last ${WINDOW_S} s, summed over every edge process; every second), \`health\` (breaker states and the degraded rate-limit count of every process; every second), \`audits\` (each started sale's invariants), \`stuck\` (sagas that stopped moving), \`dlq\` (the first dead letters and their total).`,
      tags: ["ops"],
      responses: { 200: { description: "text/event-stream", contentType: "text/event-stream" } },
    }),
    (c) =>
      streamSSE(c, async (stream) => {
        const waiting = new Map<FeedEvent, unknown>();
        let writing = false;
        const flush = async () => {
          if (writing) return;
          writing = true;
          try {
            for (const [event, data] of waiting) {
              waiting.delete(event);
              if (stream.aborted) return;
              await stream.writeSSE({ event, data: JSON.stringify(data) });
            }
          } finally {
            writing = false;
          }
        };
        const unsubscribe = feed.subscribe((event, data) => {
          waiting.set(event, data);
          void flush().catch(() => {});
        });
        await new Promise<void>((resolve) => stream.onAbort(resolve));
        unsubscribe();
      }),
  );
  return app;
}
