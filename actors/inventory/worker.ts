// Inventory: takes units for an order all-or-nothing (never below zero) and gives them back once.
// A batch locks every stock row it may change up front, in one sorted statement (two instances never
// deadlock), decides its reservations in arrival order in memory, and writes them in one statement per table.
import { and, eq, inArray, sql } from "drizzle-orm";
import { reservations, saleStock, stock, type Tx } from "../../db";
import type { Data, LineItem, Outgoing } from "../../nats";
import type { BatchHandler, Incoming } from "../lib/worker";

type Reserve = Data<"inventory.cmd.reserve">;
type Release = Data<"inventory.cmd.release">;

export const inventoryHandler: BatchHandler = async (tx, batch) => {
  const reserves = batch.filter((b) => b.env.type === "inventory.cmd.reserve");
  const releases = batch.filter((b) => b.env.type === "inventory.cmd.release");
  await lockRows(
    tx,
    reserves.map((b) => b.env.data as Reserve),
    releases.map((b) => b.env.data as Release),
  );
  const out = new Map<Incoming, Outgoing>();
  // releases first: the units they give back are there for this batch's reservations
  for (const inc of releases) out.set(inc, await release(tx, inc.env.data as Release));
  const decided = await reserveAll(
    tx,
    reserves.map((b) => b.env.data as Reserve),
  );
  for (const [i, inc] of reserves.entries()) out.set(inc, decided[i]!);
  return batch.filter((b) => out.has(b)).map((b) => ({ msg: out.get(b)!, cause: b }));
};

/** One array parameter, whatever the batch's size. */
const list = (values: unknown[]) => sql.param(values);
const sorted = (s: Set<string>) => [...s].sort();

function perProduct(items: LineItem[]) {
  const m = new Map<string, number>();
  for (const i of items) m.set(i.productId, (m.get(i.productId) ?? 0) + i.quantity);
  return [...m.entries()].sort(([a], [b]) => a.localeCompare(b));
}

/** Locks the stock and sale rows this batch may change, each table in one statement in key order. */
async function lockRows(tx: Tx, reserves: Reserve[], releases: Release[]) {
  const products = new Set<string>();
  const sales = new Set<string>();
  for (const r of reserves)
    if (r.saleId) sales.add(r.saleId);
    else for (const i of r.items) products.add(i.productId);
  if (releases.length) {
    const held = await tx.execute<{ product_id: string; sale_id: string | null }>(sql`
      select distinct product_id, sale_id from ${reservations}
      where order_id = any(${list(releases.map((r) => r.orderId))}::uuid[]) and status = 'RESERVED'`);
    for (const h of held)
      if (h.sale_id) sales.add(h.sale_id);
      else products.add(h.product_id);
  }
  if (products.size)
    await tx.execute(
      sql`select 1 from ${stock} where product_id = any(${list(sorted(products))}::uuid[]) order by product_id for update`,
    );
  if (sales.size)
    await tx.execute(
      sql`select 1 from ${saleStock} where sale_id = any(${list(sorted(sales))}::uuid[]) order by sale_id for update`,
    );
}

/**
 * Decides the batch's reservations in arrival order against the locked rows: an order gets all its units
 * or none; a sale's units come from the sale. An order reserved before (a redelivery) is answered again.
 */
