// Products: public reads with cursor pagination, served through the Redis read cache (cache.ts) with live
// stock and likes; searches and filtered lists (search.ts) straight from Postgres; the owning seller or an
// admin writes, and every write invalidates the cache before it answers.
import { and, desc, eq, isNull, lt, sql } from "drizzle-orm";
import { Hono } from "hono";
import { type Db, products, stock } from "../../db";
import { uuidv7 } from "../../nats";
import type { Deps, Env } from "../deps";
import { AppError } from "../errors";
import { caller, requireRole } from "../middleware/auth";
import { openapi } from "../openapi";
import { DEFAULT_PAGE, MAX_PAGE, page } from "../pagination";
import { idParam } from "../validate";
import { catalogCache } from "./cache";
import { likeRoutes } from "./likes";
import { popularRoutes } from "./popular";
import * as s from "./schemas";
import { decodeCursor, isSearch, liveFields, productFields, search, searchQuery } from "./search";

export { createProduct, updateProduct } from "./schemas";

/** A live product straight from Postgres, with its available stock and likes (no cache: writes and checks use it). */
export function findProduct(db: Db, id: string) {
  return db
    .select(liveFields)
    .from(products)
    .leftJoin(stock, eq(stock.productId, products.id))
    .where(and(eq(products.id, id), isNull(products.deletedAt)))
    .then((r) => r[0]);
}

/**
 * Available stock and likes, read now, by product id. One prepared statement: on this read path drizzle's
 * query building cost more than Postgres's lookup.
 */
export function liveCounts(db: Db) {
  const query = db
    .select({
      id: products.id,
      stock: sql<number>`coalesce(${stock.available}, 0)`.mapWith(Number),
      likes: products.likes,
    })
    .from(products)
    .leftJoin(stock, eq(stock.productId, products.id))
    .where(sql`${products.id} = any(${sql.placeholder("ids")}::uuid[])`)
    .prepare("catalog_live_counts");
  return async (ids: string[]) => new Map((ids.length ? await query.execute({ ids }) : []).map((r) => [r.id, r]));
}

