import { sql } from "drizzle-orm";
import { customType, index, integer, pgSchema, text, unique, uuid } from "drizzle-orm/pg-core";
import { at, createdAt, id, updatedAt } from "./columns";

export const catalog = pgSchema("catalog");

const tsvector = customType<{ data: string }>({ dataType: () => "tsvector" });

// Search has two GIN indexes, written by hand in migration 0005 (drizzle-kit cannot express operator
// classes): full-text on `words` (whole words) and trigram (`gin_trgm_ops`, parts of words) on `searched`.
export const products = catalog.table(
  "products",
  {
    id: id(),
    sellerId: uuid("seller_id").notNull(),
    name: text("name").notNull(),
    description: text("description"),
    price: integer("price").notNull(),
    /** How many shoppers like it now; moved in the same transaction as the like row. */
    likes: integer("likes").notNull().default(0),
    /** The whole words of name and description, kept by Postgres (computing them per row made searches slow). */
    words: tsvector("words").generatedAlwaysAs(sql`to_tsvector('simple', name || ' ' || coalesce(description, ''))`),
    /** Name and description in lower case, for LIKE (ILIKE folded the case of every matching row, at twice the cost). */
    searched: text("searched").generatedAlwaysAs(sql`lower(name || ' ' || coalesce(description, ''))`),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
    deletedAt: at("deleted_at"),
  },
  (t) => [
    index("products_seller_idx").on(t.sellerId),
    // the keyset walks of the price and popular sorts
    index("products_price_idx").on(t.price, t.id).where(sql`${t.deletedAt} is null`),
    index("products_likes_idx").on(t.likes, t.id).where(sql`${t.deletedAt} is null`),
  ],
);

/** One row per (shopper, product) liked; the id is a UUIDv7, so newest like first is id order. */
export const likes = catalog.table(
  "likes",
  {
    id: uuid("id").primaryKey(),
    userId: uuid("user_id").notNull(),
    productId: uuid("product_id").notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    unique("likes_user_product_key").on(t.userId, t.productId),
    index("likes_user_idx").on(t.userId, t.id),
    index("likes_product_idx").on(t.productId, t.createdAt),
    index("likes_created_idx").on(t.createdAt),
  ],
);

export type Product = typeof products.$inferSelect;
export type Like = typeof likes.$inferSelect;
