// GET /v1/ops/sales/:id/audit: a sale's counts from Postgres and the gate, and each invariant with pass/fail.
import type { JetStreamManager } from "@nats-io/jetstream";
import { eq, inArray, sql } from "drizzle-orm";
import { Hono } from "hono";
import { abandonedOrders, type Db, orderItems, orders, payments, saleStock, sales } from "../../db";
import { type Gate, gate } from "../../domain/sale";
import { consumers, jetstreamManagerOf } from "../../nats";
import type { Deps, Env } from "../deps";
import { AppError } from "../errors";
import { requireRole } from "../middleware/auth";
import { openapi } from "../openapi";
import { letterOf, lettersOf } from "../ops/dlq";
import { idParam } from "../validate";
import { invariants, type SaleFacts } from "./invariants";

/**
 * Placements of the sale the order actor gave up on (dead-lettered): admitted by the gate, never written, so
 * their holds are swept and every count agrees; only the DLQ remembers them. Undefined: the DLQ cannot be read.
 */
async function deadLetteredPlacements(jsm: JetStreamManager, saleId: string): Promise<number | undefined> {
  let n = 0;
  try {
    for await (const m of lettersOf(jsm, consumers.order[0].durable)) {
      if (letterOf(m).subject !== "orders.cmd.place") continue;
      let env: { data?: { saleId?: unknown } } = {};
      try {
        env = m.json();
      } catch {} // not even JSON: not this sale's to count
      if (env.data?.saleId === saleId) n++;
    }
  } catch {
    return undefined;
  }
  return n;
}

/** The facts an audit needs, read from Postgres, the gate and the DLQ; undefined for an unknown sale. */
export async function saleFacts(
  db: Db,
  g: Gate,
  jsm: JetStreamManager,
  saleId: string,
): Promise<SaleFacts | undefined> {
  const [sale] = await db.select().from(sales).where(eq(sales.id, saleId));
  if (!sale) return undefined;
  const deadPlacements = await deadLetteredPlacements(jsm, saleId);
  const byStatus = await db
    .select({
      status: orders.status,
      orders: sql<number>`count(distinct ${orders.id})::int`,
      units: sql<number>`coalesce(sum(${orderItems.quantity}), 0)::int`,
    })
    .from(orders)
    .innerJoin(orderItems, eq(orderItems.orderId, orders.id))
    .where(eq(orders.saleId, saleId))
    .groupBy(orders.status);
  const [perUser] = await db.execute<{ max: number | null }>(sql`
    select max(n)::int as max from (
      select sum(i.quantity) as n from ${orders} o join ${orderItems} i on i.order_id = o.id
      where o.sale_id = ${saleId} and o.status <> 'CANCELLED' group by o.user_id) t`);
  const [units] = await db
    .select({ available: saleStock.available })
    .from(saleStock)
    .where(eq(saleStock.saleId, saleId));
  const [money] = await db.execute<{ overRefunded: number; unrefunded: number; doubled: number }>(sql`
    select
      count(*) filter (where p.refunded > p.amount)::int as "overRefunded",
      count(*) filter (where o.status = 'CANCELLED' and p.status = 'APPROVED' and p.refunded < p.amount)::int as unrefunded,
      (select count(*)::int from (select p2.order_id from ${payments} p2 join ${orders} o2 on o2.id = p2.order_id
        where o2.sale_id = ${saleId} group by p2.order_id having count(*) > 1) d) as doubled
    from ${payments} p join ${orders} o on o.id = p.order_id where o.sale_id = ${saleId}`);
  const counters = await g.counters(saleId);
  const holds = counters ? await g.holds(saleId) : [];
  const holdIds = holds.map((h) => h.orderId);
  const abandoned = holdIds.length
    ? (
        await db
          .select({ n: sql<number>`count(*)::int` })
          .from(abandonedOrders)
          .where(inArray(abandonedOrders.orderId, holdIds))
      )[0]!.n
    : 0;
  return {
    sale: { quantity: sale.quantity, perUserLimit: sale.perUserLimit },
    byStatus,
    perUserMax: perUser?.max ?? null,
    unitsNotTaken: units?.available,
    money,
    gate: counters,
    holds: holds.length,
    abandoned,
    deadPlacements,
  };
}

export async function auditSale(db: Db, g: Gate, jsm: JetStreamManager, saleId: string) {
  const facts = await saleFacts(db, g, jsm, saleId);
  return facts && { saleId, ...invariants(facts) };
}

export function auditRoutes(d: Deps) {
  const app = new Hono<Env>();
  const g = gate(d.redis);
  app.get(
    "/v1/ops/sales/:id/audit",
    requireRole("admin"),
    openapi({
      summary: "A sale's counts from Postgres and the gate, and each invariant with pass or fail",
      tags: ["ops"],
      responses: { 200: { description: "The audit report" } },
    }),
    async (c) => {
      const report = await auditSale(d.db, g, await jetstreamManagerOf(d.bus.nc), idParam(c));
      if (!report) throw new AppError("NOT_FOUND", "no such sale");
      return c.json(report);
    },
  );
  return app;
}