async function reserveAll(tx: Tx, reserves: Reserve[]): Promise<Outgoing[]> {
  if (!reserves.length) return [];
  const productIds = new Set(reserves.filter((r) => !r.saleId).flatMap((r) => r.items.map((i) => i.productId)));
  const saleIds = new Set(reserves.flatMap((r) => (r.saleId ? [r.saleId] : [])));
  type Left = { id: string; available: number }[];
  // the three reads need nothing from each other: sent together, answered in one round trip
  const [seen, products, sales] = await Promise.all([
    tx.execute<{ order_id: string }>(
      sql`select distinct order_id from ${reservations} where order_id = any(${list(reserves.map((r) => r.orderId))}::uuid[])`,
    ),
    productIds.size
      ? tx.execute<Left[number]>(
          sql`select product_id as id, available from ${stock} where product_id = any(${list(sorted(productIds))}::uuid[])`,
        )
      : ([] as Left),
    saleIds.size
      ? tx.execute<Left[number]>(
          sql`select sale_id as id, available from ${saleStock} where sale_id = any(${list(sorted(saleIds))}::uuid[])`,
        )
      : ([] as Left),
  ]);
  const done = new Set(seen.map((r) => r.order_id));
  const left = new Map(products.map((r) => [r.id, r.available]));
  const saleLeft = new Map(sales.map((r) => [r.id, r.available]));

  const taken = new Map<string, number>();
  const saleTaken = new Map<string, number>();
  const rows: { orderId: string; itemId: string; productId: string; saleId: string | null; quantity: number }[] = [];
  const decided = reserves.map((r): Outgoing => {
    const reserved: Outgoing = { type: "inventory.evt.reserved", data: { orderId: r.orderId } };
    if (done.has(r.orderId)) return reserved;
    if (r.saleId) {
      const units = r.items.reduce((n, i) => n + i.quantity, 0);
      const have = saleLeft.get(r.saleId) ?? 0;
      if (have < units) return { type: "inventory.evt.rejected", data: { orderId: r.orderId, reason: "OUT_OF_STOCK" } };
      saleLeft.set(r.saleId, have - units);
      saleTaken.set(r.saleId, (saleTaken.get(r.saleId) ?? 0) + units);
    } else {
      const wanted = perProduct(r.items);
      if (!wanted.every(([p, q]) => (left.get(p) ?? 0) >= q))
        return { type: "inventory.evt.rejected", data: { orderId: r.orderId, reason: "OUT_OF_STOCK" } };
      for (const [p, q] of wanted) {
        left.set(p, left.get(p)! - q);
        taken.set(p, (taken.get(p) ?? 0) + q);
      }
    }
    done.add(r.orderId);
    for (const i of r.items)
      rows.push({
        orderId: r.orderId,
        itemId: i.itemId,
        productId: i.productId,
        saleId: r.saleId ?? null,
        quantity: i.quantity,
      });
    return reserved;
  });

  const col = <T>(f: (r: (typeof rows)[number]) => T) => list(rows.map(f));
  // and the writes likewise
  await Promise.all([
    taken.size &&
      tx.execute(sql`
        update ${stock} s set available = s.available - v.q, updated_at = now()
        from unnest(${list([...taken.keys()])}::uuid[], ${list([...taken.values()])}::int[]) as v(id, q) where s.product_id = v.id`),
    saleTaken.size &&
      tx.execute(sql`
        update ${saleStock} s set available = s.available - v.q, updated_at = now()
        from unnest(${list([...saleTaken.keys()])}::uuid[], ${list([...saleTaken.values()])}::int[]) as v(id, q) where s.sale_id = v.id`),
    rows.length &&
      tx.execute(sql`
        insert into ${reservations} (order_id, item_id, product_id, sale_id, quantity)
        select * from unnest(${col((r) => r.orderId)}::uuid[], ${col((r) => r.itemId)}::uuid[], ${col((r) => r.productId)}::uuid[],
          ${col((r) => r.saleId)}::uuid[], ${col((r) => r.quantity)}::int[])`),
  ]);
  return decided;
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
    await tx
      .update(saleStock)
      .set({ available: sql`${saleStock.available} + ${fromSale}`, updatedAt: sql`now()` })
      .where(eq(saleStock.saleId, saleId));
  for (const [productId, q] of perProduct(freed.filter((r) => !r.saleId).map((r) => ({ ...r, price: 0 }))))
    await tx
      .update(stock)
      .set({ available: sql`${stock.available} + ${q}`, updatedAt: sql`now()` })
      .where(eq(stock.productId, productId));
  const all = itemIds ?? freed.map((r) => r.itemId);
  if (!saleId) return { type: "inventory.evt.released", data: { orderId, itemIds: all } };
  // the gate hears of it: only units freed now go back (a repeated release frees nothing)
  return { type: "inventory.evt.released", data: { orderId, itemIds: all, ...(fromSale ? { saleId } : {}) } };
}
