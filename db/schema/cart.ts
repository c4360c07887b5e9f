// Carts: one row per (shopper, product). They live in Postgres, not Redis: a cart is the shopper's own
// data that must outlive a cache flush, and it is cleared by an actor in the same transaction as its
// inbox row, so a redelivered confirmation never clears it twice.
import { sql } from "drizzle-orm";
import { check, integer, jsonb, pgSchema, primaryKey, uuid } from "drizzle-orm/pg-core";
import { createdAt, updatedAt } from "./columns";

export const cart = pgSchema("cart");

export const cartItems = cart.table(
  "items",
  {
    userId: uuid("user_id").notNull(),
    productId: uuid("product_id").notNull(),
    quantity: integer("quantity").notNull(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    primaryKey({ columns: [t.userId, t.productId] }),
    check("cart_items_quantity_positive", sql`${t.quantity} > 0`),
  ],
);

/** The cart lines an order was placed from; taken out of the cart when that order is confirmed. */
export const cartCheckouts = cart.table("checkouts", {
  orderId: uuid("order_id").primaryKey(),
  userId: uuid("user_id").notNull(),
  lines: jsonb("lines").$type<{ productId: string; quantity: number }[]>().notNull(),
  createdAt: createdAt(),
});
