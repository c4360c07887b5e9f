// Inventory: takes units for an order all-or-nothing (never below zero) and gives them back once.
import { and, eq, inArray, sql } from "drizzle-orm";
import { reservations, saleStock, stock, type Tx } from "../../db";
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

async function reserve(tx: Tx, { orderId, items, saleId }: Data<"inventory.cmd.reserve">): Promise<Outgoing> {
  const existing = await tx.select({ id: reservations.itemId }).from(reservations).where(eq(reservations.orderId, orderId)).limit(1);
  if (existing.length) return { type: "inventory.evt.reserved", data: { orderId } };
  if (saleId) return reserveFromSale(tx, orderId, items, saleId);
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

/** A sale's units were carved out of the product's stock when the sale was made: take them from the sale. */
async function reserveFromSale(tx: Tx, orderId: string, items: LineItem[], saleId: string): Promise<Outgoing> {
  const units = items.reduce((n, i) => n + i.quantity, 0);
  const taken = await tx
    .update(saleStock)
    .set({ available: sql`${saleStock.available} - ${units}`, updatedAt: sql`now()` })
    .where(and(eq(saleStock.saleId, saleId), sql`${saleStock.available} >= ${units}`))
    .returning({ saleId: saleStock.saleId });
  if (!taken.length) return { type: "inventory.evt.rejected", data: { orderId, reason: "OUT_OF_STOCK" } };
  await tx.insert(reservations).values(items.map((i) => ({ orderId, itemId: i.itemId, productId: i.productId, saleId, quantity: i.quantity })));
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
  const saleId = freed.find((r) => r.saleId)?.saleId ?? undefined;
  const fromSale = freed.filter((r) => r.saleId).reduce((n, r) => n + r.quantity, 0);
  if (saleId && fromSale)
    await tx.update(saleStock).set({ available: sql`${saleStock.available} + ${fromSale}`, updatedAt: sql`now()` }).where(eq(saleStock.saleId, saleId));
  for (const [productId, q] of perProduct(freed.filter((r) => !r.saleId).map((r) => ({ ...r, price: 0 }))))
    await tx.update(stock).set({ available: sql`${stock.available} + ${q}`, updatedAt: sql`now()` }).where(eq(stock.productId, productId));
  const all = itemIds ?? freed.map((r) => r.itemId);
  if (!saleId) return { type: "inventory.evt.released", data: { orderId, itemIds: all } };
  // the gate hears of it: only units freed now go back (a repeated release frees nothing)
  return { type: "inventory.evt.released", data: { orderId, itemIds: all, ...(fromSale ? { saleId } : {}) } };
}
