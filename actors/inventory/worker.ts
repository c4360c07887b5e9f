// Inventory: takes units for an order all-or-nothing (never below zero) and gives them back once.
// A batch locks every stock row it may change up front, in one sorted statement (two instances never
// deadlock), decides its reservations in arrival order in memory, and writes them in one statement per table.
import { sql } from "drizzle-orm";
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
  const freed = await releaseAll(
    tx,
    releases.map((b) => b.env.data as Release),
  );
  for (const [i, inc] of releases.entries()) out.set(inc, freed[i]!);
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
    tx.execute<{ order_id: string }>(reservedBefore(reserves.map((r) => r.orderId))),
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

  // units taken, as changes to the stock: negative
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
      saleTaken.set(r.saleId, (saleTaken.get(r.saleId) ?? 0) - units);
    } else {
      const wanted = perProduct(r.items);
      if (!wanted.every(([p, q]) => (left.get(p) ?? 0) >= q))
        return { type: "inventory.evt.rejected", data: { orderId: r.orderId, reason: "OUT_OF_STOCK" } };
      for (const [p, q] of wanted) {
        left.set(p, left.get(p)! - q);
        taken.set(p, (taken.get(p) ?? 0) - q);
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
    ...moveUnits(tx, taken, saleTaken),
    rows.length &&
      tx.execute(sql`
        insert into ${reservations} (order_id, item_id, product_id, sale_id, quantity)
        select * from unnest(${col((r) => r.orderId)}::uuid[], ${col((r) => r.itemId)}::uuid[], ${col((r) => r.productId)}::uuid[],
          ${col((r) => r.saleId)}::uuid[], ${col((r) => r.quantity)}::int[])`),
  ]);
  return decided;
}

/** Adds each change (negative: units taken) to its product's stock and its sale's, one statement per table. */
function moveUnits(tx: Tx, products: Map<string, number>, sales: Map<string, number>): Promise<unknown>[] {
  const change = (table: typeof stock | typeof saleStock, key: "product_id" | "sale_id", m: Map<string, number>) =>
    tx.execute(sql`
      update ${table} s set available = s.available + v.q, updated_at = now()
      from unnest(${list([...m.keys()])}::uuid[], ${list([...m.values()])}::int[]) as v(id, q) where s.${sql.raw(key)} = v.id`);
  return [
    ...(products.size ? [change(stock, "product_id", products)] : []),
    ...(sales.size ? [change(saleStock, "sale_id", sales)] : []),
  ];
}

// The two statements on reservations that run for every batch name their rows by key: a semi join from the
// batch's ids, an update joined on the whole key. Each row is one probe of the key's index whether or not the
// table has statistics yet; `order_id = any(...)` was planned as a scan of the whole table while it had none
// (a fresh database: a sale's first minute), once per batch.

/** The orders among these that hold reservations already (reserved before: a redelivery). */
export const reservedBefore = (orderIds: string[]) =>
  sql`select v.id as order_id from unnest(${list(orderIds)}::uuid[]) as v(id)
    where exists (select from ${reservations} r where r.order_id = v.id)`;

/** Frees these items' reservations, those still held; returns what it freed. */
export const freeItems = (items: (readonly [orderId: string, itemId: string])[]) =>
  sql`update ${reservations} r set status = 'RELEASED', updated_at = now()
    from unnest(${list(items.map(([o]) => o))}::uuid[], ${list(items.map(([, i]) => i))}::uuid[]) as v(order_id, item_id)
    where r.order_id = v.order_id and r.item_id = v.item_id and r.status = 'RESERVED'
    returning r.order_id, r.item_id, r.product_id, r.sale_id, r.quantity`;

type Freed = { order_id: string; item_id: string; product_id: string; sale_id: string | null; quantity: number };

/**
 * Gives back the units of the batch's releases: one statement frees the items they name (one more the orders
 * released whole), one gives the units back per table. An order released twice in one batch (an item,
 * then the rest) is released one release at a time, so each release's fact names exactly what it freed.
 */
async function releaseAll(tx: Tx, rels: Release[]): Promise<Outgoing[]> {
  const counts = new Map<string, number>();
  for (const r of rels) counts.set(r.orderId, (counts.get(r.orderId) ?? 0) + 1);
  const out: Outgoing[] = new Array(rels.length);
  const together = rels.flatMap((r, i) => (counts.get(r.orderId) === 1 ? [i] : []));
  const facts = await freeAndGiveBack(
    tx,
    together.map((i) => rels[i]!),
  );
  for (const [k, i] of together.entries()) out[i] = facts[k]!;
  for (const [i, r] of rels.entries()) if (counts.get(r.orderId)! > 1) out[i] = (await freeAndGiveBack(tx, [r]))[0]!;
  return out;
}

/** Releases of distinct orders: their reservations freed and their units given back. */
async function freeAndGiveBack(tx: Tx, rels: Release[]): Promise<Outgoing[]> {
  if (!rels.length) return [];
  const whole = rels.filter((r) => !r.itemIds).map((r) => r.orderId);
  const some = rels.flatMap((r) => (r.itemIds ?? []).map((itemId) => [r.orderId, itemId] as const));
  const [named, wholes] = await Promise.all([
    some.length ? tx.execute<Freed>(freeItems(some)) : [],
    // whole orders (no items named: not the saga's, which names them) apart
    whole.length
      ? tx.execute<Freed>(sql`
          update ${reservations} r set status = 'RELEASED', updated_at = now()
          where r.status = 'RESERVED' and r.order_id = any(${list(whole)}::uuid[])
          returning r.order_id, r.item_id, r.product_id, r.sale_id, r.quantity`)
      : [],
  ]);
  const freed = [...named, ...wholes];
  const units = new Map<string, number>();
  const saleUnits = new Map<string, number>();
  for (const f of freed)
    if (f.sale_id) saleUnits.set(f.sale_id, (saleUnits.get(f.sale_id) ?? 0) + f.quantity);
    else units.set(f.product_id, (units.get(f.product_id) ?? 0) + f.quantity);
  await Promise.all(moveUnits(tx, units, saleUnits));
  const byOrder = Map.groupBy(freed, (f) => f.order_id);
  return rels.map(({ orderId, itemIds }): Outgoing => {
    const mine = byOrder.get(orderId) ?? [];
    const all = itemIds ?? mine.map((f) => f.item_id);
    const saleId = mine.find((f) => f.sale_id)?.sale_id ?? undefined;
    const fromSale = mine.filter((f) => f.sale_id).reduce((n, f) => n + f.quantity, 0);
    if (!saleId) return { type: "inventory.evt.released", data: { orderId, itemIds: all } };
    // the gate hears of it: only units freed now go back (a repeated release frees nothing)
    return { type: "inventory.evt.released", data: { orderId, itemIds: all, ...(fromSale ? { saleId } : {}) } };
  });
}
