// Each order's time from its placement to CONFIRMED, for the benches: read after the run, so nothing of it is
// measured. The placement is the orders.cmd.place message's JetStream timestamp (a flash-sale purchase is answered
// 202 right after that publish is acked; the saga bench publishes the command itself); CONFIRMED is the order's
// history row (its transaction's time). Both clocks are this machine's.
import { jetstream } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import postgres from "postgres";

export type Latency = { orders: number; p50ms: number; p99ms: number; maxMs: number };

/** The placement time (ms since the epoch) of every order placed through the ORDERS stream, by order id. */
export async function placedAt(natsUrl: string): Promise<Map<string, number>> {
  const nc = await connect({ servers: natsUrl });
  const out = new Map<string, number>();
  try {
    const consumer = await jetstream(nc).consumers.get("ORDERS", { filter_subjects: "orders.cmd.place" });
    for (;;) {
      let pending = 0;
      let seen = 0;
      for await (const m of await consumer.fetch({ max_messages: 1000, expires: 2000 })) {
        seen++;
        pending = m.info.pending;
        const id = m.json<{ orderId?: string }>().orderId;
        // the first copy counts (a replay under the same message id never reaches the stream)
        if (id && !out.has(id)) out.set(id, m.info.timestampNanos / 1e6);
      }
      if (!seen || !pending) return out;
    }
  } finally {
    await nc.close();
  }
}

const at = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;

/** Placement to CONFIRMED for the confirmed orders (of one sale, when `saleId` is given). */
export async function placedToConfirmed(natsUrl: string, databaseUrl: string, saleId?: string): Promise<Latency> {
  const placed = await placedAt(natsUrl);
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  try {
    const rows = await sql<{ id: string; at: number }[]>`
      select h.order_id as id, (extract(epoch from h.created_at) * 1000)::float8 as at
      from ordering.order_history h join ordering.orders o on o.id = h.order_id
      where h.status = 'CONFIRMED' and (${saleId ?? null}::uuid is null or o.sale_id = ${saleId ?? null}::uuid)`;
    const ms = rows.flatMap((r) => (placed.has(r.id) ? [r.at - placed.get(r.id)!] : [])).sort((x, y) => x - y);
    return { orders: ms.length, p50ms: at(ms, 0.5), p99ms: at(ms, 0.99), maxMs: ms.at(-1) ?? 0 };
  } finally {
    await sql.end();
  }
}
