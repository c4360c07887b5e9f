// The ops tick: once a second every process (each edge, each actor with a breaker) tells the ops consoles what
// only it knows: the answers it gave in that second by status, its breakers' states, how often its rate
// limiter ran on the local fallback. Core NATS, outside every stream: a lost tick is a gap in a chart.
import { hostname } from "node:os";
import type { NatsConnection } from "@nats-io/transport-node";
import { z } from "zod";

export const OPS_TICK = "ops.tick";
export const opsTick = z.object({
  /** The process kind (edge, payment, notification, ...) and its identity (host:pid). */
  proc: z.string(),
  id: z.string(),
  /** The second the tick covers (epoch seconds). */
  second: z.number().int(),
  /** Answers given in that second, by HTTP status. */
  answers: z.record(z.string(), z.number().int()).optional(),
  /** Rate-limit decisions taken on the local fallback since the process started. */
  degraded: z.number().int().optional(),
  breakers: z.array(z.object({ name: z.string(), state: z.enum(["closed", "open", "half_open"]) })).optional(),
});
export type OpsTick = z.infer<typeof opsTick>;

/** Publishes `read()`'s tick at the end of every wall-clock second until stopped. */
export function startOpsTick(
  nc: NatsConnection,
  proc: string,
  read: () => Omit<OpsTick, "proc" | "id" | "second">,
): () => void {
  const id = `${hostname()}:${process.pid}`;
  let timer: ReturnType<typeof setTimeout>;
  const next = () => {
    timer = setTimeout(
      () => {
        const second = Math.floor(Date.now() / 1000) - 1;
        try {
          nc.publish(OPS_TICK, JSON.stringify({ proc, id, second, ...read() } satisfies OpsTick));
        } catch {} // the connection is closing: the tick is only a chart's point
        next();
      },
      1000 - (Date.now() % 1000) + 5,
    );
    timer.unref?.();
  };
  next();
  return () => clearTimeout(timer);
}