export function catalogRoutes(d: Deps) {
  const app = new Hono<Env>();
  const cache = catalogCache(d.redis, { ttlS: d.config.CATALOG_CACHE_TTL_S, log: d.log });
  const countsOf = liveCounts(d.db);
  const withCounts = async <T extends { id: string }>(items: T[]) => {
    const live = await countsOf(items.map((i) => i.id));
    return items.map((i) => ({ ...i, stock: live.get(i.id)?.stock ?? 0, likes: live.get(i.id)?.likes ?? 0 }));
  };
  const newestFirst = (cursor: string | undefined, n: number) =>
    d.db
      .select(productFields)
      .from(products)
      .where(and(isNull(products.deletedAt), cursor ? lt(products.id, cursor) : undefined))
      .orderBy(desc(products.id))
      .limit(n);

  app.get(
    "/v1/products",
    openapi({
      summary: "Products: newest first, or searched, filtered and sorted",
      description:
        "Without parameters, the newest first. `q` finds whole words and parts of words (3+ characters) of name and description, in any language; every word must match; best match first unless `sort` says otherwise. Filters combine. Cursor pagination under every sort: pass `nextCursor` as `cursor` with the same query (`limit` 1 to 100, default 20); a page never repeats a product of an earlier one, also while products are added.",
      query: searchQuery,
      responses: { 200: s.productPage },
      errors: ["VALIDATION_FAILED"],
    }),
    async (c) => {
      const q = c.req.valid("query");
      if (isSearch(q)) {
        const found = await search(d.db, q);
        if (!found)
          throw new AppError(
            "VALIDATION_FAILED",
            "cursor: not a cursor of this sort (pass nextCursor as it came, with the same sort)",
          );
        return c.json(found);
      }
      if (q.cursor !== undefined && !decodeCursor("new", q.cursor))
        throw new AppError("VALIDATION_FAILED", "cursor: not a cursor of this list (pass nextCursor as it came)");
      // only the first page is cached, in two sizes (the default, and the largest), each cut to the limit
      // asked: a cursor is any id a client cares to send, and a cache keyed by it would grow as large as
      // clients make it; a later page is one range scan on the primary key
      const size = q.limit <= DEFAULT_PAGE ? DEFAULT_PAGE : MAX_PAGE;
      const rows = q.cursor
        ? await newestFirst(q.cursor, q.limit + 1)
        : await cache.read(`list:${size}`, () => newestFirst(undefined, size + 1));
      const { items, nextCursor } = page(rows!, q.limit);
      return c.json({ items: await withCounts(items), nextCursor });
    },
  );

  // before `/v1/products/:id`, which would take "popular" for an id
  app.route("/", popularRoutes(d, withCounts));
  app.route("/", likeRoutes(d));

  app.get(
    "/v1/products/:id",
    openapi({ summary: "One product, with its available stock and likes", responses: { 200: s.product } }),
    async (c) => {
      const id = idParam(c);
      // the cached fields and the live counts at once: neither waits for the other
      const [p, live] = await Promise.all([
        cache.read(`product:${id}`, () =>
          d.db
            .select(productFields)
            .from(products)
            .where(and(eq(products.id, id), isNull(products.deletedAt)))
            .then((r) => r[0]),
        ),
        countsOf([id]),
      ]);
      if (!p) throw new AppError("NOT_FOUND", "no such product");
      return c.json({ ...p, stock: live.get(id)?.stock ?? 0, likes: live.get(id)?.likes ?? 0 });
    },
  );

  app.post(
    "/v1/products",
    requireRole("seller", "admin"),
    openapi({
      summary: "Create a product (the caller is its seller)",
      body: s.createProduct,
      responses: { 201: s.product },
    }),
    async (c) => {
      const input = c.req.valid("json");
      const id = uuidv7();
      await d.db.transaction(async (tx) => {
        await tx.insert(products).values({
          id,
          sellerId: caller(c).sub,
          name: input.name,
          description: input.description,
          price: input.price,
        });
        await tx.insert(stock).values({ productId: id, available: input.stock });
      });
      await cache.invalidate();
      return c.json(await findProduct(d.db, id), 201);
    },
  );

  /** The product if the caller may change it; 404 when it does not exist, 403 when it is someone else's. */
  async function owned(c: Parameters<typeof caller>[0], id: string) {
    const p = await findProduct(d.db, id);
    if (!p) throw new AppError("NOT_FOUND", "no such product");
    const user = caller(c);
    if (user.role !== "admin" && p.sellerId !== user.sub) throw new AppError("FORBIDDEN", "not your product");
    return p;
  }

  app.patch(
    "/v1/products/:id",
    requireRole("seller", "admin"),
    openapi({
      summary: "Change a product (its seller or an admin)",
      body: s.updateProduct,
      responses: { 200: s.product },
    }),
    async (c) => {
      const id = idParam(c);
      const input = c.req.valid("json");
      await owned(c, id);
      await d.db.transaction(async (tx) => {
        const { stock: available, ...rest } = input;
        if (Object.keys(rest).length)
          await tx
            .update(products)
            .set({ ...rest, updatedAt: sql`now()` })
            .where(eq(products.id, id));
        if (available !== undefined)
          await tx.update(stock).set({ available, updatedAt: sql`now()` }).where(eq(stock.productId, id));
      });
      await cache.invalidate();
      return c.json(await findProduct(d.db, id));
    },
  );

  app.delete(
    "/v1/products/:id",
    requireRole("seller", "admin"),
    openapi({
      summary: "Delete a product (soft: orders keep pointing at it)",
      responses: { 204: { description: "Deleted" } },
    }),
    async (c) => {
      const id = idParam(c);
      await owned(c, id);
      await d.db.update(products).set({ deletedAt: sql`now()` }).where(eq(products.id, id));
      await cache.invalidate();
      return c.body(null, 204);
    },
  );

  return app;
}
