// GET /v1/sales: sales soonest first, by status (scheduled and live by default). What remains comes from the
// gate when Redis holds the sale's counters, from Postgres otherwise (the rule the gate's rebuild uses:
// units held by every order of the sale that is not cancelled and not given back). A list never rebuilds a
// gate: that is left to the sale's own reads and purchases.
import { and, asc, eq, gt, isNull, lte, or, type SQL, sql } from "drizzle-orm";
import { Hono } from "hono";
import { z } from "zod";
import { products, sales } from "../../db";
import { saleKeys } from "../../domain/sale";
import type { Logger } from "../../nats";
import type { Deps, Env } from "../deps";
import { AppError } from "../errors";
import { openapi } from "../openapi";
import { DEFAULT_PAGE, MAX_PAGE, statusList, timeCursor } from "../pagination";
import { text } from "../validate";
import { type SaleStatus, saleStatus } from "./status";

export const SALE_STATUSES = ["scheduled", "live", "sold_out", "ended"] as const satisfies readonly SaleStatus[];

export const salesQuery = z.object({
  status: statusList(SALE_STATUSES, ["scheduled", "live"]),
  cursor: text().max(100).optional().describe("nextCursor of the previous page"),
  limit: z.coerce.number().int().min(1).max(MAX_PAGE).default(DEFAULT_PAGE),
});

const listedSale = z.object({
  id: z.uuid(),
  productId: z.uuid(),
  productName: z.string(),
  price: z.number().int(),
  quantity: z.number().int(),
  remaining: z.number().int(),
  perUserLimit: z.number().int(),
  status: z.enum(SALE_STATUSES),
  startsAt: z.iso.datetime(),
  endsAt: z.iso.datetime().optional(),
});
const salePage = z.object({ items: z.array(listedSale), nextCursor: z.string().nullable() });

/** Candidates are read this many pages' worth at a time while statuses filter some out, at most ROUNDS times. */
const ROUNDS = 10;

/** Units still to sell per sale, from Postgres. */
async function remainingFromPostgres(d: Deps, ids: string[]): Promise<Map<string, number>> {
  if (!ids.length) return new Map();
  const rows = await d.db.execute<{ id: string; remaining: number }>(sql`
    select s.id, s.quantity - coalesce(sum(i.quantity) filter (
      where o.status <> 'CANCELLED'
        and not exists (select 1 from inventory.reservations r where r.order_id = o.id and r.status = 'RELEASED')
    ), 0)::int as remaining
    from sale.sales s
    left join ordering.orders o on o.sale_id = s.id
    left join ordering.order_items i on i.order_id = o.id
    where s.id = any(${sql.param(ids)}::uuid[])
    group by s.id`);
  return new Map(rows.map((r) => [r.id, Number(r.remaining)]));
}

/** From the gate where Redis has the sale's counters; the rest (or all, when Redis does not answer) from Postgres. */
async function remainingOf(d: Deps, ids: string[], log: Logger): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  try {
    // one command per sale, at once: each sale's keys live in a slot of their own on a cluster
    const left = await Promise.all(ids.map((id) => d.redis.hget(saleKeys(id)[0], "remaining")));
    for (const [i, v] of left.entries()) if (v !== null) out.set(ids[i]!, Number(v));
  } catch (err) {
    log.warn("sale list: remaining from postgres, redis unavailable", { err });
  }
  const missing = ids.filter((id) => !out.has(id));
  for (const [id, n] of await remainingFromPostgres(d, missing)) out.set(id, n);
  return out;
}

export function saleListRoutes(d: Deps) {
  const app = new Hono<Env>();

  app.get(
    "/v1/sales",
    openapi({
      summary: "Sales, soonest first: scheduled and live by default",
      description:
        "`status` filters (scheduled, live, sold_out, ended; comma-separated). `remaining` comes from the sale's gate, or from Postgres where the gate is not loaded. Cursor pagination: pass `nextCursor` as `cursor` with the same status (`limit` 1 to 100, default 20).",
      query: salesQuery,
      responses: { 200: salePage },
      errors: ["VALIDATION_FAILED"],
    }),
    async (c) => {
      const { status: wanted, cursor: raw, limit } = c.req.valid("query");
      let cursor = raw === undefined ? undefined : timeCursor.decode(raw);
      if (raw !== undefined && !cursor)
        throw new AppError("VALIDATION_FAILED", "cursor: not a cursor of this list (pass nextCursor as it came)");
      const now = new Date();
      // what time alone decides, in SQL; live and sold_out differ by what remains, decided below
      const windows: SQL[] = [];
      if (wanted.has("scheduled")) windows.push(gt(sales.startsAt, now));
      if (wanted.has("live") || wanted.has("sold_out"))
        windows.push(and(lte(sales.startsAt, now), or(isNull(sales.endsAt), gt(sales.endsAt, now)))!);
      if (wanted.has("ended")) windows.push(lte(sales.endsAt, now));

      const items: z.infer<typeof listedSale>[] = [];
      let exhausted = false;
      let lastSeen: { at: Date; id: string } | undefined;
      for (let round = 0; round < ROUNDS && items.length <= limit && !exhausted; round++) {
        const batch = limit + 1;
        const rows = await d.db
          .select({ sale: sales, productName: products.name })
          .from(sales)
          .innerJoin(products, eq(products.id, sales.productId))
          .where(
            and(
              or(...windows),
              cursor
                ? sql`(${sales.startsAt}, ${sales.id}) > (${cursor.at.toISOString()}::timestamptz, ${cursor.id}::uuid)`
                : undefined,
            ),
          )
          .orderBy(asc(sales.startsAt), asc(sales.id))
          .limit(batch);
        exhausted = rows.length < batch;
        const remaining = await remainingOf(
          d,
          rows.map((r) => r.sale.id),
          c.get("log"),
        );
        for (const { sale: s, productName } of rows) {
          lastSeen = { at: s.startsAt, id: s.id };
          const left = Math.max(0, remaining.get(s.id) ?? 0);
          const status = saleStatus(
            { startsAt: s.startsAt.getTime(), endsAt: s.endsAt?.getTime() },
            left,
            now.getTime(),
          );
          if (!wanted.has(status)) continue;
          items.push({
            id: s.id,
            productId: s.productId,
            productName,
            price: s.price,
            quantity: s.quantity,
            remaining: left,
            perUserLimit: s.perUserLimit,
            status,
            startsAt: s.startsAt.toISOString(),
            ...(s.endsAt ? { endsAt: s.endsAt.toISOString() } : {}),
          });
        }
        cursor = lastSeen;
      }
      const shown = items.slice(0, limit);
      // more after this page: a kept item beyond it, or candidates not yet read (the rounds ran out)
      const next =
        items.length > limit
          ? shown.at(-1)
          : !exhausted && lastSeen
            ? { id: lastSeen.id, startsAt: lastSeen.at.toISOString() }
            : undefined;
      return c.json({ items: shown, nextCursor: next ? timeCursor.encode(new Date(next.startsAt), next.id) : null });
    },
  );

  return app;
}
