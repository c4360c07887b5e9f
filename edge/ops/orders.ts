// Orders by saga state and age (admin). `stuck=true`: sagas in a step that should end by itself (reserving,
// redeeming, charging, compensating, or never started) that have not moved for `olderThanS` seconds; a
// compensation that keeps failing shows here with what it still awaits, and its command in the DLQ.
import { and, desc, eq, isNull, lt, notInArray, or, sql } from "drizzle-orm";
import { Hono } from "hono";
import { z } from "zod";
import { type Db, orderStatus, orders, sagas } from "../../db";
import { RESTING_STATES } from "../../domain/order";
import type { Deps, Env } from "../deps";
import { requireRole } from "../middleware/auth";
import { openapi } from "../openapi";
import { text } from "../validate";

export const opsOrdersQuery = z.object({
  status: z.enum(orderStatus.enumValues).optional(),
  /** A saga state, e.g. charging or compensating. */
  state: text().min(1).max(64).optional(),
  stuck: z.enum(["true", "false"]).optional(),
  olderThanS: z.coerce.number().int().min(0).default(60),
  cursor: z.string().uuid().optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
});

const opsOrder = z.object({
  id: z.string().uuid(),
  userId: z.string().uuid(),
  status: z.enum(orderStatus.enumValues),
  reason: z.string().nullable(),
  state: z.string().nullable().describe("the saga's state; null when the saga never started"),
  awaiting: z.array(z.string()).describe("compensations sent and not answered yet"),
  deadlineAt: z.string().nullable(),
  ageS: z.number().describe("seconds since the saga (or the order) last changed"),
  createdAt: z.string(),
});
export const opsOrderPage = z.object({ items: z.array(opsOrder), nextCursor: z.string().uuid().nullable() });

export function opsOrderRoutes(d: Deps) {
  const app = new Hono<Env>();

  app.get(
    "/v1/ops/orders",
    requireRole("admin"),
    openapi({
      summary: "Orders by saga state and age; stuck=true for sagas that stopped moving",
      tags: ["ops"],
      query: opsOrdersQuery,
      responses: { 200: opsOrderPage },
    }),
    async (c) => c.json(await opsOrders(d.db, c.req.valid("query"))),
  );

  return app;
}

/** A page of orders with their sagas' state (the route's query, also read by the ops console's feed). */
export async function opsOrders(db: Db, q: z.infer<typeof opsOrdersQuery>): Promise<z.infer<typeof opsOrderPage>> {
  const changed = sql<Date>`coalesce(${sagas.updatedAt}, ${orders.updatedAt})`;
  const rows = await db
    .select({
      id: orders.id,
      userId: orders.userId,
      status: orders.status,
      reason: orders.reason,
      state: sagas.state,
      awaiting: sql<string[] | null>`${sagas.snapshot}->'context'->'awaiting'`,
      deadlineAt: sagas.deadlineAt,
      ageS: sql<number>`extract(epoch from now() - ${changed})`.mapWith(Number),
      createdAt: orders.createdAt,
    })
    .from(orders)
    .leftJoin(sagas, eq(sagas.orderId, orders.id))
    .where(
      and(
        q.status ? eq(orders.status, q.status) : undefined,
        q.state ? eq(sagas.state, q.state) : undefined,
        q.stuck === "true"
          ? and(
              or(isNull(sagas.state), notInArray(sagas.state, [...RESTING_STATES])),
              lt(changed, sql`now() - make_interval(secs => ${q.olderThanS})`),
            )
          : undefined,
        q.cursor ? lt(orders.id, q.cursor) : undefined,
      ),
    )
    .orderBy(desc(orders.id))
    .limit(q.limit + 1);
  const items = rows.slice(0, q.limit).map((r) => ({
    ...r,
    awaiting: r.awaiting ?? [],
    deadlineAt: r.deadlineAt?.toISOString() ?? null,
    createdAt: r.createdAt.toISOString(),
    ageS: Math.round(r.ageS * 10) / 10,
  }));
  return { items, nextCursor: rows.length > q.limit ? items.at(-1)!.id : null };
}
