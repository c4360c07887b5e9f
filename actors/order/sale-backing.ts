// Postgres backs the flash-sale gate. Redis replicates asynchronously: a primary that fails over can forget
// its last purchases, and the promoted replica then admits a shopper past the limit, or a unit that is gone.
// So each placement is checked against the sale's orders in the batch's transaction (the sale's row locked, so
// the order workers take one sale's placements one batch at a time) and refused when the sale cannot take it.
// A placement whose Idempotency-Key already has an order of the sale is refused too: a key retried after its
// answer was lost, at a gate that forgot the key, buys once. A refused order is cancelled at once
// (LIMIT_REACHED, OUT_OF_STOCK or DUPLICATE_PURCHASE); its hold goes back when the gate is repaired from
// Postgres (actors/gate/repair.ts).
import { sql } from "drizzle-orm";
import { orderItems, orders, reservations, sales, type Tx } from "../../db";
import type { Data } from "../../nats";

export type Refusal = "LIMIT_REACHED" | "OUT_OF_STOCK" | "DUPLICATE_PURCHASE";
/** What a sale's orders hold now: units in all, per shopper, and the Idempotency-Keys that have an order. */
export type SaleHeld = {
  quantity: number;
  perUserLimit: number;
  total: number;
  byUser: Map<string, number>;
  keys: Set<string>;
};
export type Placement = { orderId: string; userId: string; saleId: string; quantity: number; key?: string };

const keyOf = (userId: string, key: string) => `${userId}:${key}`;

/** Pure: the placements the sale cannot take, in the order given; the accepted ones count as held from then on. */
export function decidePlacements(placements: Placement[], held: Map<string, SaleHeld>): Map<string, Refusal> {
  const refused = new Map<string, Refusal>();
  for (const p of placements) {
    const s = held.get(p.saleId);
    if (!s) continue; // no such sale row: nothing to check against (the inventory step refuses it)
    const mine = s.byUser.get(p.userId) ?? 0;
    const key = p.key === undefined ? undefined : keyOf(p.userId, p.key);
    if (key !== undefined && s.keys.has(key)) {
      refused.set(p.orderId, "DUPLICATE_PURCHASE");
      continue;
    }
    if (key !== undefined) s.keys.add(key);
    if (mine + p.quantity > s.perUserLimit) refused.set(p.orderId, "LIMIT_REACHED");
    else if (s.total + p.quantity > s.quantity) refused.set(p.orderId, "OUT_OF_STOCK");
    else {
      s.byUser.set(p.userId, mine + p.quantity);
      s.total += p.quantity;
    }
  }
  return refused;
}

export const placementOf = (d: Data<"orders.cmd.place">): Placement | undefined =>
  d.saleId
    ? {
        orderId: d.orderId,
        userId: d.userId,
        saleId: d.saleId,
        quantity: d.items.reduce((n, i) => n + i.quantity, 0),
        key: d.idempotency?.key,
      }
    : undefined;

/**
 * Locks the sales' rows (in id order) and reads what their orders hold: an order holds its units unless it is
 * cancelled or its reservation was given back (the same rule the gate is rebuilt by).
 */
export async function saleHoldings(tx: Tx, placements: Placement[]): Promise<Map<string, SaleHeld>> {
  const held = new Map<string, SaleHeld>();
  if (!placements.length) return held;
  const ids = sql.param([...new Set(placements.map((p) => p.saleId))].sort());
  const rows = await tx.execute<{ id: string; quantity: number; per_user_limit: number }>(
    sql`select id, quantity, per_user_limit from ${sales} where id = any(${ids}::uuid[]) order by id for update`,
  );
  for (const r of rows)
    held.set(r.id, {
      quantity: r.quantity,
      perUserLimit: r.per_user_limit,
      total: 0,
      byUser: new Map(),
      keys: new Set(),
    });
  const taken = await tx.execute<{ sale_id: string; user_id: string; n: number }>(sql`
    select o.sale_id, o.user_id, sum(i.quantity)::int as n from ${orders} o join ${orderItems} i on i.order_id = o.id
    where o.sale_id = any(${ids}::uuid[]) and o.status <> 'CANCELLED'
      and not exists (select 1 from ${reservations} r where r.order_id = o.id and r.status = 'RELEASED')
    group by o.sale_id, o.user_id`);
  for (const t of taken) {
    const s = held.get(t.sale_id)!;
    s.byUser.set(t.user_id, t.n);
    s.total += t.n;
  }
  const keys = [...new Set(placements.flatMap((p) => (p.key === undefined ? [] : [p.key])))];
  if (keys.length) {
    // any order of the key counts, cancelled or not: its retries are answered with it
    const used = await tx.execute<{ sale_id: string; user_id: string; key: string }>(sql`
      select sale_id, user_id, idempotency_key as key from ${orders}
      where sale_id = any(${ids}::uuid[]) and idempotency_key = any(${sql.param(keys)}::text[])`);
    for (const u of used) held.get(u.sale_id)?.keys.add(keyOf(u.user_id, u.key));
  }
  return held;
}
