// Releases flash-sale holds whose order never reached Postgres: the edge admitted a buyer in Redis and died
// before publishing the order. A hold older than the grace period with no order row is tombstoned under the
// order id's advisory lock (the order worker takes the same lock, so a late placement is dropped, never both),
// then its units go back to the gate. It acts only while the order consumer has drained: then every placement
// JetStream acked before is an order row, and a hold without one was never published.

import type { JetStreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { gt, inArray, isNull, or } from "drizzle-orm";
import { abandonedOrders, type Db, orders, sales } from "../../db";
import { lockOrders } from "../../domain/order";
import { type Gate, ordersDrained } from "../../domain/sale";
import { type Logger, repeat, SALE_RESTOCKED } from "../../nats";

export async function sweepHolds(
  o: { db: Db; gate: Gate; jsm: JetStreamManager; nc?: NatsConnection; log: Logger; graceMs: number },
  now = Date.now(),
) {
  // a placement still waiting in JetStream has no row yet but is not abandoned: sweep only a drained pipeline
  if (!(await ordersDrained(o.jsm, 0))) return 0;
  const live = await o.db
    .select({ id: sales.id })
    .from(sales)
    .where(or(isNull(sales.endsAt), gt(sales.endsAt, new Date(now - 3_600_000))));
  let abandoned = 0;
  for (const { id: saleId } of live) {
    // A: a sweep that stopped between the tombstone and the release finishes the job
    const unseen = (await o.gate.holds(saleId)).filter(
      (h) => (h.state === "P" || h.state === "A") && now - h.at > o.graceMs,
    );
    if (!unseen.length) continue;
    const ids = unseen.map((h) => h.orderId);
    const placed = new Set(
      (await o.db.select({ id: orders.id }).from(orders).where(inArray(orders.id, ids))).map((r) => r.id),
    );
    await o.gate.mark(saleId, "P", "S", [...placed]);
    await o.gate.mark(saleId, "A", "S", [...placed]);
    for (const { orderId, state } of unseen.filter((h) => !placed.has(h.orderId))) {
      // first in Redis, so a keyed retry of this purchase waits (BUSY) instead of re-placing what is dropped
      if (state === "P" && !(await o.gate.mark(saleId, "P", "A", [orderId]))) continue;
      const gone = await o.db.transaction(async (tx) => {
        await lockOrders(tx, [orderId]);
        const [exists] = await tx
          .select({ id: orders.id })
          .from(orders)
          .where(inArray(orders.id, [orderId]));
        if (exists) return false;
        await tx.insert(abandonedOrders).values({ orderId }).onConflictDoNothing();
        return true;
      });
      if (!gone) {
        await o.gate.mark(saleId, "A", "S", [orderId]);
        continue;
      }
      if ((await o.gate.release(saleId, orderId, { forgetIdempotency: true })) > 0) {
        abandoned++;
        o.nc?.publish(SALE_RESTOCKED, JSON.stringify({ saleId, at: Date.now() }));
        o.log.warn("hold released: its order never reached postgres", { saleId, orderId });
      }
    }
  }
  return abandoned;
}

export function startHoldSweeper(o: Parameters<typeof sweepHolds>[0] & { everyMs: number }) {
  return repeat(
    o.everyMs,
    () => sweepHolds(o),
    (err) => o.log.warn("hold sweep failed", { err }),
  );
}
