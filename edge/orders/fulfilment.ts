// Delivery progression: a seller with a product in the order (or an admin) marks it shipped, then delivered.
// The edge checks who asks and the order's status; the saga makes the change, so a 202 answers.
import { and, eq } from "drizzle-orm";
import { Hono } from "hono";
import { z } from "zod";
import { type Db, orderItems, products } from "../../db";
import { publish } from "../../nats";
import type { Claims } from "../auth/tokens";
import type { Deps, Env } from "../deps";
import { AppError } from "../errors";
import { caller, requireRole } from "../middleware/auth";
import { openapi } from "../openapi";
import { idParam } from "../validate";
import { loadOrder } from "./routes";

export const fulfilmentAccepted = z.object({ orderId: z.string().uuid(), status: z.enum(["CONFIRMED", "SHIPPED"]) });

/** An order the caller may fulfil: an admin's any order, a seller's one holding its products; else 404. */
async function fulfillable(db: Db, user: Claims, id: string) {
  const order = await loadOrder(db, id);
  if (!order) throw new AppError("NOT_FOUND", "no such order");
  if (user.role === "admin") return order;
  const [mine] = await db
    .select({ id: orderItems.id })
    .from(orderItems)
    .innerJoin(products, eq(products.id, orderItems.productId))
    .where(and(eq(orderItems.orderId, id), eq(products.sellerId, user.sub)))
    .limit(1);
  if (!mine) throw new AppError("NOT_FOUND", "no such order");
  return order;
}

const steps = [
  { verb: "ship", from: "CONFIRMED", subject: "orders.cmd.ship", summary: "Mark a confirmed order shipped" },
  { verb: "deliver", from: "SHIPPED", subject: "orders.cmd.deliver", summary: "Mark a shipped order delivered" },
] as const;

export function fulfilmentRoutes(d: Deps) {
  const app = new Hono<Env>();
  for (const step of steps)
    app.post(
      `/v1/orders/:id/${step.verb}`,
      requireRole("seller", "admin"),
      openapi({
        summary: step.summary,
        description: `For a seller with a product in the order, or an admin. Only a ${step.from} order; the saga makes the change (watch GET /v1/orders/{id}/events).`,
        tags: ["orders"],
        responses: { 202: fulfilmentAccepted },
        errors: ["INVALID_TRANSITION"],
      }),
      async (c) => {
        const id = idParam(c);
        const order = await fulfillable(d.db, caller(c), id);
        if (order.status !== step.from)
          throw new AppError(
            "INVALID_TRANSITION",
            `an order that is ${order.status} cannot be marked ${step.verb === "ship" ? "shipped" : "delivered"}`,
          );
        // one message id per order and step: a repeated click is dropped by JetStream, then by the saga's inbox
        await publish(
          d.bus.js,
          step.subject,
          { orderId: id },
          { id: `${step.verb}:${id}`, traceparent: c.get("traceparent") },
        );
        return c.json({ orderId: id, status: step.from }, 202);
      },
    );
  return app;
}
