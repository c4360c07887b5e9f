// The edge as several processes on one port (EDGE_PROCESSES, one per core by default): each binds with
// SO_REUSEPORT and the kernel spreads connections over them. Each gets its share of the cores for password
// hashing and, when metrics ports are given, its own internal metrics listener.
import { availableParallelism } from "node:os";
import type { ProcSpec } from "./supervise";

/** How many edge processes: EDGE_PROCESSES, one per core by default. */
export function edgeCount(env: Record<string, string | undefined>): number {
  const n = Number(env.EDGE_PROCESSES || availableParallelism());
  if (!Number.isInteger(n) || n < 1)
    throw new Error(`EDGE_PROCESSES must be a positive integer, not ${env.EDGE_PROCESSES}`);
  return n;
}

export function edgeSpecs(env: Record<string, string | undefined>, metricsPorts?: number[]): ProcSpec[] {
  const n = edgeCount(env);
  const base = env.METRICS_PORT ? Number(env.METRICS_PORT) : undefined;
  const hashing = env.HASH_CONCURRENCY ?? String(Math.max(1, Math.floor(availableParallelism() / n)));
  return Array.from({ length: n }, (_, i) => {
    const metrics = metricsPorts?.[i] ?? (base ? base + i : undefined);
    return {
      label: n > 1 ? `edge-${i + 1}` : "edge",
      cmd: [process.execPath, "edge/main.ts"],
      env: {
        HASH_CONCURRENCY: hashing,
        REUSE_PORT: n > 1 ? "1" : "0",
        ...(metrics ? { METRICS_PORT: String(metrics) } : {}),
      },
    };
  });
}
