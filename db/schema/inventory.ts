import { sql } from "drizzle-orm";
import { check, integer, pgSchema, primaryKey, text, uuid } from "drizzle-orm/pg-core";
import { createdAt, updatedAt } from "./columns";

export const inventory = pgSchema("inventory");

/** Units that can still be sold, per product. Never negative. */
export const stock = inventory.table(
  "stock",
  {
    productId: uuid("product_id").primaryKey(),
    available: integer("available").notNull(),
    updatedAt: updatedAt(),
  },
  (t) => [check("stock_available_nonnegative", sql`${t.available} >= 0`)],
);

/** Units of a flash sale not yet taken by an order; carved out of the product's stock when the sale is made. */
export const saleStock = inventory.table(
  "sale_stock",
  {
    saleId: uuid("sale_id").primaryKey(),
    available: integer("available").notNull(),
    updatedAt: updatedAt(),
  },
  (t) => [check("sale_stock_available_nonnegative", sql`${t.available} >= 0`)],
);

/** One row per order item whose units were taken (from the sale's units when sale_id is set); release puts them back once. */
export const reservations = inventory.table(
  "reservations",
  {
    orderId: uuid("order_id").notNull(),
    itemId: uuid("item_id").notNull(),
    productId: uuid("product_id").notNull(),
    saleId: uuid("sale_id"),
    quantity: integer("quantity").notNull(),
    status: text("status", { enum: ["RESERVED", "RELEASED"] })
      .notNull()
      .default("RESERVED"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [primaryKey({ columns: [t.orderId, t.itemId] })],
);
