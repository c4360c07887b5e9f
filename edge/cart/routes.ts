// The shopper's cart: set or remove a product's quantity (checked against the product and its stock now);
// every answer is the whole cart with its total computed here. Carts live in Postgres (db/schema/cart.ts).
import { and, count, eq, sql } from "drizzle-orm";
import { Hono } from "hono";
import { cartItems } from "../../db";
import { findProduct } from "../catalog/routes";
import type { Deps, Env } from "../deps";
import { AppError } from "../errors";
import { caller, requireRole } from "../middleware/auth";
import { openapi } from "../openapi";
import { idParam } from "../validate";
import { loadCart } from "./lines";
import * as s from "./schemas";

export { setQuantity } from "./schemas";

/** As many lines as one order may carry. */
const MAX_LINES = 100;

export function cartRoutes(d: Deps) {
  const app = new Hono<Env>();

  app.get(
    "/v1/cart",
    requireRole("shopper"),
    openapi({ summary: "The caller's cart", responses: { 200: s.cart } }),
    async (c) => c.json(await loadCart(d.db, caller(c).sub)),
  );

  app.put(
    "/v1/cart/items/:productId",
    requireRole("shopper"),
    openapi({
      summary: "Set how many of a product the cart holds",
      description: "The product must exist and have at least that many units available now.",
      body: s.setQuantity,
      responses: { 200: s.cart },
      errors: ["INSUFFICIENT_STOCK"],
    }),
    async (c) => {
      const userId = caller(c).sub;
      const productId = idParam(c, "productId");
      const { quantity } = c.req.valid("json");
      const p = await findProduct(d.db, productId);
      if (!p) throw new AppError("NOT_FOUND", "no such product");
      if (quantity > p.stock)
        throw new AppError("INSUFFICIENT_STOCK", `only ${p.stock} available`, { available: p.stock });
      await d.db.transaction(async (tx) => {
        await tx
          .insert(cartItems)
          .values({ userId, productId, quantity })
          .onConflictDoUpdate({
            target: [cartItems.userId, cartItems.productId],
            set: { quantity, updatedAt: sql`now()` },
          });
        const [lines] = await tx.select({ n: count() }).from(cartItems).where(eq(cartItems.userId, userId));
        // thrown inside the transaction: the line just added is rolled back
        if (lines!.n > MAX_LINES) throw new AppError("VALIDATION_FAILED", `a cart holds at most ${MAX_LINES} products`);
      });
      return c.json(await loadCart(d.db, userId));
    },
  );

  app.delete(
    "/v1/cart/items/:productId",
    requireRole("shopper"),
    openapi({ summary: "Take a product out of the cart", responses: { 200: s.cart } }),
    async (c) => {
      const userId = caller(c).sub;
      const productId = idParam(c, "productId");
      const gone = await d.db
        .delete(cartItems)
        .where(and(eq(cartItems.userId, userId), eq(cartItems.productId, productId)))
        .returning({ productId: cartItems.productId });
      if (!gone.length) throw new AppError("NOT_FOUND", "this product is not in your cart");
      return c.json(await loadCart(d.db, userId));
    },
  );

  return app;
}
