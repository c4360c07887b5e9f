// Redis replicates asynchronously: a primary that fails over can come back as its replica's copy, without its
// last purchases and releases. Postgres holds every order, so the gate is checked against it and repaired where
// they disagree: an order Postgres has and the gate holds no hold for (the gate forgot the purchase), or an order
// Postgres has given back (released, cancelled, or refused by the order actor: sale-backing.ts) that the gate
// still counts, once the releases on their way have reached the gate. The repair keeps what only Redis knows
// (placements still on their way to Postgres), so it can run while a sale is live.
import type { JetStreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { gt, isNull, or } from "drizzle-orm";
import { type Db, sales } from "../../db";
import { decodeHold, type Gate, type GateLoad, gateFromPostgres, type Hold } from "../../domain/sale";
import { consumers, type Logger, repeat, SALE_RESTOCKED } from "../../nats";

/** Pure: why the gate's holds disagree with Postgres's, or undefined when they agree. */
export function disagreement(postgres: GateLoad["holds"], gate: Hold[], releasesArrived: boolean): string | undefined {
  const held = new Map(gate.map((h) => [h.orderId, h.state]));
  for (const [orderId, v] of Object.entries(postgres)) {
    const state = held.get(orderId);
    if (state === undefined) return `order ${orderId} has no hold`;
    if (releasesArrived && decodeHold(orderId, v).state === "R" && state !== "R")
      return `order ${orderId} was given back, its hold was not`;
  }
  return undefined;
}

/** Whether the gate's consumer has taken every release published so far (it acks after giving the units back). */
async function releasesArrived(jsm: JetStreamManager): Promise<boolean> {
  const spec = consumers.gate[0];
  const info = await jsm.consumers.info(spec.stream, spec.durable).catch(() => undefined);
  return !!info && info.num_pending === 0 && info.num_ack_pending === 0;
}

/** Which sales are checked: the live and scheduled ones, and those that ended within this long (orders settling). */
const ENDED_SALES_CHECKED_MS = 3_600_000;

export async function repairGates(
  o: { db: Db; gate: Gate; jsm: JetStreamManager; nc?: NatsConnection; log: Logger },
  now = Date.now(),
) {
  const live = await o.db
    .select({ id: sales.id })
    .from(sales)
    .where(or(isNull(sales.endsAt), gt(sales.endsAt, new Date(now - ENDED_SALES_CHECKED_MS))));
  let repaired = 0;
  for (const { id: saleId } of live) {
    if (!(await o.gate.counters(saleId))) continue; // not loaded: the next purchase rebuilds it
    const arrived = await releasesArrived(o.jsm);
    const load = await gateFromPostgres(o.db, saleId);
    if (!load) continue;
    const why = disagreement(load.holds, await o.gate.holds(saleId), arrived);
    if (!why) continue;
    const r = await o.gate.repair(saleId, load);
    if (!r) continue;
    repaired++;
    o.log.warn("sale gate repaired from postgres", { saleId, why, remainingBefore: r.before, remaining: r.after });
    if (r.after > r.before) o.nc?.publish(SALE_RESTOCKED, JSON.stringify({ saleId, at: Date.now() }));
  }
  return repaired;
}

export function startGateRepair(o: Parameters<typeof repairGates>[0] & { everyMs: number }) {
  return repeat(
    o.everyMs,
    () => repairGates(o),
    (err) => o.log.warn("gate check failed", { err }),
  );
}
