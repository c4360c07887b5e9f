// Likes: a shopper likes a product once (PUT and DELETE are idempotent), the product's `likes` counter moves
// in the same transaction as the like row, and each change of state goes out as an event (outbox) for the
// popularity ranking.
import { and, desc, eq, isNull, lt, sql } from "drizzle-orm";
import { type Context, Hono } from "hono";
import { likes, products, stock } from "../../db";
import { type OutboxRow, publishRows, uuidv7, writeOutbox } from "../../nats";
import type { Deps, Env } from "../deps";
import { AppError } from "../errors";
import { caller, requireRole } from "../middleware/auth";
import { openapi } from "../openapi";
import { pageQuerySchema } from "../pagination";
import { idParam } from "../validate";
import * as s from "./schemas";
import { liveFields } from "./search";

export function likeRoutes(d: Deps) {
  const app = new Hono<Env>();

  /** Sets the caller's like of the product; the answer is the state after it, whether or not it changed. */
  async function setLike(c: Context<Env>, liked: boolean) {
    const userId = caller(c).sub;
    const productId = idParam(c);
    let rows: OutboxRow[] = [];
    const answer = await d.db.transaction(async (tx) => {
      // the row lock orders concurrent likes of one product, and a deleted product takes none
      const [p] = await tx
        .select({ likes: products.likes })
        .from(products)
        .where(and(eq(products.id, productId), isNull(products.deletedAt)))
        .for("update");
      if (!p) throw new AppError("NOT_FOUND", "no such product");
      const changed = liked
        ? await tx
            .insert(likes)
            .values({ id: uuidv7(), userId, productId })
            .onConflictDoNothing()
            .returning({ id: likes.id })
        : await tx
            .delete(likes)
            .where(and(eq(likes.userId, userId), eq(likes.productId, productId)))
            .returning({ id: likes.id });
      if (!changed.length) return { liked, likes: p.likes };
      const [moved] = await tx
        .update(products)
        .set({ likes: sql`${products.likes} + ${liked ? 1 : -1}` })
        .where(eq(products.id, productId))
        .returning({ likes: products.likes });
      c.get("commit")();
      rows = await writeOutbox(tx, [
        {
          msg: { type: liked ? "catalog.evt.liked" : "catalog.evt.unliked", data: { productId, userId } },
          traceparent: c.get("traceparent"),
        },
      ]);
      return { liked, likes: moved!.likes };
    });
    // the relay publishes what this misses
    await publishRows(d.db, d.bus.js, rows).catch((err) => c.get("log").warn("outbox publish deferred", { err }));
    return c.json(answer);
  }

  const described = (summary: string) =>
    openapi({
      summary,
      description: "Idempotent: liking twice counts once, and so does taking a like back.",
      responses: { 200: s.likeState },
      errors: ["NOT_FOUND"],
    });
  app.put("/v1/products/:id/like", requireRole("shopper"), described("Like a product"), (c) => setLike(c, true));
  app.delete("/v1/products/:id/like", requireRole("shopper"), described("Take back a like"), (c) => setLike(c, false));

  app.get(
    "/v1/me/likes",
    requireRole("shopper"),
    openapi({
      summary: "The products the caller likes, newest like first",
      description: "Cursor pagination: pass `nextCursor` as `cursor` (`limit` 1 to 100, default 20).",
      tags: ["products"],
      query: pageQuerySchema,
      responses: { 200: s.likedPage },
    }),
    async (c) => {
      const { cursor, limit } = c.req.valid("query");
      const rows = await d.db
        .select({ ...liveFields, likeId: likes.id, likedAt: likes.createdAt })
        .from(likes)
        .innerJoin(products, and(eq(products.id, likes.productId), isNull(products.deletedAt)))
        .leftJoin(stock, eq(stock.productId, products.id))
        .where(and(eq(likes.userId, caller(c).sub), cursor ? lt(likes.id, cursor) : undefined))
        .orderBy(desc(likes.id))
        .limit(limit + 1);
      const shown = rows.slice(0, limit);
      // the cursor is the like's id: the order is the likes', not the products'
      return c.json({
        items: shown.map(({ likeId: _, ...p }) => p),
        nextCursor: rows.length > limit ? shown.at(-1)!.likeId : null,
      });
    },
  );

  return app;
}
