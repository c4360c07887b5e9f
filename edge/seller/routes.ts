// A seller's view of the orders that hold its products: each order's status and history, and only the
// seller's own items of it (another seller's items and the shopper's payment are not its business).
import { and, asc, desc, eq, inArray, lt } from "drizzle-orm";
import { Hono } from "hono";
import { z } from "zod";
import { orderHistory, orderItems, orderStatus, orders, products } from "../../db";
import type { Deps, Env } from "../deps";
import { caller, requireRole } from "../middleware/auth";
import { openapi } from "../openapi";

export const sellerOrdersQuery = z.object({
  cursor: z.string().uuid().optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  /** e.g. CONFIRMED: the orders waiting to be shipped. */
  status: z.enum(orderStatus.enumValues).optional(),
});

const sellerOrder = z.object({
  id: z.string().uuid(),
  status: z.enum(orderStatus.enumValues),
  reason: z.string().optional(),
  items: z.array(
    z.object({
      id: z.string().uuid(),
      productId: z.string().uuid(),
      quantity: z.number(),
      price: z.number(),
      status: z.string(),
    }),
  ),
  history: z.array(z.object({ status: z.string(), at: z.string() })),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export const sellerOrderPage = z.object({ items: z.array(sellerOrder), nextCursor: z.string().uuid().nullable() });

export function sellerRoutes(d: Deps) {
  const app = new Hono<Env>();

  app.get(
    "/v1/seller/orders",
    requireRole("seller"),
    openapi({
      summary: "Orders holding the seller's products, newest first",
      description: "Cursor-paginated; each order lists only the seller's own items.",
      query: sellerOrdersQuery,
      responses: { 200: sellerOrderPage },
    }),
    async (c) => {
      const sellerId = caller(c).sub;
      const q = c.req.valid("query");
      const ids = await d.db
        .selectDistinct({ id: orderItems.orderId })
        .from(orderItems)
        .innerJoin(products, eq(products.id, orderItems.productId))
        .innerJoin(orders, eq(orders.id, orderItems.orderId))
        .where(
          and(
            eq(products.sellerId, sellerId),
            q.cursor ? lt(orderItems.orderId, q.cursor) : undefined,
            q.status ? eq(orders.status, q.status) : undefined,
          ),
        )
        .orderBy(desc(orderItems.orderId))
        .limit(q.limit + 1);
      const pageIds = ids.slice(0, q.limit).map((r) => r.id);
      if (!pageIds.length) return c.json({ items: [], nextCursor: null });
      const [rows, items, history] = await Promise.all([
        d.db.select().from(orders).where(inArray(orders.id, pageIds)),
        d.db
          .select({ item: orderItems })
          .from(orderItems)
          .innerJoin(products, eq(products.id, orderItems.productId))
          .where(and(inArray(orderItems.orderId, pageIds), eq(products.sellerId, sellerId)))
          .orderBy(asc(orderItems.id)),
        d.db.select().from(orderHistory).where(inArray(orderHistory.orderId, pageIds)).orderBy(asc(orderHistory.seq)),
      ]);
      const byId = new Map(rows.map((o) => [o.id, o]));
      const page = pageIds.map((id) => {
        const o = byId.get(id)!;
        return {
          id,
          status: o.status,
          ...(o.reason ? { reason: o.reason } : {}),
          items: items
            .filter((r) => r.item.orderId === id)
            .map(({ item: i }) => ({
              id: i.id,
              productId: i.productId,
              quantity: i.quantity,
              price: i.price,
              status: i.status,
            })),
          history: history.filter((h) => h.orderId === id).map((h) => ({ status: h.status, at: h.at })),
          createdAt: o.createdAt,
          updatedAt: o.updatedAt,
        };
      });
      return c.json({ items: page, nextCursor: ids.length > q.limit ? pageIds.at(-1)! : null });
    },
  );

  return app;
}
