import { index, integer, pgSchema, text, uuid } from "drizzle-orm/pg-core";
import { at, createdAt, id, updatedAt } from "./columns";

export const catalog = pgSchema("catalog");

export const products = catalog.table(
  "products",
  {
    id: id(),
    sellerId: uuid("seller_id").notNull(),
    name: text("name").notNull(),
    description: text("description"),
    price: integer("price").notNull(),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    deletedAt: at("deleted_at"),
  },
  (t) => [index("products_seller_idx").on(t.sellerId)],
);

export type Product = typeof products.$inferSelect;
