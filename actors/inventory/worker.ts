// Inventory: takes units for an order all-or-nothing (never below zero) and gives them back once.
import { and, eq, inArray, sql } from "drizzle-orm";
import { reservations, stock, type Tx } from "../../db";
import type { Data, LineItem } from "../../nats";
import type { Outgoing } from "../../nats";
import type { BatchHandler } from "../lib/worker";

export const inventoryHandler: BatchHandler = async (tx, batch) => {
  const out = [];
  for (const inc of batch) {
    const { env } = inc;
    if (env.type === "inventory.cmd.reserve") out.push({ msg: await reserve(tx, env.data as Data<"inventory.cmd.reserve">), cause: inc });
    if (env.type === "inventory.cmd.release") out.push({ msg: await release(tx, env.data as Data<"inventory.cmd.release">), cause: inc });
  }
  return out;
};

function perProduct(items: LineItem[]) {
  const m = new Map<string, number>();
  for (const i of items) m.set(i.productId, (m.get(i.productId) ?? 0) + i.quantity);
  return [...m.entries()].sort(([a], [b]) => a.localeCompare(b));
}

async function reserve(tx: Tx, { orderId, items }: Data<"inventory.cmd.reserve">): Promise<Outgoing> {
  const existing = await tx.select({ id: reservations.itemId }).from(reservations).where(eq(reservations.orderId, orderId)).limit(1);
  if (existing.length) return { type: "inventory.evt.reserved", data: { orderId } };
  const wanted = perProduct(items);
  const values = sql.join(wanted.map(([p, q]) => sql`(${p}::uuid, ${q}::int)`), sql`, `);
  const taken = await tx.execute<{ product_id: string; q: number }>(sql`
    update ${stock} s set available = s.available - w.q, updated_at = now()
    from (values ${values}) as w(product_id, q)
    where s.product_id = w.product_id and s.available >= w.q
    returning s.product_id, w.q`);
  if (taken.length < wanted.length) {
    // all or nothing: put back what this order took before one of its products fell short
    for (const row of taken)
      await tx.update(stock).set({ available: sql`${stock.available} + ${row.q}` }).where(eq(stock.productId, row.product_id));
    return { type: "inventory.evt.rejected", data: { orderId, reason: "OUT_OF_STOCK" } };
  }
  await tx.insert(reservations).values(items.map((i) => ({ orderId, itemId: i.itemId, productId: i.productId, quantity: i.quantity })));
  return { type: "inventory.evt.reserved", data: { orderId } };
}

async function release(tx: Tx, { orderId, itemIds }: Data<"inventory.cmd.release">): Promise<Outgoing> {
  const freed = await tx
    .update(reservations)
    .set({ status: "RELEASED", updatedAt: sql`now()` })
    .where(
      and(
        eq(reservations.orderId, orderId),
        eq(reservations.status, "RESERVED"),
        ...(itemIds ? [inArray(reservations.itemId, itemIds)] : []),
      ),
    )
    .returning();
  for (const [productId, q] of perProduct(freed.map((r) => ({ ...r, price: 0 }))))
    await tx.update(stock).set({ available: sql`${stock.available} + ${q}`, updatedAt: sql`now()` }).where(eq(stock.productId, productId));
  const all = itemIds ?? freed.map((r) => r.itemId);
  return { type: "inventory.evt.released", data: { orderId, itemIds: all } };
}
