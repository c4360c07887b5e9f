// Orders: placed here (row, items and the saga's first command in one transaction), then driven by the
// order saga; read by their owner or an admin; cancelled through the saga.
import { and, asc, desc, eq, inArray, isNull, lt, sql } from "drizzle-orm";
import { Hono } from "hono";
import { z } from "zod";
import { type Db, type Order, orderHistory, orderItems, orders, payments, products } from "../../db";
import { canCancel, ORDER_STATUSES } from "../../domain/order";
import { fitsAmount, MAX_AMOUNT, paymentMethod, publish, publishRows, uuidv7, writeOutbox } from "../../nats";
import { cartLines, recordCheckout } from "../cart";
import { discountOf, heldCoupon } from "../coupons";
import type { Deps, Env } from "../deps";
import { AppError } from "../errors";
import { idempotent } from "../idempotency";
import { caller, requireRole } from "../middleware/auth";
import { verifiedEmailGate } from "../middleware/verified-email";
import { openapi } from "../openapi";
import { page, pageQuerySchema } from "../pagination";
import { idParam } from "../validate";

export const placeOrder = z
  .object({
    items: z
      .array(z.object({ productId: z.string().uuid(), quantity: z.number().int().min(1).max(1000) }))
      .min(1)
      .max(100)
      .optional(),
    /** Orders the cart's content; the cart loses those lines once the order is confirmed. */
    fromCart: z.literal(true).optional(),
    /** The coupon's id; the shopper must hold an AVAILABLE claim of it. */
    couponId: z.uuid().optional(),
    paymentMethod: paymentMethod.default("card_ok"),
  })
  .refine((o) => !o.items !== !o.fromCart, "send either items or fromCart: true");

const orderStatus = z.enum(ORDER_STATUSES);
export const orderView = z
  .object({
    id: z.uuid(),
    userId: z.uuid(),
    status: orderStatus,
    items: z.array(
      z.object({
        id: z.uuid(),
        productId: z.uuid(),
        quantity: z.number().int(),
        price: z.number().int(),
        status: z.string(),
      }),
    ),
    total: z.number().int(),
    discount: z.number().int(),
    refunded: z.number().int().describe("every refund of the order so far; at most its charge"),
    paymentMethod: z.string(),
    reason: z.string().optional(),
    history: z.array(z.object({ status: orderStatus, at: z.iso.datetime() })),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
  })
  .meta({ id: "Order" });
const accepted = z.object({ orderId: z.uuid(), status: orderStatus });

/** The views of these orders: one query for all their items, one for all their history, one for their refunds. */
async function orderViews(db: Db, rows: Order[]) {
  if (!rows.length) return [];
  // one array parameter: the same statement for every page size
  const ids = sql.param(rows.map((o) => o.id));
  const [items, history, refunds] = await Promise.all([
    db.select().from(orderItems).where(sql`${orderItems.orderId} = any(${ids}::uuid[])`).orderBy(asc(orderItems.id)),
    db
      .select()
      .from(orderHistory)
      .where(sql`${orderHistory.orderId} = any(${ids}::uuid[])`)
      .orderBy(asc(orderHistory.seq)),
    // refunds are the payment actor's record: what went back through the gateway, not what the saga asked for
    db
      .select({ orderId: payments.orderId, refunded: payments.refunded })
      .from(payments)
      .where(sql`${payments.orderId} = any(${ids}::uuid[])`),
  ]);
  const refundedOf = new Map(refunds.map((r) => [r.orderId, r.refunded]));
  const itemsOf = Map.groupBy(items, (i) => i.orderId);
  const historyOf = Map.groupBy(history, (h) => h.orderId);
  return rows.map((order) => ({
    id: order.id,
    userId: order.userId,
    status: order.status,
    items: (itemsOf.get(order.id) ?? []).map((i) => ({
      id: i.id,
      productId: i.productId,
      quantity: i.quantity,
      price: i.price,
      status: i.status,
    })),
    total: order.total,
    discount: order.discount,
    refunded: refundedOf.get(order.id) ?? 0,
    paymentMethod: order.paymentMethod,
    ...(order.reason ? { reason: order.reason } : {}),
    history: (historyOf.get(order.id) ?? []).map((h) => ({ status: h.status, at: h.at })),
    createdAt: order.createdAt,
    updatedAt: order.updatedAt,
  }));
}

export async function loadOrder(db: Db, id: string) {
  return (await orderViews(db, await db.select().from(orders).where(eq(orders.id, id))))[0];
}

