// Products: public reads with cursor pagination; the owning seller or an admin writes.
import { and, desc, eq, isNull, lt, sql } from "drizzle-orm";
import { Hono } from "hono";
import { z } from "zod";
import { products, stock, type Db } from "../../db";
import { uuidv7 } from "../../nats";
import type { Deps, Env } from "../deps";
import { AppError } from "../errors";
import { caller, requireRole } from "../middleware/auth";
import { page, pageQuery } from "../pagination";
import { body, idParam } from "../validate";

const money = z.number().int().min(0).max(1_000_000_000);
const create = z.object({
  name: z.string().trim().min(1).max(200),
  description: z.string().max(5000).optional(),
  price: money,
  stock: z.number().int().min(0).max(10_000_000),
});
const update = create.partial().refine((v) => Object.keys(v).length > 0, "nothing to update");

const columns = {
  id: products.id,
  sellerId: products.sellerId,
  name: products.name,
  description: products.description,
  price: products.price,
  stock: sql<number>`coalesce(${stock.available}, 0)`.mapWith(Number),
  createdAt: products.createdAt,
  updatedAt: products.updatedAt,
};

export function findProduct(db: Db, id: string) {
  return db
    .select(columns)
    .from(products)
    .leftJoin(stock, eq(stock.productId, products.id))
    .where(and(eq(products.id, id), isNull(products.deletedAt)))
    .then((r) => r[0]);
}

export function catalogRoutes(d: Deps) {
  const app = new Hono<Env>();

  app.get("/v1/products", async (c) => {
    const q = pageQuery(c);
    const rows = await d.db
      .select(columns)
      .from(products)
      .leftJoin(stock, eq(stock.productId, products.id))
      .where(and(isNull(products.deletedAt), q.cursor ? lt(products.id, q.cursor) : undefined))
      .orderBy(desc(products.id))
      .limit(q.limit + 1);
    return c.json(page(rows, q.limit));
  });

  app.get("/v1/products/:id", async (c) => {
    const p = await findProduct(d.db, idParam(c));
    if (!p) throw new AppError("NOT_FOUND", "no such product");
    return c.json(p);
  });

  app.post("/v1/products", requireRole("seller", "admin"), async (c) => {
    const input = await body(c, create);
    const id = uuidv7();
    await d.db.transaction(async (tx) => {
      await tx.insert(products).values({ id, sellerId: caller(c).sub, name: input.name, description: input.description, price: input.price });
      await tx.insert(stock).values({ productId: id, available: input.stock });
    });
    return c.json(await findProduct(d.db, id), 201);
  });

  /** The product if the caller may change it; 404 when it does not exist, 403 when it is someone else's. */
  async function owned(c: Parameters<typeof caller>[0] & { req: { param(k: string): string | undefined } }, id: string) {
    const p = await findProduct(d.db, id);
    if (!p) throw new AppError("NOT_FOUND", "no such product");
    const user = caller(c);
    if (user.role !== "admin" && p.sellerId !== user.sub) throw new AppError("FORBIDDEN", "not your product");
    return p;
  }

  app.patch("/v1/products/:id", requireRole("seller", "admin"), async (c) => {
    const id = idParam(c);
    const input = await body(c, update);
    await owned(c, id);
    await d.db.transaction(async (tx) => {
      const { stock: available, ...fields } = input;
      if (Object.keys(fields).length) await tx.update(products).set({ ...fields, updatedAt: sql`now()` }).where(eq(products.id, id));
      if (available !== undefined) await tx.update(stock).set({ available, updatedAt: sql`now()` }).where(eq(stock.productId, id));
    });
    return c.json(await findProduct(d.db, id));
  });

  app.delete("/v1/products/:id", requireRole("seller", "admin"), async (c) => {
    const id = idParam(c);
    await owned(c, id);
    await d.db.update(products).set({ deletedAt: sql`now()` }).where(eq(products.id, id));
    return c.body(null, 204);
  });

  return app;
}
