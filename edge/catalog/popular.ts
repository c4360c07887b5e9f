// GET /v1/products/popular: the ranking the popularity actor keeps in Redis (domain/popularity.ts), rebuilt
// from Postgres when Redis lost it, and computed from Postgres alone while Redis does not answer.
import { and, inArray, isNull } from "drizzle-orm";
import { Hono } from "hono";
import { z } from "zod";
import { products } from "../../db";
import { topFromPostgres, topProducts } from "../../domain/popularity";
import type { Deps, Env } from "../deps";
import { openapi } from "../openapi";
import { DEFAULT_PAGE, MAX_PAGE } from "../pagination";
import * as s from "./schemas";
import { productFields } from "./search";

const popularQuery = z.object({ limit: z.coerce.number().int().min(1).max(MAX_PAGE).default(DEFAULT_PAGE) });
/** Ranked products deleted since their last score are skipped: read a few more than asked. */
const SPARE = 10;

export function popularRoutes(
  d: Deps,
  withCounts: <T extends { id: string }>(items: T[]) => Promise<(T & { stock: number; likes: number })[]>,
) {
  const app = new Hono<Env>();

  app.get(
    "/v1/products/popular",
    openapi({
      summary: "Products ranked by likes and confirmed units sold in the last 7 days, highest first",
      query: popularQuery,
      responses: { 200: s.popularPage },
    }),
    async (c) => {
      const { limit } = c.req.valid("query");
      const ranked = await topProducts(d.db, d.redis, limit + SPARE).catch((err) => {
        c.get("log").warn("popularity from postgres: redis unavailable", { err });
        return topFromPostgres(d.db, limit + SPARE);
      });
      if (!ranked.length) return c.json({ items: [] });
      const rows = await d.db
        .select(productFields)
        .from(products)
        .where(
          and(
            inArray(
              products.id,
              ranked.map((r) => r.productId),
            ),
            isNull(products.deletedAt),
          ),
        );
      const byId = new Map(rows.map((r) => [r.id, r]));
      const items = ranked
        .flatMap((r) => (byId.has(r.productId) ? [{ ...byId.get(r.productId)!, score: r.score }] : []))
        .slice(0, limit);
      return c.json({ items: await withCounts(items) });
    },
  );

  return app;
}
