// GET /v1/ops/sales/:id/audit: a sale's counts from Postgres and the gate, and each invariant with pass/fail.
import { jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import { eq, inArray, sql } from "drizzle-orm";
import { Hono } from "hono";
import { abandonedOrders, orderItems, orders, payments, sales, saleStock, type Db } from "../../db";
import { gate, type Gate } from "../../domain/sale";
import { consumers } from "../../nats";
import { letterOf, lettersOf } from "../ops/dlq";
import type { Deps, Env } from "../deps";
import { AppError } from "../errors";
import { requireRole } from "../middleware/auth";
import { openapi } from "../openapi";
import { idParam } from "../validate";

/**
 * Placements of the sale the order actor gave up on (dead-lettered): admitted by the gate, never written, so
 * their holds are swept and every count agrees; only the DLQ remembers them. Undefined: the DLQ cannot be read.
 */
async function deadPlacements(jsm: JetStreamManager, saleId: string): Promise<number | undefined> {
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

export async function auditSale(db: Db, g: Gate, jsm: JetStreamManager, saleId: string) {
  const [sale] = await db.select().from(sales).where(eq(sales.id, saleId));
  if (!sale) return undefined;
  const dead = await deadPlacements(jsm, saleId);
  const byStatus = await db
    .select({ status: orders.status, orders: sql<number>`count(distinct ${orders.id})::int`, units: sql<number>`coalesce(sum(${orderItems.quantity}), 0)::int` })
    .from(orders)
    .innerJoin(orderItems, eq(orderItems.orderId, orders.id))
    .where(eq(orders.saleId, saleId))
    .groupBy(orders.status);
  const units = (...st: string[]) => byStatus.filter((r) => st.includes(r.status)).reduce((n, r) => n + r.units, 0);
  const count = (...st: string[]) => byStatus.filter((r) => st.includes(r.status)).reduce((n, r) => n + r.orders, 0);
  const pending = units("PENDING");
  const confirmed = units("CONFIRMED", "SHIPPED", "DELIVERED");
  const cancelled = units("CANCELLED");
  const [perUser] = await db.execute<{ max: number | null }>(sql`
    select max(n)::int as max from (
      select sum(i.quantity) as n from ${orders} o join ${orderItems} i on i.order_id = o.id
      where o.sale_id = ${saleId} and o.status <> 'CANCELLED' group by o.user_id) t`);
  const [units0] = await db.select({ available: saleStock.available }).from(saleStock).where(eq(saleStock.saleId, saleId));
  const [money] = await db.execute<{ overRefunded: number; unrefunded: number; doubled: number }>(sql`
    select
      count(*) filter (where p.refunded > p.amount)::int as "overRefunded",
      count(*) filter (where o.status = 'CANCELLED' and p.status = 'APPROVED' and p.refunded < p.amount)::int as unrefunded,
      (select count(*)::int from (select p2.order_id from ${payments} p2 join ${orders} o2 on o2.id = p2.order_id
        where o2.sale_id = ${saleId} group by p2.order_id having count(*) > 1) d) as doubled
    from ${payments} p join ${orders} o on o.id = p.order_id where o.sale_id = ${saleId}`);
  const gateCounters = await g.counters(saleId);
  const holds = gateCounters ? await g.holds(saleId) : [];
  const holdIds = holds.map((h) => h.orderId);
  const abandoned = holdIds.length
    ? (await db.select({ n: sql<number>`count(*)::int` }).from(abandonedOrders).where(inArray(abandonedOrders.orderId, holdIds)))[0]!.n
    : 0;
  const inPostgres = count("PENDING", "CONFIRMED", "SHIPPED", "DELIVERED", "CANCELLED");
  const remaining = gateCounters?.remaining;
  // quiet: every admitted purchase is an order row, none is in flight, and no refund is still on its way
  // (a payment approved after its order timed out is refunded by the saga a moment later)
  const quiet = pending === 0 && holds.length === inPostgres + abandoned && (money?.unrefunded ?? 0) === 0;
  const check = (pass: boolean, detail: string) => ({ pass, detail });

  return {
    saleId,
    quantity: sale.quantity,
    perUserLimit: sale.perUserLimit,
    remaining: remaining ?? null,
    pending,
    confirmed,
    cancelled,
    orders: inPostgres,
    unitsNotTakenInPostgres: units0?.available ?? null,
    perUserMax: perUser?.max ?? 0,
    admitted: gateCounters?.admitted ?? null,
    abandonedHolds: abandoned,
    deadLetteredPlacements: dead ?? null,
    soldOutAnswers: gateCounters?.soldOutAnswers ?? null,
    soldOutAt: gateCounters?.soldOutAt ? new Date(gateCounters.soldOutAt) : null,
    lastRestockAt: gateCounters?.lastRestockAt ? new Date(gateCounters.lastRestockAt) : null,
    quiet,
    invariants: {
      noOversell: check(confirmed <= sale.quantity && (units0?.available ?? 0) >= 0, `confirmed ${confirmed} <= quantity ${sale.quantity}`),
      unitsAccountedFor: check(
        remaining === undefined ? false : remaining + pending + confirmed === sale.quantity,
        `remaining ${remaining ?? "?"} + pending ${pending} + confirmed ${confirmed} = quantity ${sale.quantity}` + (quiet ? "" : " (pipeline not quiet yet)"),
      ),
      postgresUnits: check(
        units0 !== undefined && (quiet ? units0.available + confirmed === sale.quantity : units0.available + pending + confirmed >= sale.quantity),
        `units not taken in postgres ${units0?.available ?? "?"} + confirmed ${confirmed}` + (quiet ? ` = quantity ${sale.quantity}` : ` + pending ${pending} >= quantity ${sale.quantity}`),
      ),
      perUserLimit: check((perUser?.max ?? 0) <= sale.perUserLimit, `max per shopper ${perUser?.max ?? 0} <= ${sale.perUserLimit}`),
      noDoubleCharge: check(
        (money?.doubled ?? 0) === 0 && (money?.overRefunded ?? 0) === 0 && (!quiet || (money?.unrefunded ?? 0) === 0),
        `orders charged twice ${money?.doubled ?? 0}, refunded over charge ${money?.overRefunded ?? 0}, cancelled but not refunded ${money?.unrefunded ?? 0}`,
      ),
      everyOrderSettled: check(pending === 0, `${count("PENDING")} orders still pending`),
      everyAdmittedOrderRecorded: check(
        gateCounters === undefined ? false : holds.length === inPostgres + abandoned,
        `gate holds ${holds.length} = orders ${inPostgres} + abandoned holds ${abandoned}`,
      ),
      noPlacementDeadLettered: check(dead === 0, `placements dead-lettered (admitted, never written) ${dead ?? "? (the DLQ could not be read)"}`),
      noRefusalWhileStockRemained: check(
        remaining === undefined ? false : !(remaining > 0 && (gateCounters?.lastSoldOutAt ?? 0) > (gateCounters?.lastRestockAt ?? Infinity)),
        "no SOLD_OUT answer from the gate after the last units came back while units remain",
      ),
    },
  };
}

export function auditRoutes(d: Deps) {
  const app = new Hono<Env>();
  const g = gate(d.redis);
  let jsm: Promise<JetStreamManager> | undefined;
  app.get(
    "/v1/ops/sales/:id/audit",
    requireRole("admin"),
    openapi({ summary: "A sale's counts from Postgres and the gate, and each invariant with pass or fail", tags: ["ops"], responses: { 200: { description: "The audit report" } } }),
    async (c) => {
      const report = await auditSale(d.db, g, await (jsm ??= jetstreamManager(d.bus.nc)), idParam(c));
      if (!report) throw new AppError("NOT_FOUND", "no such sale");
      return c.json(report);
    },
  );
  return app;
}