export function orderRoutes(d: Deps) {
  const app = new Hono<Env>();
  const verified = verifiedEmailGate(d);

  app.post(
    "/v1/orders",
    requireRole("shopper"),
    verified,
    openapi({
      summary: "Place an order (items, or the cart's content); the saga confirms or cancels it",
      body: placeOrder,
      headers: { "Idempotency-Key": { description: "The same key and body return the first answer (24 h)." } },
      responses: { 202: accepted },
      errors: ["IDEMPOTENCY_KEY_REUSED", "EMAIL_NOT_VERIFIED"],
    }),
    async (c) => {
      const user = caller(c);
      const input = c.req.valid("json");
      let rows: Awaited<ReturnType<typeof writeOutbox>> = [];
      const answer = await idempotent(
        d.db,
        { userId: user.sub, key: c.req.header("idempotency-key"), scope: "POST /v1/orders", request: input },
        // checked only for a new request: a retry gets the first answer even once its cart was emptied or its
        // coupon used by the order it placed (a failed check rolls the key back)
        async (tx) => {
          const lines = input.items ?? (await cartLines(d.db, user.sub));
          if (!lines.length) throw new AppError("VALIDATION_FAILED", "the cart is empty");
          const coupon = input.couponId ? await heldCoupon(d.db, user.sub, input.couponId) : undefined;
          const ids = [...new Set(lines.map((i) => i.productId))];
          const found = await tx
            .select({ id: products.id, price: products.price })
            .from(products)
            .where(and(inArray(products.id, ids), isNull(products.deletedAt)));
          const price = new Map(found.map((p) => [p.id, p.price]));
          const missing = ids.filter((id) => !price.has(id));
          if (missing.length) throw new AppError("NOT_FOUND", `no such product: ${missing.join(", ")}`);
          const orderId = uuidv7();
          const items = lines.map((i) => ({
            itemId: uuidv7(),
            productId: i.productId,
            quantity: i.quantity,
            price: price.get(i.productId)!,
          }));
          const subtotal = items.reduce((s, i) => s + i.price * i.quantity, 0);
          // every line is part of the subtotal: one check covers them all
          if (!fitsAmount(subtotal))
            throw new AppError(
              "VALIDATION_FAILED",
              `the order's amount ${subtotal} is over ${MAX_AMOUNT}, the most an order can hold`,
            );
          const discount = coupon ? discountOf(coupon, subtotal) : 0;
          const total = subtotal - discount;
          const couponId = input.couponId;
          await tx
            .insert(orders)
            .values({ id: orderId, userId: user.sub, total, discount, couponId, paymentMethod: input.paymentMethod });
          if (input.fromCart) await recordCheckout(tx, orderId, user.sub, lines);
          await tx.insert(orderItems).values(
            items.map((i) => ({
              id: i.itemId,
              orderId,
              productId: i.productId,
              quantity: i.quantity,
              price: i.price,
            })),
          );
          await tx.insert(orderHistory).values({ orderId, status: "PENDING" });
          rows = await writeOutbox(tx, [
            {
              msg: {
                type: "orders.cmd.place",
                data: {
                  orderId,
                  userId: user.sub,
                  items,
                  total,
                  discount,
                  couponId,
                  paymentMethod: input.paymentMethod,
                },
              },
              traceparent: c.get("traceparent"),
            },
          ]);
          return { status: 202, body: { orderId, status: "PENDING" } };
        },
      );
      // after commit; if this fails the relay publishes the row shortly
      await publishRows(d.db, d.bus.js, rows).catch((err) => c.get("log").warn("outbox publish deferred", { err }));
      if (answer.replayed) c.header("Idempotent-Replayed", "true");
      return c.json(answer.body, answer.status);
    },
  );

  app.get(
    "/v1/orders",
    requireRole(),
    openapi({
      summary: "The caller's orders, newest first (an admin: every order)",
      query: pageQuerySchema,
      responses: { 200: z.object({ items: z.array(orderView), nextCursor: z.uuid().nullable() }) },
    }),
    async (c) => {
      const user = caller(c);
      const q = c.req.valid("query");
      // one query per table for the whole page: the orders, then all their items and all their history
      const rows = await d.db
        .select()
        .from(orders)
        .where(
          and(
            user.role === "admin" ? undefined : eq(orders.userId, user.sub),
            q.cursor ? lt(orders.id, q.cursor) : undefined,
          ),
        )
        .orderBy(desc(orders.id))
        .limit(q.limit + 1);
      const { items, nextCursor } = page(rows, q.limit);
      return c.json({ items: await orderViews(d.db, items), nextCursor });
    },
  );

  /** The order if the caller may see it; someone else's order is as absent as a missing one. */
  async function visible(c: Parameters<typeof caller>[0], id: string) {
    const order = await loadOrder(d.db, id);
    const user = caller(c);
    if (!order || (user.role !== "admin" && order.userId !== user.sub))
      throw new AppError("NOT_FOUND", "no such order");
    return order;
  }

  app.get(
    "/v1/orders/:id",
    requireRole(),
    openapi({ summary: "One order (its owner or an admin; anyone else: 404)", responses: { 200: orderView } }),
    async (c) => c.json(await visible(c, idParam(c))),
  );

  async function cancel(
    c: Parameters<typeof caller>[0] & { get(k: "traceparent"): string },
    orderId: string,
    itemId?: string,
  ) {
    const order = await visible(c, orderId);
    const decision = canCancel(order, itemId);
    if (!decision.ok) throw new AppError(decision.code, decision.detail);
    await publish(
      d.bus.js,
      "orders.cmd.cancel",
      { orderId, ...(itemId ? { itemId } : {}) },
      { traceparent: c.get("traceparent") },
    );
    return order;
  }

  const cancelDoc = (summary: string) =>
    openapi({
      summary,
      responses: { 202: accepted.extend({ itemId: z.uuid().optional() }) },
      errors: ["NOT_CANCELLABLE"],
    });
  app.post(
    "/v1/orders/:id/cancel",
    requireRole("shopper", "admin"),
    cancelDoc("Cancel an order; refund, stock and coupon come back through the saga"),
    async (c) => {
      const id = idParam(c);
      const order = await cancel(c, id);
      return c.json({ orderId: id, status: order.status }, 202);
    },
  );

  app.post(
    "/v1/orders/:id/items/:itemId/cancel",
    requireRole("shopper", "admin"),
    cancelDoc("Cancel one item, with a partial refund"),
    async (c) => {
      const id = idParam(c);
      const itemId = idParam(c, "itemId");
      const order = await cancel(c, id, itemId);
      return c.json({ orderId: id, itemId, status: order.status }, 202);
    },
  );

  return app;
}
