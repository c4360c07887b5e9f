import { index, integer, pgSchema, uuid } from "drizzle-orm/pg-core";
import { at, createdAt, id } from "./columns";

export const sale = pgSchema("sale");

/** A flash sale: `quantity` units carved out of a product's stock, sold first come first served. */
export const sales = sale.table(
  "sales",
  {
    id: id(),
    productId: uuid("product_id").notNull(),
    sellerId: uuid("seller_id").notNull(),
    price: integer("price").notNull(),
    quantity: integer("quantity").notNull(),
    perUserLimit: integer("per_user_limit").notNull().default(1),
    startsAt: at("starts_at").notNull(),
    endsAt: at("ends_at"),
    createdAt: createdAt(),
  },
  (t) => [index("sales_product_idx").on(t.productId)],
);

export type Sale = typeof sales.$inferSelect;
